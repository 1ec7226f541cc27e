from klipstream.smk import job

with job(snakemake, status="Transcribing"):
    from klipstream.transcribe import transcribe

    transcribe(snakemake.input.wav, snakemake.output.json, threads=snakemake.threads, **snakemake.params.settings)
