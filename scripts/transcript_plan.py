from klipstream.smk import job

with job(snakemake, status="Transcribing"):
    from klipstream.transcribe.scatter import write_plan

    write_plan(snakemake.input.wav, snakemake.output.plan, threads=snakemake.threads, **snakemake.params.settings)
