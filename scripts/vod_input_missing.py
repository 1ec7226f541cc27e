from klipstream.errors import KlipError
from klipstream.smk import job

with job(snakemake):
    raise KlipError(snakemake.params.reason)
