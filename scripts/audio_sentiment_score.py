from klipstream.smk import job

with job(snakemake, status="Analyzing"):
    from klipstream.emotions.speech import score_windows

    score_windows(
        snakemake.input.segments,
        snakemake.input.features,
        snakemake.output.csv,
        words_csv=snakemake.input.words,
        transcript_json=snakemake.input.transcript,
        **snakemake.params.settings,
    )
