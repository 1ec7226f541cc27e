from klipstream.smk import job

with job(snakemake, status="Analyzing"):
    from klipstream.signals.waveform import render_waveform

    render_waveform(snakemake.input.wav, snakemake.output.json, snakemake.output.png, **snakemake.params.settings)
