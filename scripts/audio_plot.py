from klipstream.plots import plot_audio_features
from klipstream.smk import job

with job(snakemake, status="Analyzing"):
    plot_audio_features(snakemake.input.features, snakemake.output.png)
