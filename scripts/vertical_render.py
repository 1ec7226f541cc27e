from klipstream.smk import job

with job(snakemake):
    from klipstream.exports.vertical import render_vertical

    render_vertical(snakemake.input.clips, snakemake.output.vertical, captions_dir=snakemake.input.get("captions"),
                    settings=snakemake.params.settings, vod=snakemake.wildcards.vod)
