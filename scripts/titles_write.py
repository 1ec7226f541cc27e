from klipstream.smk import job

with job(snakemake):
    from klipstream.outputs.titles import write_titles

    write_titles(snakemake.input.integrated, snakemake.output.json, snakemake.params.settings, snakemake.params.llm)
