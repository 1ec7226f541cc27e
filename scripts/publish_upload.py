from klipstream.smk import job

with job(snakemake):
    from klipstream.publish import publish_vod

    publish_vod(
        snakemake.wildcards.vod,
        dict(snakemake.input.items()),
        snakemake.output.manifest,
        status_dir=snakemake.config["status_dir"],
        config=snakemake.config,
        **snakemake.params.settings,
    )
