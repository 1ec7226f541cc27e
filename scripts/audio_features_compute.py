from klipstream.smk import job

with job(snakemake, status="Analyzing"):
    from klipstream.signals.audio_features import compute_audio_features

    compute_audio_features(
        snakemake.input.wav,
        snakemake.output.csv,
        words_csv=snakemake.input.words,
        threads=snakemake.threads,
        **snakemake.params.settings,
    )
