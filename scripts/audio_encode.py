from klipstream.smk import job

with job(snakemake, status="Transcribing"):
    from klipstream.transcribe.upload import encode_for_upload

    encode_for_upload(snakemake.input.wav, snakemake.output.audio, **snakemake.params.settings)
