from klipstream.report import render_report
from klipstream.smk import job

with job(snakemake, status="Finding highlights"):
    render_report(snakemake.input.integrated, snakemake.output.html,
                  **{k: v for k, v in snakemake.input.items() if k != "integrated"})
