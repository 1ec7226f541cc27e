from klipstream.smk import job

with job(snakemake):
    from klipstream.outputs.timeline import export_timelines

    out = snakemake.output
    export_timelines(
        snakemake.input.integrated_json,
        out.moments_otio.removesuffix(".otio"),
        out.selects_otio.removesuffix(".otio"),
        video=snakemake.input.get("video"),
        clips_dir=snakemake.input.get("clips_dir"),
        top_k=snakemake.params.top_k,
        settings=snakemake.params.settings,
        titles_json=snakemake.input.get("titles_json"),
    )
