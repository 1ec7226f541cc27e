from klipstream.media import extract_audio
from klipstream.smk import job

with job(snakemake, status="Downloading"):
    extract_audio(snakemake.input.video, snakemake.output.wav)
