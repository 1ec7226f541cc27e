from klipstream.smk import job

with job(snakemake, status="Analyzing"):
    from klipstream.outputs.plots import plot_audio_features

    plot_audio_features(snakemake.input.features, snakemake.output.png)
