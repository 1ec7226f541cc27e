from klipstream.smk import job

with job(snakemake, status="Downloading"):
    if "video" in snakemake.input.keys():
        from klipstream.media import extract_audio

        extract_audio(snakemake.input.video, snakemake.output.wav)
    else:
        from klipstream.video import download_audio_only

        download_audio_only(snakemake.params.url, snakemake.output.wav, retries=snakemake.params.retries)
