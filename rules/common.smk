import inspect
import sys
from functools import lru_cache
from pathlib import Path

# The workflow's own package, importable even when it is not pip-installed.
sys.path.insert(0, workflow.basedir)

from klipstream import status as status_store
from klipstream import vods as vod_table
from klipstream.artifacts import (
    ARTIFACTS,
    INTEGRATION_INPUTS,
    available,
    target,
    upload_key,
)
from klipstream.config import complete_workflow_config, validate_workflow_config
from klipstream.settings import apply_environment
from klipstream.transcribe import workflow_backend

# The deployment overrides of the environment (USE_GCS, ...) replace config.yaml's values, but not --config's
# (precedence: --config > environment > config.yaml > schema default; docs/reference.md "Settings").
# Unknown keys (at any depth, with the nearest valid one) and schema errors stop the run with one line naming the key;
# then every default of the schema (config/schema.yaml) is filled in. (Not snakemake.utils.validate: it would check
# the same schema a second time and import pandas, a third of a second at every start.)
apply_environment(config, given=workflow.config_settings.config)
validate_workflow_config(config)
complete_workflow_config(config)


WORKFLOW_DIR = Path(workflow.basedir)
VOD_ID_PATTERN = "[A-Za-z0-9_-]+"
VOD_COLUMNS = vod_table.COLUMNS


DEFAULT_VOD_TABLE = "config/vods.tsv"


def input_function(func):
    """Mark `func` as an input/params function whose signature Snakemake need not inspect again: it calls
    inspect.signature at every use (about 15,000 times, a tenth of the job-graph time, for 100 VODs) unless the
    function carries it, as Snakemake's own io helpers do (snakemake.common.overwrite_function_params).
    """
    func._overwrite_params = inspect.signature(func).parameters
    return func


def load_vod_table(path):
    """vod_id -> row of the VOD table, each row checked against config/vods.schema.yaml."""
    if not Path(path).is_file() and path != DEFAULT_VOD_TABLE:
        raise ValueError(f"VOD table not found: {path} (set the config key `vods`)")
    # A workdir of its own without a table: only Twitch VODs (numeric ids) can be asked for.
    return vod_table.load(path, WORKFLOW_DIR / "config" / "vods.schema.yaml")


VOD_ROWS = load_vod_table(config["vods"])
# Local input files are checked once, where the workflow starts (jobs on cloud workers see them only through the
# storage plugin, not on their own disk). A VOD whose file is missing fails alone: its fetch job takes its input
# from vod_input_missing, which fails naming the file, and the other VODs build.
MISSING_INPUTS = (
    vod_table.missing_files(VOD_ROWS, config["vods"])
    if workflow.is_main_process
    and not workflow.storage_settings.default_storage_provider
    else {}
)


def vod_row(vod):
    """The VOD table row of `vod`; a numeric id not in the table is a Twitch VOD to download."""
    if vod in VOD_ROWS:
        return VOD_ROWS[vod]
    if vod.isdigit():
        return {
            "vod_id": vod,
            "url": f"https://www.twitch.tv/videos/{vod}",
            "video": "",
            "chat": "",
            "title": "",
        }
    raise ValueError(
        f"VOD {vod} has no source: add a row to {config['vods']} "
        "(vod_id, url, video, chat, title) or ask for a numeric Twitch VOD id"
    )


def has_video(vod):
    """The VOD has a picture and sound: a local video, or a Twitch URL."""
    row = vod_row(vod)
    return bool(row["video"] or row["url"])


def fetches_video(vod):
    """Whether the default targets need the video: a local one always, a Twitch one unless download.video is false
    (then its audio comes from Twitch's audio-only rendition and the video is fetched only if a clip asks for it).
    """
    row = vod_row(vod)
    return bool(row["video"] or (row["url"] and config["download"]["video"]))


def has_chat(vod):
    row = vod_row(vod)
    return bool(row["chat"] or row["url"])


def local_source(vod, side):
    """The VOD's local `side` (video, chat) file; a missing one is the placeholder vod_input_missing fails on."""
    row = vod_row(vod)
    if (vod, side) in MISSING_INPUTS:
        return [f"output/raw/missing/{vod}.{side}"]
    return [row[side]] if row[side] else []


@input_function
def get_video_source(wildcards):
    """The local video file to import, or nothing (the script downloads from the VOD's URL)."""
    row = vod_row(wildcards.vod)
    if not (row["video"] or row["url"]):
        raise ValueError(
            f"VOD {wildcards.vod} has no video: give `video` or `url` in {config['vods']}"
        )
    return local_source(wildcards.vod, "video")


@input_function
def get_chat_source(wildcards):
    row = vod_row(wildcards.vod)
    if not (row["chat"] or row["url"]):
        raise ValueError(
            f"VOD {wildcards.vod} has no chat: give `chat` or `url` in {config['vods']}"
        )
    return local_source(wildcards.vod, "chat")


@input_function
def get_missing_reason(wildcards):
    return MISSING_INPUTS.get((wildcards.vod, wildcards.side), "")


@input_function
def get_audio_source(wildcards):
    """The video to extract the audio from, or nothing on the audio-only fast path."""
    if fetches_video(wildcards.vod):
        return {"video": target("video", wildcards.vod)}
    return {}


def from_twitch(vod, side):
    """The VOD's `side` (video or chat) is downloaded from Twitch: it has a URL and no local file for it."""
    row = vod_row(vod)
    return bool(row["url"] and not row[side])


# A fetch job gets a settings section only when the section matters to it (a local file's import does not depend on
# them, and changing a download setting must not rebuild and re-transcribe a VOD made from local files).
@input_function
def get_download_settings(wildcards):
    return config["download"] if from_twitch(wildcards.vod, "video") else {}


@input_function
def get_chat_settings(wildcards):
    return config["chat"] if from_twitch(wildcards.vod, "chat") else {}


@input_function
def get_twitch_settings(wildcards):
    vod = wildcards.vod
    return (
        config["twitch"]
        if from_twitch(vod, "video") or from_twitch(vod, "chat")
        else {}
    )


@input_function
def get_vod_url(wildcards):
    return vod_row(wildcards.vod)["url"]


@input_function
def get_vod_title(wildcards):
    return vod_row(wildcards.vod)["title"]


def sides_of(vod):
    """What the VOD's inputs allow: audio (a local video or a Twitch URL) and/or chat (a local log or a URL)."""
    return {
        side for side, has in (("audio", has_video), ("chat", has_chat)) if has(vod)
    }


@lru_cache(maxsize=None)
def artifacts_of(vod):
    """Every file the VOD's inputs allow, by artifact key: chat-only VODs have no audio side and vice versa;
    the editor exports that `exports.*` turns on."""
    switches = {part for part, on in config["exports"].items() if on}
    return {
        key: artifact.format(vod)
        for key, artifact in available(
            sides_of(vod), fetches_video(vod), switches
        ).items()
    }


# Transcription: the backend is decided once, where the workflow starts (deepgram when asked for, or under auto when
# DEEPGRAM_API_KEY is set); each kind of job gets only the settings it uses, so changing a Deepgram setting does not
# redo an offline transcript and vice versa.
TRANSCRIBER = workflow_backend(config["transcription"])
UPLOAD_KEY = upload_key(config["transcription"]["upload"]["format"])
TRANSCRIPTION_SETTINGS = (
    {
        key: value
        for key, value in config["transcription"].items()
        if key not in ("upload", "offline")
    }
    if TRANSCRIBER == "deepgram"
    else {}
)


@input_function
def get_transcription_inputs(wildcards):
    """Deepgram: the encoded upload file. Offline: the plan and each part it has (known once the checkpoint ran)."""
    vod = wildcards.vod
    if TRANSCRIBER == "deepgram":
        return {"audio": target(UPLOAD_KEY, vod)}
    from klipstream.transcribe.scatter import part_count

    plan = checkpoints.transcript_plan.get(vod=vod).output.plan
    parts = [target("transcript_part", vod, part=i) for i in range(part_count(plan))]
    return {"plan": plan, "parts": parts}


@input_function
def get_integration_inputs(wildcards):
    files = artifacts_of(wildcards.vod)
    return {key: files[key] for key in INTEGRATION_INPUTS if key in files}


@input_function
def get_report_inputs(wildcards):
    """The integrated analysis (it carries the timeline the report draws), the waveform, and what the cards play:
    the clips and the full video, when the VOD has a video."""
    files = artifacts_of(wildcards.vod)
    keys = ["integrated_json", "titles_json", "waveform_json", "clips_dir", "video"]
    return {key: files[key] for key in keys if key in files}


@input_function
def get_clips_inputs(wildcards):
    """Beside the video and the integrated analysis: the moments' titles and (to cut on sentence ends) the words."""
    files = artifacts_of(wildcards.vod)
    keys = ["titles_json", "words_csv"]
    return {key: files[key] for key in keys if key in files}


# titles (rules/exports.smk): speech_sentiment's LLM endpoint, only when the titles may use it
TITLES_LLM = (
    {
        key: config["speech_sentiment"][key]
        for key in (
            "base_url",
            "model",
            "concurrency",
            "timeout",
            "max_retries",
            "cache_dir",
        )
    }
    if config["titles"]["backend"] != "offline"
    else {}
)


@input_function
def get_publish_inputs(wildcards):
    """Every published artifact of the VOD (those with a bucket), by key."""
    return {
        key: path
        for key, path in artifacts_of(wildcards.vod).items()
        if ARTIFACTS[key].bucket
    }


def get_all_targets():
    return [target("manifest", vod) for vod in VOD_ROWS]


RUN_STAGES = {}  # VOD -> the furthest stage this run builds for it (raw, analysis)
RAW_DIR = "output/raw/"  # jobs that write only here are the raw stage; any other output is analysis or beyond


def mark_queued():
    """Mark every VOD this run has jobs for as Queued (its jobs then report each later status themselves)."""
    for job in workflow.dag.needrun_jobs():
        vod = job.wildcards.get("vod")
        if vod is not None and RUN_STAGES.get(vod) != "analysis":
            raw = all(str(path).startswith(RAW_DIR) for path in job.output)
            RUN_STAGES[vod] = "raw" if raw else "analysis"
    for vod in sorted(RUN_STAGES):
        status_store.report(
            vod,
            "Queued",
            step="workflow",
            status_dir=config["status_dir"],
            convex=config,
        )


KEPT = []  # this run's copies of the outputs its jobs replace (klipstream.keep)


def keep_outputs():
    """Before any job starts: put back what a killed run kept, then keep the outputs this run's jobs replace, so
    that a failed job leaves the previous good output in place (local files only: a storage plugin's outputs live
    in the bucket)."""
    if workflow.storage_settings.default_storage_provider:
        return
    from klipstream import keep

    keep.recover_stale()
    paths = [
        str(path)
        for job in workflow.dag.needrun_jobs()
        for path in job.output
        if not path.is_temp
    ]
    KEPT.append(keep.keep(paths))


def restore_outputs():
    """After a failed run: the outputs of the jobs that did not finish are the previous ones again."""
    from klipstream import keep

    for folder in KEPT:
        keep.restore(folder)


def discard_kept():
    from klipstream import keep

    for folder in KEPT:
        keep.discard(folder)


def mark_finished():
    """After a successful run: a VOD it stopped short of publishing (e.g. only the integrated analysis was asked
    for) is Completed, with the stage it reached; publishing reports its own Completed.
    """
    status_store.finish_run(RUN_STAGES, status_dir=config["status_dir"], convex=config)


# ---- Editor exports (rules/exports.smk) and the report's media. Appended as one block, apart from the functions
# above: the exports are made from the integrated analysis, the clips and the transcript only.
@input_function
def get_timeline_inputs(wildcards):
    """The integrated analysis; with a video, the video (frame rate, length) and the clips (the selects)."""
    keys = ["integrated_json", "titles_json", "video", "clips_dir"]
    files = artifacts_of(wildcards.vod)
    return {key: files[key] for key in keys if key in files}


@input_function
def get_captions_inputs(wildcards):
    """The transcript's words (with their speaker labels); with a video, the clips to caption one by one."""
    files = artifacts_of(wildcards.vod)
    if "words_csv" not in files:
        raise ValueError(
            f"VOD {wildcards.vod} has no transcript to caption (it has no video)"
        )
    keys = ["words_csv", "clips_dir"]
    return {key: files[key] for key in keys if key in files}


@input_function
def get_vertical_inputs(wildcards):
    files = artifacts_of(wildcards.vod)
    if "clips_dir" not in files:
        raise ValueError(
            f"VOD {wildcards.vod} has no video to make vertical clips from"
        )
    inputs = {"clips_dir": files["clips_dir"]}
    if "clip_captions_dir" in files and config["vertical"]["burn_captions"]:
        inputs["clip_captions_dir"] = files["clip_captions_dir"]
    return inputs
