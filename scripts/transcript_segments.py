from klipstream.smk import job

with job(snakemake, status="Transcribing"):
    from klipstream.transcribe.tables import write_segments

    write_segments(snakemake.input.json, snakemake.output.segments, **snakemake.params.settings)
