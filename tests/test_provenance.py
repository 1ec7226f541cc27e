"""The integrated analysis records which ffmpeg and which models made it (generator.provenance)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd

from klipstream.provenance import provenance
from klipstream.transcribe.shape import build_response
from tests.helpers.workflow import ROOT


def test_provenance_names_ffmpeg_models_and_scorers(tmp_path, monkeypatch):
    from klipstream.emotions import chat as chat_scorer

    transcript = tmp_path / "audio_v_transcript.json"
    doc = build_response([], 10.0, backend="deepgram", model="nova-3", model_version="2024-01-01", sha256="0" * 64)
    transcript.write_text(json.dumps(doc))
    speech_models = pd.Series(["meta-llama/Meta-Llama-3.1-8B-Instruct"] * 2 + ["offline-lexicon-v1"])
    # the shipped chat scorer is the lexicon alone: no model file is loaded, so none is named
    assert provenance(audio=False, chat=True)["chat_models"] == []
    monkeypatch.setattr(chat_scorer, "BLEND", chat_scorer.Blend(model_weight=0.3))
    prov = provenance(audio=True, chat=True, transcript_json=transcript, speech_models=speech_models)
    assert Path(prov["ffmpeg"]["path"]).is_file() and prov["ffmpeg"]["version"].startswith("ffmpeg version")
    assert "-cpuflags 0" in prov["ffmpeg"]["audio_decode"]
    models = {m["file"]: m["sha256"] for m in prov["chat_models"]}
    assert models["chat_emotion.skops"] == hashlib.sha256((ROOT / "models/chat_emotion.skops").read_bytes()).hexdigest()
    assert prov["transcription"] == {"backend": "deepgram", "model": "nova-3", "version": "2024-01-01"}
    assert prov["speech_emotions"] == {"meta-llama/Meta-Llama-3.1-8B-Instruct": 2, "offline-lexicon-v1": 1}
    chat_only = provenance(audio=False, chat=True)
    assert chat_only["ffmpeg"] is None and chat_only["transcription"] is None and chat_only["chat_models"]
