from klipstream.plots import plot_chat_timeline
from klipstream.smk import job

with job(snakemake, status="Analyzing"):
    plot_chat_timeline(snakemake.input.timeline, snakemake.output.png)
