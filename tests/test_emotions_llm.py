"""The LLM path for real: the openai client against an OpenAI-compatible stub on 127.0.0.1."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from klipstream.emotions import llm, speech
from klipstream.emotions.offline import MODEL_NAME as OFFLINE
from klipstream.errors import KlipError
from tests.helpers.emotions_stub import StubServer, good_answer

KEY = "sk-test-secret-123456"


def _segments(tmp_path, texts):
    n = len(texts)
    seg = pd.DataFrame(
        {
            "window_id": range(n),
            "start_time": np.arange(n) * 30.0,
            "end_time": np.arange(n) * 30.0 + 60,
            "word_count": [len(t.split()) for t in texts],
            "speech_rate": [len(t.split()) / 60 for t in texts],
            "text": texts,
        }
    )
    path = tmp_path / "segments.csv"
    seg.to_csv(path, index=False)
    feats = pd.DataFrame({"time": np.arange(n * 30 + 60, dtype=float), "rms_db": -30.0})
    feats.loc[feats["time"] >= 30, "rms_db"] = -20.0  # window 0 covers 30 quiet + 30 loud seconds
    fpath = tmp_path / "features.csv"
    feats.to_csv(fpath, index=False)
    return path, fpath


@pytest.fixture
def key_env(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("NEBIUS_API_KEY", KEY)


def test_llm_scores_retries_repair_fallback_and_cache(tmp_path, key_env, caplog):
    texts = [
        "that was insane lol",
        "plain talk [[429x2]]",
        "server hiccup [[500]]",
        "needs repair [[bad]] insane",
        "hopeless [[badalways]] this is boring",
        "slow first [[slowonce]] lol",
        "down [[500always]]",
        "",
    ]
    seg, feats = _segments(tmp_path, texts)
    out_csv = tmp_path / "sentiment.csv"
    caplog.set_level(logging.INFO)
    with StubServer(latency=0.05, slow_seconds=2.0) as stub:
        out = speech.score_windows(
            seg,
            feats,
            out_csv,
            backend="auto",
            base_url=stub.base_url,
            model="stub-llm",
            concurrency=4,
            timeout=0.8,
            cache_dir=tmp_path / "cache",
            max_retries=3,
            backoff_base=0.01,
        )
        calls_first = stub.calls
        assert stub.auth_headers == {f"Bearer {KEY}"}
        assert all(r["model"] == "stub-llm" and r["response_format"] == {"type": "json_object"} for r in stub.requests)
        # the prompt carries delivery numbers: window 0 = 30 s at -30 dB and 30 s at -20 dB -> mean -25 dBFS
        first = next(r for r in stub.requests if "that was insane lol" in r["messages"][1]["content"])
        assert "Mean loudness: -25.0 dBFS" in first["messages"][1]["content"]
        assert "Speech rate: 0.1 words/s" in first["messages"][1]["content"]

        got = pd.read_csv(out_csv, keep_default_na=False)
        assert list(got.columns) == speech.COLUMNS
        by = got.set_index("window_id")
        for i in (0, 1, 2, 3, 5):  # good first time, after 429s, after 500, after repair, after a timeout
            assert by.loc[i, "model"] == "stub-llm", i
            want = good_answer(seg.read_text().splitlines()[i + 1])
            assert by.loc[i, "excitement"] == pytest.approx(want["excitement"])
            assert by.loc[i, "funny"] == pytest.approx(want["funny"])
        assert by.loc[0, "excitement"] == pytest.approx(0.9) and by.loc[0, "funny"] == pytest.approx(0.8)
        assert by.loc[3, "excitement"] == pytest.approx(0.9)  # the repaired answer is used
        # schema-failing twice, and 500 forever: the offline scorer, saying so
        for i in (4, 6, 7):
            assert by.loc[i, "model"] == OFFLINE, i
        assert by.loc[4, "sentiment_score"] < 0  # "boring", scored offline
        assert by.loc[7, "neutral"] > 0.5  # empty window: no call, offline
        # attempts per window: 429 twice then ok = 3; 500 then ok = 2; bad + repair = 2; badalways + repair = 2;
        # slow (timed out) then ok = 2; 500always = 1 + 3 retries = 4; first window 1; empty window 0
        assert calls_first == 1 + 3 + 2 + 2 + 2 + 2 + 4
        assert stub.max_in_flight <= 4

        # rerun: every valid answer comes from the cache; only the windows that fell back are asked again
        out2 = speech.score_windows(
            seg,
            feats,
            tmp_path / "again.csv",
            backend="auto",
            base_url=stub.base_url,
            model="stub-llm",
            concurrency=4,
            timeout=0.8,
            cache_dir=tmp_path / "cache",
            max_retries=0,
            backoff_base=0.01,
        )
        assert stub.calls - calls_first == 2 + 1  # badalways (+ repair) and 500always, nothing else
        pd.testing.assert_frame_equal(out.reset_index(drop=True), out2.reset_index(drop=True))
    log_text = caplog.text
    assert KEY not in log_text
    assert "cache hits" in log_text and "tokens" in log_text


def test_concurrency_bound_and_full_cache_rerun(tmp_path, key_env):
    texts = [f"window number {i} lol" for i in range(12)]
    seg, feats = _segments(tmp_path, texts)
    with StubServer(latency=0.3) as stub:
        speech.score_windows(
            seg,
            feats,
            tmp_path / "a.csv",
            base_url=stub.base_url,
            model="stub-llm",
            concurrency=3,
            timeout=5,
            cache_dir=tmp_path / "c",
        )
        assert stub.calls == 12
        assert stub.max_in_flight == 3  # used, and never exceeded
        speech.score_windows(
            seg,
            feats,
            tmp_path / "b.csv",
            base_url=stub.base_url,
            model="stub-llm",
            concurrency=3,
            timeout=5,
            cache_dir=tmp_path / "c",
        )
        assert stub.calls == 12  # cached rerun: no calls
        # another model is another cache key
        speech.score_windows(
            seg,
            None,
            tmp_path / "d.csv",
            base_url=stub.base_url,
            model="other-model",
            concurrency=3,
            timeout=5,
            cache_dir=tmp_path / "c",
        )
        assert stub.calls == 24
    assert (pd.read_csv(tmp_path / "a.csv")["model"] == "stub-llm").all()
    assert (pd.read_csv(tmp_path / "d.csv")["model"] == "other-model").all()


def test_auto_without_key_is_offline_and_makes_no_calls(tmp_path, monkeypatch):
    for name in llm.KEY_ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    seg, feats = _segments(tmp_path, ["KEKW KEKW that was so funny", "this is boring"])
    with StubServer() as stub:
        out = speech.score_windows(seg, feats, tmp_path / "s.csv", base_url=stub.base_url, cache_dir=None)
        assert stub.calls == 0
    assert (out["model"] == OFFLINE).all()
    assert out.loc[0, "funny"] > 0.8 and out.loc[1, "sentiment_score"] < 0


def test_refused_key_is_one_line_error(tmp_path, key_env):
    seg, feats = _segments(tmp_path, ["hello there"])

    class Refusing(StubServer):
        def respond(self, path, body):
            return 401, {"error": {"message": "bad key"}}, {}

    with Refusing() as stub:
        with pytest.raises(KlipError, match="refused the API key") as err:
            speech.score_windows(seg, feats, tmp_path / "s.csv", base_url=stub.base_url, cache_dir=None)
    assert KEY not in str(err.value) and "\n" not in str(err.value)
    assert not (tmp_path / "s.csv").exists()


def test_parse_answer_validates_schema():
    ok = llm.parse_answer(
        "```json\n" + '{"sentiment_score": -0.5, "excitement": 1, "funny": 0, "happiness": 0, '
        '"anger": 0.2, "sadness": 0.1, "neutral": 0, "highlight_score": 0.7}\n```'
    )
    assert ok["sentiment_score"] == -0.5 and ok["highlight_score"] == 0.7
    with pytest.raises(ValueError, match="schema"):
        llm.parse_answer(
            '{"sentiment_score": 2, "excitement": 1, "funny": 0, "happiness": 0, "anger": 0, '
            '"sadness": 0, "neutral": 0, "highlight_score": 0}'
        )
    with pytest.raises(ValueError):
        llm.parse_answer("no json here")
