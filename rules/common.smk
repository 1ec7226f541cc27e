import sys
from pathlib import Path

import pandas as pd

# The workflow's own package, importable even when it is not pip-installed.
sys.path.insert(0, workflow.basedir)

from klipstream import status as status_store


def coerce_cli_scalars(node):
    """Nested `--config key='{a: 1}'` values arrive as strings (Snakemake parses them with YAML's
    BaseLoader); turn numbers and booleans back into their types so the schema can check them.
    """
    if isinstance(node, dict):
        return {key: coerce_cli_scalars(value) for key, value in node.items()}
    if isinstance(node, str):
        if node.lower() in ("true", "false"):
            return node.lower() == "true"
        for cast in (int, float):
            try:
                return cast(node)
            except ValueError:
                pass
    return node


for _key, _value in list(config.items()):
    if isinstance(_value, dict):
        config[_key] = coerce_cli_scalars(_value)
validate(config, schema="../config/schema.yaml", set_default=True)

WORKFLOW_DIR = Path(workflow.basedir)

VOD_ID_PATTERN = "[A-Za-z0-9_-]+"
VOD_COLUMNS = ["vod_id", "url", "video", "chat", "title"]


DEFAULT_VOD_TABLE = "config/vods.tsv"


def load_vod_table(path, check_files=True):
    if not Path(path).is_file():
        if path != DEFAULT_VOD_TABLE:
            raise ValueError(f"VOD table not found: {path} (set the config key `vods`)")
        # A workdir of its own without a table: only Twitch VODs (numeric ids) can be asked for.
        return pd.DataFrame(columns=VOD_COLUMNS, dtype=str).set_index(
            "vod_id", drop=False
        )
    table = pd.read_csv(path, sep="\t", dtype=str, comment="#").fillna("")
    missing = [c for c in VOD_COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(f"VOD table {path} lacks column(s) {', '.join(missing)}")
    validate(table, schema="../config/vods.schema.yaml")
    duplicated = table.loc[table.vod_id.duplicated(), "vod_id"].tolist()
    if duplicated:
        raise ValueError(
            f"VOD table {path} lists vod_id {duplicated[0]} more than once"
        )
    for column in ("video", "chat") if check_files else ():
        for vod_id, file in table.loc[
            table[column] != "", ["vod_id", column]
        ].itertuples(index=False):
            if not Path(file).is_file():
                raise ValueError(
                    f"VOD {vod_id}: {column} file not found: {file} (see {path})"
                )
    return table.set_index("vod_id", drop=False)


# Local input files are checked once, where the workflow starts: jobs on cloud workers see them
# only through the storage plugin, not on their own disk.
VODS = load_vod_table(
    config["vods"],
    check_files=workflow.is_main_process
    and not workflow.storage_settings.default_storage_provider,
)
VOD_ROWS = VODS.to_dict(orient="index")


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


def get_video_source(wildcards):
    """The local video file to import, or nothing (the script downloads from the VOD's URL)."""
    row = vod_row(wildcards.vod)
    if not (row["video"] or row["url"]):
        raise ValueError(
            f"VOD {wildcards.vod} has no video: give `video` or `url` in {config['vods']}"
        )
    return [row["video"]] if row["video"] else []


def get_chat_source(wildcards):
    row = vod_row(wildcards.vod)
    if not (row["chat"] or row["url"]):
        raise ValueError(
            f"VOD {wildcards.vod} has no chat: give `chat` or `url` in {config['vods']}"
        )
    return [row["chat"]] if row["chat"] else []


def get_audio_source(wildcards):
    """The video to extract the audio from, or nothing on the audio-only fast path."""
    if fetches_video(wildcards.vod):
        return {"video": RAW["video"].format(vod=wildcards.vod)}
    return {}


def from_twitch(vod, side):
    """The VOD's `side` (video or chat) is downloaded from Twitch: it has a URL and no local file for it."""
    row = vod_row(vod)
    return bool(row["url"] and not row[side])


# A fetch job gets a settings section only when the section matters to it (a local file's import does not depend on
# them, and changing a download setting must not rebuild and re-transcribe a VOD made from local files).
def get_download_settings(wildcards):
    return config["download"] if from_twitch(wildcards.vod, "video") else {}


def get_chat_settings(wildcards):
    return config["chat"] if from_twitch(wildcards.vod, "chat") else {}


def get_twitch_settings(wildcards):
    vod = wildcards.vod
    return (
        config["twitch"]
        if from_twitch(vod, "video") or from_twitch(vod, "chat")
        else {}
    )


def get_vod_url(wildcards):
    return vod_row(wildcards.vod)["url"]


def get_vod_title(wildcards):
    return vod_row(wildcards.vod)["title"]


RAW = {
    "video": "output/raw/videos/video_{vod}.mp4",
    "metadata": "output/raw/{vod}_metadata.json",
    "audio": "output/raw/audio/audio_{vod}.wav",
    "transcript_json": "output/raw/transcripts/audio_{vod}_transcript.json",
    "words_csv": "output/raw/transcripts/audio_{vod}_words.csv",
    "paragraphs_csv": "output/raw/transcripts/audio_{vod}_paragraphs.csv",
    "segments_csv": "output/raw/transcripts/audio_{vod}_segments.csv",
    "waveform_png": "output/raw/waveforms/audio_{vod}_waveform.png",
    "waveform_json": "output/raw/waveforms/audio_{vod}_waveform.json",
    "chat_json": "output/raw/chat/{vod}_chat.json",
}
CHAT_ANALYSIS = {
    "chat_sentiment_csv": "output/analysis/chat/{vod}_chat_sentiment.csv",
    "chat_timeline_csv": "output/analysis/chat/{vod}_chat_timeline.csv",
    "chat_highlights_csv": "output/analysis/chat/{vod}_highlight_analysis.csv",
    "chat_activity_png": "output/analysis/chat/{vod}_chat_activity.png",
}
AUDIO_ANALYSIS = {
    "audio_features_csv": "output/analysis/audio/{vod}_features.csv",
    "audio_sentiment_csv": "output/analysis/audio/{vod}_sentiment.csv",
    "audio_highlights_csv": "output/analysis/audio/{vod}_highlights.csv",
    "audio_loudness_png": "output/analysis/audio/{vod}_loudness.png",
}
AUDIO_RAW_KINDS = [
    "video",
    "audio",
    "transcript_json",
    "words_csv",
    "paragraphs_csv",
    "segments_csv",
    "waveform_png",
    "waveform_json",
]
INTEGRATED = "output/analysis/{vod}_integrated_analysis.json"
REPORT = "output/report/{vod}.html"
CLIPS = "output/clips/{vod}"
MANIFEST = "output/publish/{vod}_manifest.json"


def artifacts_of(vod):
    """Every file the VOD's inputs allow, by kind: chat-only VODs have no audio side and vice versa."""
    kinds = {}
    if has_video(vod):
        kinds.update(
            {k: RAW[k] for k in AUDIO_RAW_KINDS if k != "video" or fetches_video(vod)}
        )
        kinds.update(AUDIO_ANALYSIS)
    if has_chat(vod):
        kinds["chat_json"] = RAW["chat_json"]
        kinds.update(CHAT_ANALYSIS)
    return {kind: path.format(vod=vod) for kind, path in kinds.items()}


def get_integration_inputs(wildcards):
    wanted = [
        "words_csv",
        "chat_sentiment_csv",
        "chat_timeline_csv",
        "chat_highlights_csv",
        "audio_features_csv",
        "audio_sentiment_csv",
        "audio_highlights_csv",
    ]
    files = artifacts_of(wildcards.vod)
    return {kind: files[kind] for kind in wanted if kind in files}


def get_report_inputs(wildcards):
    files = artifacts_of(wildcards.vod)
    inputs = {"integrated": INTEGRATED.format(vod=wildcards.vod)}
    # The integrated analysis carries the timeline the report draws; only the waveform comes from elsewhere.
    if "waveform_json" in files:
        inputs["waveform_json"] = files["waveform_json"]
    return inputs


def get_publish_inputs(wildcards):
    vod = wildcards.vod
    files = artifacts_of(vod)
    plots = [
        files.pop(kind)
        for kind in ("audio_loudness_png", "chat_activity_png")
        if kind in files
    ]
    if plots:
        files["plots"] = plots
    files["integrated_json"] = INTEGRATED.format(vod=vod)
    files["report_html"] = REPORT.format(vod=vod)
    if fetches_video(vod):
        files["clips_dir"] = CLIPS.format(vod=vod)
    return files


def get_all_targets():
    return [MANIFEST.format(vod=vod) for vod in VODS.index]


RUN_STAGES = {}  # VOD -> the furthest stage this run builds for it (raw, analysis)
ANALYSIS_RULES = {"analysis_integrate", "report_render", "clips_cut"}


def mark_queued():
    """Mark every VOD this run has jobs for as Queued (its jobs then report each later status themselves)."""
    for job in workflow.dag.needrun_jobs():
        vod = job.wildcards.get("vod")
        if vod is not None and RUN_STAGES.get(vod) != "analysis":
            RUN_STAGES[vod] = "analysis" if job.rule.name in ANALYSIS_RULES else "raw"
    for vod in sorted(RUN_STAGES):
        status_store.report(
            vod, "Queued", step="workflow", status_dir=config["status_dir"]
        )


def mark_finished():
    """After a successful run: a VOD it stopped short of publishing (e.g. only the integrated analysis was asked
    for) is Completed, with the stage it reached; publishing reports its own Completed.
    """
    status_store.finish_run(RUN_STAGES, status_dir=config["status_dir"])


# The trained chat emotion models shipped in models/ (rebuilt by `klipstream train-models`).
# Taken through the source cache so that remote executors deploy them with the workflow.
CHAT_MODELS = [
    workflow.source_path(f"../models/{p.name}")
    for p in sorted((WORKFLOW_DIR / "models").glob("*.skops"))
]
