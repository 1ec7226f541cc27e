from klipstream.smk import job
from klipstream.transcribe.tables import write_segments

with job(snakemake, status="Transcribing"):
    write_segments(snakemake.input.json, snakemake.output.segments, **snakemake.params)
