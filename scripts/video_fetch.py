from klipstream.smk import job

with job(snakemake, status="Downloading"):
    from klipstream import video

    if snakemake.input:
        video.import_local_video(snakemake.input[0], snakemake.output.video, snakemake.output.metadata,
                                 vod_id=snakemake.wildcards.vod, title=snakemake.params.title)
    else:
        video.download_twitch_video(snakemake.params.url, snakemake.output.video, snakemake.output.metadata,
                                    quality=snakemake.params.quality, backend=snakemake.params.backend,
                                    retries=snakemake.params.retries, cookies=snakemake.params.cookies or None,
                                    concurrent_fragments=snakemake.params.concurrent_fragments)
