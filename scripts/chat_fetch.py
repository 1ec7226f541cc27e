from klipstream.smk import job

with job(snakemake, status="Fetching chat"):
    if snakemake.input:
        from klipstream.chat.importers import import_chat

        import_chat(snakemake.input[0], snakemake.output.json, vod_id=snakemake.wildcards.vod, title=snakemake.params.title)
    else:
        from klipstream.chat.twitch_gql import download_chat

        download_chat(snakemake.params.url, snakemake.output.json, workers=snakemake.params.workers,
                      backend=snakemake.params.backend, paging=snakemake.params.paging)
