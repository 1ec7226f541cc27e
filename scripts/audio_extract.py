from klipstream.smk import job

with job(snakemake, status="Downloading"):
    from klipstream.media import extract_audio

    extract_audio(snakemake.input.video, snakemake.output.wav)
