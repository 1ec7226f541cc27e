from klipstream.smk import job

with job(snakemake, status="Transcribing"):
    from klipstream.transcribe.tables import write_word_tables

    write_word_tables(snakemake.input.json, snakemake.output.words, snakemake.output.paragraphs)
