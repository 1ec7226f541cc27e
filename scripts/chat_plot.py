from klipstream.smk import job

with job(snakemake, status="Analyzing"):
    from klipstream.outputs.plots import plot_chat_timeline

    plot_chat_timeline(snakemake.input.timeline, snakemake.output.png)
