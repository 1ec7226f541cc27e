from klipstream.smk import job

with job(snakemake, status="Analyzing"):
    from klipstream.emotions.chat import score_chat

    score_chat(snakemake.input.chat, snakemake.output.csv)
