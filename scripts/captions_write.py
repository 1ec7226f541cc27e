from klipstream.smk import job

with job(snakemake):
    from klipstream.exports.captions import write_captions

    write_captions(snakemake.input.words_csv, snakemake.output.srt, snakemake.output.vtt,
                   transcript_json=snakemake.input.transcript_json, clips_dir=snakemake.input.get("clips"),
                   clip_captions_dir=snakemake.output.clip_captions, settings=snakemake.params.settings,
                   vod=snakemake.wildcards.vod)
