from klipstream.smk import job

with job(snakemake, status="Finding highlights"):
    from klipstream.highlights import audio_highlights

    audio_highlights(
        snakemake.input.features,
        snakemake.input.sentiment,
        snakemake.input.words,
        snakemake.output.csv,
        **snakemake.params.settings,
    )
