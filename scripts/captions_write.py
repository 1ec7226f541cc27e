from klipstream.smk import job

with job(snakemake):
    from klipstream.outputs.captions import write_captions

    write_captions(
        snakemake.input.words_csv,
        snakemake.output.srt,
        snakemake.output.vtt,
        clips_dir=snakemake.input.get("clips_dir"),
        clip_captions_dir=snakemake.output.clip_captions,
        settings=snakemake.params.settings,
        vod=snakemake.wildcards.vod,
    )
