from klipstream.smk import job
from klipstream.transcribe.tables import write_word_tables

with job(snakemake, status="Transcribing"):
    write_word_tables(snakemake.input.json, snakemake.output.words, snakemake.output.paragraphs)
