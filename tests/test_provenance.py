"""The integrated analysis records which ffmpeg and which models made it (generator.provenance)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd

from klipstream.provenance import provenance
from klipstream.transcribe.shape import build_response
from tests.helpers.workflow import ROOT


def test_provenance_names_ffmpeg_models_and_scorers(tmp_path):
    words = tmp_path / "audio_v_words.csv"
    words.write_text("start_time,end_time,word\n")
    doc = build_response([], 10.0, backend="deepgram", model="nova-3", model_version="2024-01-01", sha256="0" * 64)
    (tmp_path / "audio_v_transcript.json").write_text(json.dumps(doc))
    speech = tmp_path / "s.csv"
    pd.DataFrame(
        {"start_time": [0, 30, 60], "model": ["meta-llama/Meta-Llama-3.1-8B-Instruct"] * 2 + ["offline-lexicon-v1"]}
    ).to_csv(speech, index=False)
    prov = provenance(audio=True, chat=True, words_csv=words, speech_sentiment_csv=speech)
    assert Path(prov["ffmpeg"]["path"]).is_file() and prov["ffmpeg"]["version"].startswith("ffmpeg version")
    assert "-cpuflags 0" in prov["ffmpeg"]["audio_decode"]
    models = {m["file"]: m["sha256"] for m in prov["chat_models"]}
    assert models["chat_emotion.skops"] == hashlib.sha256((ROOT / "models/chat_emotion.skops").read_bytes()).hexdigest()
    assert prov["transcription"] == {"backend": "deepgram", "model": "nova-3", "version": "2024-01-01"}
    assert prov["speech_emotions"] == {"meta-llama/Meta-Llama-3.1-8B-Instruct": 2, "offline-lexicon-v1": 1}
    chat_only = provenance(audio=False, chat=True)
    assert chat_only["ffmpeg"] is None and chat_only["transcription"] is None and chat_only["chat_models"]
