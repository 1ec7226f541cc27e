from klipstream.smk import job

with job(snakemake, status="Transcribing"):
    from klipstream.transcribe import transcribe_job

    transcribe_job(
        snakemake.output.json,
        audio=snakemake.input.get("audio"),
        plan=snakemake.input.get("plan"),
        parts=snakemake.input.get("parts"),
        settings=snakemake.params.settings,
    )
