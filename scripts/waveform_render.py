from klipstream.smk import job
from klipstream.waveform import render_waveform

with job(snakemake, status="Analyzing"):
    render_waveform(snakemake.input.wav, snakemake.output.json, snakemake.output.png, **snakemake.params)
