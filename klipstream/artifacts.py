"""Every file klipstream makes for a VOD, defined once: its path pattern, which side of the VOD it needs,
the bucket role it is published to and the Convex field that carries its URL.

The rules take their output paths from here (`target(key)` in rules/common.smk), `klipstream run` and the service
their targets, publishing its buckets, URL fields and content types, integration its input names."""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from pathlib import PurePosixPath
from string import Formatter

# What a VOD must have for an artifact to exist. A VOD "has" audio with a local video or a Twitch URL, chat with a
# local chat log or a URL, and "video" when the video itself is fetched (not with Twitch's audio-only download).
AUDIO, CHAT, VIDEO, ANY = "audio", "chat", "video", "any"
EXPORTS_DIR = "output/exports/{vod}"
# transcription.upload.format, the one list of them: the upload files below are named by it, transcribe.upload adds
# each one's codec, and the config schema's enum is checked against it (tests/test_config.py).
UPLOAD_FORMATS = ("opus", "flac")


@dataclass(frozen=True)
class Artifact:
    key: str  # the name a rule's input/output uses, and the kind recorded in the publish manifest
    path: str  # relative to the workdir, with {vod}
    needs: str
    bucket: str | None = None  # bucket role (raw, transcripts, chatlogs, analysis); None: not published
    url_field: str | None = None  # the field of Convex's `video:updateUrls` that receives its URL
    folder: str | None = None  # a directory target: each file in it is published as {vod}/{folder}/{file}, and
    # its one JSON index gets `url_field`
    switch: str | None = None  # the `exports.*` config key that turns it on (None: always made)

    def format(self, vod: str, **fields: object) -> str:
        return self.path.format(vod=vod, **fields)

    @property
    def per_vod(self) -> bool:
        """One file per VOD (False: several, told apart by another field, e.g. the transcript's {part})."""
        return {name for _, name, _, _ in Formatter().parse(self.path) if name} == {"vod"}

    @property
    def content_type(self) -> str:
        return content_type(self.path)


ARTIFACTS: dict[str, Artifact] = {
    a.key: a
    for a in (
        Artifact("video", "output/raw/videos/video_{vod}.mp4", VIDEO, "raw", "videoUrl"),
        Artifact("metadata", "output/raw/{vod}_metadata.json", VIDEO),
        Artifact("audio", "output/raw/audio/audio_{vod}.wav", AUDIO, "raw", "audioUrl"),
        # what Deepgram receives (transcription.upload.format): the WAV encoded once, kept for reruns, not published
        *(Artifact(f"upload_{fmt}", f"output/raw/audio/audio_{{vod}}.{fmt}", AUDIO) for fmt in UPLOAD_FORMATS),
        # offline transcription in parts: the plan (pause-cut chunks in groups) and one partial transcript per group
        Artifact("transcript_plan", "output/raw/transcripts/parts/{vod}/plan.json", AUDIO),
        Artifact("transcript_part", "output/raw/transcripts/parts/{vod}/part_{part}.json", AUDIO),
        Artifact(
            "transcript_json",
            "output/raw/transcripts/audio_{vod}_transcript.json",
            AUDIO,
            "transcripts",
            "transcriptJsonUrl",
        ),
        Artifact(
            "words_csv",
            "output/raw/transcripts/audio_{vod}_words.csv",
            AUDIO,
            "transcripts",
            "transcriptWordUrl",
        ),
        Artifact(
            "paragraphs_csv",
            "output/raw/transcripts/audio_{vod}_paragraphs.csv",
            AUDIO,
            "transcripts",
            "transcriptParagraphUrl",
        ),
        # the older tool's transcriptUrl was the segments CSV
        Artifact(
            "segments_csv",
            "output/raw/transcripts/audio_{vod}_segments.csv",
            AUDIO,
            "transcripts",
            "transcriptUrl",
        ),
        Artifact("waveform_png", "output/raw/waveforms/audio_{vod}_waveform.png", AUDIO, "raw", "audiowaveImageUrl"),
        # peaks.js JSON: what the frontend's player draws
        Artifact("waveform_json", "output/raw/waveforms/audio_{vod}_waveform.json", AUDIO, "raw", "audiowaveUrl"),
        Artifact("chat_json", "output/raw/chat/{vod}_chat.json", CHAT, "chatlogs", "chatUrl"),
        Artifact(
            "chat_sentiment_csv",
            "output/analysis/chat/{vod}_chat_sentiment.csv",
            CHAT,
            "analysis",
            "chatSentimentUrl",
        ),
        Artifact(
            "chat_timeline_csv",
            "output/analysis/chat/{vod}_chat_timeline.csv",
            CHAT,
            "analysis",
            "chatTimelineUrl",
        ),
        Artifact(
            "chat_highlights_csv",
            "output/analysis/chat/{vod}_highlight_analysis.csv",
            CHAT,
            "analysis",
            "chatHighlightsUrl",
        ),
        Artifact("chat_activity_png", "output/analysis/chat/{vod}_chat_activity.png", CHAT, "analysis"),
        Artifact(
            "audio_features_csv",
            "output/analysis/audio/{vod}_features.csv",
            AUDIO,
            "analysis",
            "audioFeaturesUrl",
        ),
        # per-window transcript sentiment
        Artifact(
            "audio_sentiment_csv",
            "output/analysis/audio/{vod}_sentiment.csv",
            AUDIO,
            "analysis",
            "transcriptAnalysisUrl",
        ),
        Artifact(
            "audio_highlights_csv",
            "output/analysis/audio/{vod}_highlights.csv",
            AUDIO,
            "analysis",
            "audioHighlightsUrl",
        ),
        Artifact("audio_loudness_png", "output/analysis/audio/{vod}_loudness.png", AUDIO, "analysis"),
        Artifact(
            "integrated_json",
            "output/analysis/{vod}_integrated_analysis.json",
            ANY,
            "analysis",
            "analysisUrl",
        ),
        # a title and a one-line description per moment (outputs/titles.py), read by the report, clips and exports
        Artifact("titles_json", "output/analysis/{vod}_titles.json", ANY, "analysis", "titlesUrl"),
        Artifact("report_html", "output/report/{vod}.html", ANY, "analysis", "reportUrl"),
        # a folder: its clips.json gets clipsUrl; object names {vod}/clips/{file}
        Artifact("clips_dir", "output/clips/{vod}", VIDEO, "analysis", "clipsUrl", folder="clips"),
        # editor hand-offs (rules/exports.smk, docs/exports.md)
        *(
            Artifact(
                f"{cut}_{fmt}",
                f"output/exports/{{vod}}/{{vod}}_{cut}.{ext}",
                ANY,
                "analysis",
                f"{cut}{field}Url",
                switch="timelines",
            )
            for cut in ("moments", "selects")
            for fmt, ext, field in (("otio", "otio", "Otio"), ("edl", "edl", "Edl"), ("xml", "xml", "FcpXml"))
        ),
        Artifact(
            "chapters_txt",
            "output/exports/{vod}/{vod}_chapters.txt",
            ANY,
            "analysis",
            "chaptersUrl",
            switch="chapters",
        ),
        Artifact(
            "moments_csv",
            "output/exports/{vod}/{vod}_moments.csv",
            ANY,
            "analysis",
            "momentsCsvUrl",
            switch="moments_csv",
        ),
        Artifact(
            "captions_srt",
            "output/exports/{vod}/{vod}.srt",
            AUDIO,
            "transcripts",
            "captionsSrtUrl",
            switch="captions",
        ),
        Artifact(
            "captions_vtt",
            "output/exports/{vod}/{vod}.vtt",
            AUDIO,
            "transcripts",
            "captionsVttUrl",
            switch="captions",
        ),
        Artifact(
            "clip_captions_dir",
            "output/exports/{vod}/captions",
            VIDEO,
            "analysis",
            "clipCaptionsUrl",
            folder="captions",
            switch="captions",
        ),
        Artifact(
            "vertical_dir",
            "output/exports/{vod}/vertical",
            VIDEO,
            "analysis",
            "verticalClipsUrl",
            folder="vertical",
            switch="vertical",
        ),
        Artifact("manifest", "output/publish/{vod}_manifest.json", ANY),
    )
}

_PER_VOD = frozenset(key for key, a in ARTIFACTS.items() if a.per_vod)

# The analysis tables the integration reads, by the names its inputs have (a subset of the keys above).
INTEGRATION_INPUTS = (
    "transcript_json",  # provenance: the transcription backend and model
    "words_csv",
    "chat_sentiment_csv",
    "chat_timeline_csv",
    "chat_highlights_csv",
    "audio_features_csv",
    "audio_sentiment_csv",
    "audio_highlights_csv",
)

_CONTENT_TYPES = {
    ".json": "application/json",
    ".csv": "text/csv; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".wav": "audio/wav",
    ".mp4": "video/mp4",
    ".png": "image/png",
    ".txt": "text/plain; charset=utf-8",
    ".mp3": "audio/mpeg",
    ".m4a": "audio/mp4",
    ".webm": "video/webm",
    ".flac": "audio/flac",
    ".opus": "audio/ogg",
    ".ogg": "audio/ogg",
    ".srt": "application/x-subrip; charset=utf-8",
    ".vtt": "text/vtt; charset=utf-8",
    ".otio": "application/json",
    ".edl": "text/plain; charset=utf-8",
    ".xml": "application/xml",
}


def content_type(path: str) -> str:
    suffix = PurePosixPath(str(path)).suffix.lower()
    return _CONTENT_TYPES.get(suffix) or mimetypes.guess_type(str(path))[0] or "application/octet-stream"


def target(key: str, vod: str | None = None, **fields: object) -> str:
    """The path pattern of artifact `key` (with `{vod}` and its other fields), or its path for `vod` and `fields`."""
    artifact = ARTIFACTS[key]
    return artifact.path if vod is None else artifact.format(vod, **fields)


def upload_key(upload_format: str) -> str:
    """The artifact Deepgram receives for a `transcription.upload.format` (UPLOAD_FORMATS)."""
    key = f"upload_{upload_format}"
    if key not in ARTIFACTS:
        raise ValueError(f"no upload artifact for format {upload_format!r}")
    return key


def available(sides: set[str], video: bool, switches: set[str] | None = None) -> dict[str, Artifact]:
    """The per-VOD artifacts a VOD's inputs allow: `sides` ⊆ {audio, chat}; `video` when the video itself is fetched;
    `switches`: the `exports.*` parts turned on (None: all)."""
    have = set(sides) | ({VIDEO} if video else set()) | ({ANY} if sides else set())
    return {
        key: a
        for key, a in ARTIFACTS.items()
        if a.needs in have and key in _PER_VOD and (a.switch is None or switches is None or a.switch in switches)
    }


def stage_targets(vod: str, stage: str, sides: set[str], video: bool = False) -> list[str]:
    """The files that stand for a stage of one VOD: `raw` (the raw files its sides allow, without the video), `analysis`
    (integrated analysis + report) or `all` (up to publishing: the manifest first, then every result `klipstream run`
    lists, so that a deleted one is rebuilt: Snakemake does not rebuild a missing file that only an up-to-date one
    needs; the clips when `video`, the VOD's video being fetched). `klipstream run` and the service ask for these."""
    if stage == "raw":
        keys = [k for k in ("segments_csv", "words_csv", "waveform_json") if AUDIO in sides]
        keys += ["chat_json"] if CHAT in sides else []
    elif stage == "analysis":
        keys = ["integrated_json", "report_html"]
    elif stage == "all":
        keys = ["manifest", "integrated_json", "report_html"] + (["clips_dir"] if video and AUDIO in sides else [])
        keys += (["transcript_json"] if AUDIO in sides else []) + (["chat_json"] if CHAT in sides else [])
    else:
        raise ValueError(f"unknown stage {stage!r}")
    return [target(k, vod) for k in keys]
