from klipstream.smk import job

with job(snakemake):
    from klipstream.outputs.chapters import write_moments_csv

    write_moments_csv(snakemake.input.integrated, snakemake.output.csv)
