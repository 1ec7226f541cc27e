from klipstream.smk import job

with job(snakemake, status="Finding highlights"):
    from klipstream.highlights import integrate

    integrate(
        snakemake.wildcards.vod,
        snakemake.output.json,
        title=snakemake.params.title,
        twitch_url=snakemake.params.url or None,
        params=snakemake.params.settings,
        **dict(snakemake.input.items()),
    )
