"""One source for every default: the config schema. Where a library function or dataclass also has a default for a
setting (so it can be called without the workflow), it must equal the schema's, or this test names the drift."""

from __future__ import annotations

import dataclasses
import inspect
from pathlib import Path

import pytest

from klipstream import config, publish, settings
from klipstream.emotions.speech import score_windows
from klipstream.highlights import params as highlight_params
from klipstream.outputs.clips import cut_clips
from klipstream.signals.audio_features import compute_audio_features
from klipstream.signals.chat_timeline import build_chat_timeline
from klipstream.signals.waveform import render_waveform
from klipstream.transcribe import transcribe
from klipstream.transcribe.tables import write_segments
from klipstream.twitch.chat import download_chat
from klipstream.twitch.video import download_twitch_video

# config section -> the callables that take its keys as keyword arguments
TAKERS = {
    "transcription": [transcribe],
    "segments": [write_segments],
    "waveform": [render_waveform],
    "audio_features": [compute_audio_features],
    "chat_timeline": [build_chat_timeline],
    "speech_sentiment": [score_windows],
    "clips": [cut_clips],
    "chat": [download_chat],
    "download": [download_twitch_video],
}


@pytest.mark.parametrize("section", sorted(TAKERS))
def test_signature_defaults_equal_the_schema(section):
    defaults = config.default(section)
    drift = []
    for fn in TAKERS[section]:
        for name, param in inspect.signature(fn).parameters.items():
            if name not in defaults or isinstance(defaults[name], dict):  # nested sections are read where used
                continue
            if param.default is not inspect.Parameter.empty and param.default != defaults[name]:
                drift.append(
                    f"{fn.__module__}.{fn.__qualname__}({name}={param.default!r}) but the schema says "
                    f"{section}.{name}: {defaults[name]!r}"
                )
    assert not drift, "\n".join(drift)


def test_highlight_dataclasses_take_their_defaults_from_the_schema():
    knobs = highlight_params.schema_defaults()
    for cls in (highlight_params.ScoreParams, highlight_params.FusionParams):
        for f in dataclasses.fields(cls):
            assert f.default == knobs[f.name], f"{cls.__name__}.{f.name}"


def test_publish_and_convex_defaults_equal_the_schema():
    pub, cvx = config.default("publish"), config.default("convex")
    assert {k: v for k, v in publish.DEFAULTS.items()} == {k: pub[k] for k in publish.DEFAULTS}
    resolved = settings.get_settings(config={}, env={})
    assert (
        resolved.convex_status_function,
        resolved.convex_urls_function,
        resolved.convex_timeout_s,
        resolved.convex_attempts,
        resolved.convex_backoff_s,
        resolved.convex_auth_scheme,
    ) == (
        cvx["status_function"],
        cvx["urls_function"],
        cvx["timeout"],
        cvx["attempts"],
        cvx["backoff_s"],
        cvx["auth_scheme"],
    )
    assert resolved.buckets == {role: name for role, name in pub["buckets"].items() if role != "vods"}  # vods: alias
    assert (resolved.use_gcs, resolved.gcs_project, resolved.gcp_service_account_path, resolved.convex_url) == (
        pub["use_gcs"],
        pub["gcs_project"],
        pub["service_account_path"] or None,
        cvx["url"] or None,
    )
    assert resolved.base_dir == Path(config.schema()["properties"]["base_dir"]["default"] or ".")
