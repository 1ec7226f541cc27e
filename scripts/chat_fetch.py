from klipstream.smk import job

with job(snakemake, status="Fetching chat"):
    from klipstream.sources import fetch_chat

    fetch_chat(
        snakemake.wildcards.vod,
        list(snakemake.input),
        snakemake.output.json,
        url=snakemake.params.url,
        title=snakemake.params.title,
        chat=snakemake.params.chat,
        twitch=snakemake.params.twitch,
    )
