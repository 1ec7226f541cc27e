# klipstream: Twitch VOD -> transcript, chat and audio signals, emotions, ranked highlights, report, clips.
# Read README.md for the targets and settings; rules live in rules/*.smk, logic in the klipstream package.

from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


include: "rules/common.smk"


wildcard_constraints:
    vod=VOD_ID_PATTERN,
    part="[0-9]+",


include: "rules/raw.smk"
include: "rules/analysis.smk"
include: "rules/report.smk"
include: "rules/exports.smk"
include: "rules/publish.smk"


rule all:
    default_target: True
    input:
        get_all_targets(),


onstart:
    mark_queued()
    keep_outputs()


onsuccess:
    discard_kept()
    mark_finished()


onerror:
    restore_outputs()
