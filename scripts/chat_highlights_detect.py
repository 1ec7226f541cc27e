from klipstream.smk import job

with job(snakemake, status="Finding highlights"):
    from klipstream.highlights import chat_highlights

    chat_highlights(
        snakemake.input.timeline, snakemake.input.sentiment, snakemake.output.csv, **snakemake.params.settings
    )
