from klipstream.smk import job

with job(snakemake, status="Finding highlights"):
    from klipstream.outputs.report import render_report

    render_report(
        snakemake.input.integrated_json,
        snakemake.output.html,
        waveform_json=snakemake.input.get("waveform_json"),
        clips_dir=snakemake.input.get("clips_dir"),
        video=snakemake.input.get("video"),
        titles_json=snakemake.input.get("titles_json"),
    )
