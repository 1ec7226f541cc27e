from klipstream.smk import job

with job(snakemake, status="Downloading"):
    from klipstream.sources import fetch_audio

    fetch_audio(
        snakemake.wildcards.vod,
        snakemake.input.get("video"),
        snakemake.output.wav,
        url=snakemake.params.url,
        download=snakemake.params.download,
        twitch=snakemake.params.twitch,
    )
