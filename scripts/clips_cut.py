from klipstream.smk import job

with job(snakemake, status="Finding highlights"):
    from klipstream.outputs.clips import cut_clips

    cut_clips(
        snakemake.input.video,
        snakemake.input.integrated,
        snakemake.output.clips,
        words_csv=snakemake.input.get("words_csv"),
        titles_json=snakemake.input.get("titles_json"),
        **snakemake.params.settings,
    )
