from klipstream.smk import job

with job(snakemake):
    from klipstream.outputs.chapters import write_chapters

    write_chapters(
        snakemake.input.integrated,
        snakemake.output.txt,
        snakemake.params.settings,
        titles_json=snakemake.input.titles,
    )
