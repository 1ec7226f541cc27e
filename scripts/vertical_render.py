from klipstream.smk import job

with job(snakemake):
    from klipstream.outputs.vertical import render_vertical

    render_vertical(
        snakemake.input.clips_dir,
        snakemake.output.vertical,
        captions_dir=snakemake.input.get("clip_captions_dir"),
        settings=snakemake.params.settings,
        vod=snakemake.wildcards.vod,
    )
