from klipstream.smk import job

with job(snakemake, status="Transcribing"):
    from klipstream.transcribe.scatter import decode_part

    decode_part(
        snakemake.input.wav,
        snakemake.input.plan,
        snakemake.wildcards.part,
        snakemake.output.part,
        threads=snakemake.threads,
    )
