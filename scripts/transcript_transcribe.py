from klipstream.smk import job
from klipstream.transcribe import transcribe

with job(snakemake, status="Transcribing"):
    transcribe(snakemake.input.wav, snakemake.output.json, threads=snakemake.threads, **snakemake.params)
