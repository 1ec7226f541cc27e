from klipstream.smk import job

with job(snakemake, status="Analyzing"):
    from klipstream.signals.chat_timeline import build_chat_timeline

    build_chat_timeline(snakemake.input.sentiment, snakemake.output.csv, **snakemake.params.settings)
