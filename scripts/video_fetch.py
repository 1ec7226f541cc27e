from klipstream.smk import job

with job(snakemake, status="Downloading"):
    from klipstream.sources import fetch_video

    fetch_video(
        snakemake.wildcards.vod,
        list(snakemake.input),
        snakemake.output.video,
        snakemake.output.metadata,
        url=snakemake.params.url,
        title=snakemake.params.title,
        download=snakemake.params.download,
        twitch=snakemake.params.twitch,
    )
