"""Moment titles (klipstream.outputs.titles): extractive titles on the real chats of ../shared/data (never only
punctuation, question marks or one emote), the fallbacks built from the reaction, and the LLM path against an
OpenAI-compatible stand-in on 127.0.0.1 (structured answer validated, a malformed one falls back, a rerun is served
from the cache and sends nothing)."""

from __future__ import annotations

import json
import re

import pytest

from klipstream.highlights import integrate
from klipstream.io import write_json
from klipstream.outputs import titles
from tests.helpers.emotions_stub import StubServer

LETTER = re.compile(r"[^\W\d_]")


def moment(rank=1, start=49.0, end=70.0, top=(), reactions=None, excerpt="", signals=("chat",), emotes=()):
    """A highlight with the fields titles.py reads (the integrated analysis' shape)."""
    return {
        "rank": rank,
        "start": start,
        "end": end,
        "signals": list(signals),
        "dominant_emotion": "funny",
        "transcript_excerpt": excerpt,
        "explanation": "chat burst of 40 messages; mood: funny; high tier.",
        "chat": {
            "messages": 40,
            "unique_chatters": 30,
            "reactions": {
                **dict.fromkeys(("clip_cue", "non_event", "laughter", "hype", "shock", "sadness", "love", "other"), 0),
                **(reactions or {}),
            },
            "top_messages": [{"message": m, "count": c, "users": u} for m, c, u in top],
            "top_emotes": [{"emote": e, "count": 9} for e in emotes],
        },
    }


def check_title(title: str) -> None:
    # words, not only punctuation, digits or question marks: a word of two letters, three letters in all
    assert re.search(r"[^\W\d_]{2}", title) and len(LETTER.findall(title)) >= 3, title
    assert "\n" not in title and len(title) <= 60
    words = title.split()
    assert not (len(words) == 1 and titles.is_emote(words[0])), title


def test_question_marks_and_emotes_fall_back_to_the_reaction():
    h = moment(top=[("????????????", 30, 20), ("KEKW", 20, 15), ("W", 9, 9)], reactions={"shock": 25, "laughter": 5})
    got = titles.extractive(h)
    assert got == {
        "title": "Chat erupts at 0:49 (shock)",
        "description": "chat: 40 messages from 30 chatters, mostly shock",
        "source": "reaction",
    }
    # the phrase repeated by the most chatters, emotes and mentions taken out of it; too few chatters: not a title
    h = moment(top=[("@bob NO WAY HE HIT THAT KEKW", 12, 9), ("what a play", 30, 2)], emotes=["KEKW"])
    assert titles.extractive(h)["title"] == "NO WAY HE HIT THAT"
    assert titles.extractive(h)["description"].startswith('9 chatters: "NO WAY HE HIT THAT"')
    # one word alone reads as chat's quote; a one-word reaction (lol) or a greeting is no title
    assert titles.extractive(moment(top=[("DOUBLELIFT", 19, 19)], reactions={"laughter": 9}))["title"] == (
        'Chat: "DOUBLELIFT" (laughter)'
    )
    assert titles.extractive(moment(top=[("lol", 40, 30), ("hi chat", 9, 9)]))["source"] == "reaction"
    # speech when chat has no phrase: the excerpt's sentence with the most distinct long words
    h = moment(top=[("LUL", 30, 20)], excerpt="Okay. The boss has almost no health left! No no no.", signals=("audio",))
    assert titles.extractive(h)["title"] == "The boss has almost no health left!"
    assert titles.extractive(moment(top=[], signals=("audio",)))["title"] == "Funny moment at 0:49"


def test_clean_phrase_and_slug():
    assert titles.clean_phrase("!drop") == ""
    assert titles.clean_phrase("OMEGALUL OMEGALUL") == ""
    assert titles.clean_phrase("LETSGOOOOOOO") == "LETSGOOO"
    assert titles.clean_phrase("no no no no no no") == "no no no"
    assert titles.clean_phrase("</script><b>x</b>") == ""
    assert titles.clean_phrase("W W") == "" and titles.clean_phrase("OI OI OI") == "OI OI OI"
    assert (
        titles.clean_phrase("ミ￣ー￣ミ") == "" and titles.clean_phrase("抓到了") == "抓到了"
    )  # a kaomoji has no word
    assert titles.clean_phrase("fus7 fusHeart", prefixes=frozenset({"fus"})) == ""
    assert titles.slug('Chat: "NO WAY" (laughter)') == "chat-no-way-laughter"
    assert titles.slug("抓到了!") == "抓到了"


def real_chat_docs(shared_data, tmp_path_factory):
    """Integrated analyses of the real chats: chat/ (both), chat-zh/ (all three), three esports games."""
    from klipstream.chat.importers import import_chat
    from klipstream.emotions.chat import score_chat
    from klipstream.signals.chat_timeline import build_chat_timeline

    sources = [
        shared_data / "chat/fuslie_4h.txt",
        shared_data / "chat/twitch_v5_1087079172.json",
        *sorted((shared_data / "chat-zh").glob("*.txt")),
        *sorted((shared_data / "esports/chat").glob("*.txt"))[:3],
    ]
    work = tmp_path_factory.mktemp("real_titles")
    docs = {}
    for src in sources:
        vod = src.stem.replace(".", "_")
        import_chat(src, work / f"{vod}_chat.json", vod)
        score_chat(work / f"{vod}_chat.json", work / f"{vod}_s.csv")
        build_chat_timeline(work / f"{vod}_s.csv", work / f"{vod}_t.csv")
        docs[src.name] = integrate(
            vod,
            work / f"{vod}.json",
            title=vod,
            twitch_url=None,
            params={},
            chat_sentiment_csv=str(work / f"{vod}_s.csv"),
            chat_timeline_csv=str(work / f"{vod}_t.csv"),
        )
    return docs


@pytest.mark.slow
def test_offline_titles_of_real_chats_are_words(shared_data, tmp_path_factory):
    docs = real_chat_docs(shared_data, tmp_path_factory)
    assert len(docs) == 8
    sources = {}
    for name, doc in docs.items():
        made = titles.make_titles(doc, {"backend": "offline"})
        assert made["backend"] == "offline" and len(made["titles"]) == len(doc["highlights"]) > 0, name
        prefixes = titles.channel_prefixes(doc)
        for row, h in zip(made["titles"], doc["highlights"]):
            check_title(row["title"])
            assert row["description"] and "\n" not in row["description"] and len(row["description"]) <= 160
            sources[row["source"]] = sources.get(row["source"], 0) + 1
            if row["source"] == "chat":  # a phrase sent by at least 3 chatters (sends, for logs without names)
                sent = [m for m in h["chat"]["top_messages"] if (m["users"] or m["count"]) >= 3]
                emotes = frozenset(e["emote"] for e in h["chat"]["top_emotes"])
                phrases = [titles.clean_phrase(m["message"], emotes, prefixes).lower() for m in sent]
                title = row["title"].lower().removesuffix("…")
                assert any(p and (p in title or title in p) for p in phrases), (name, row)
    assert sources.get("chat", 0) >= 100 and sources.get("reaction", 0) >= 100, sources
    # read by hand: the Worlds 2019 game whose chat chants "OI OI OI" (82 chatters) has that as a title
    oceania = titles.make_titles(docs["worlds2019_102844212429550795.txt"], {"backend": "offline"})
    assert "OI OI OI" in [row["title"] for row in oceania["titles"]]


def title_answer(prompt: str) -> dict:
    """The stand-in's answer: a title from the moment's time, echoing a word of its speech."""
    at = re.search(r"Moment at (\S+),", prompt).group(1)
    said = re.search(r'Streamer said: "([^"]*)"', prompt)
    word = said.group(1).split()[0] if said and said.group(1) else "chat"
    return {"title": f"The {word} moment at {at}", "description": f"What happened at {at}, in one line."}


@pytest.fixture
def llm_doc(tmp_path):
    from tests.helpers.browser import report_inputs

    doc = integrate("llmvod", tmp_path / "a.json", title="t", twitch_url=None, params={}, **report_inputs(tmp_path))
    assert len(doc["highlights"]) >= 3
    # markers in the speech steer the stand-in: one moment always answers off-schema, one needs the repair request
    doc["highlights"][1]["transcript_excerpt"] = "boss fight [[badalways]]"
    doc["highlights"][2]["transcript_excerpt"] = "jump [[bad]]"
    write_json(tmp_path / "a.json", doc)
    return doc


def test_llm_titles_are_validated_cached_and_fall_back(llm_doc, tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-real")
    with StubServer(answer=title_answer) as stub:
        llm = {"base_url": stub.base_url, "model": "stub-model", "cache_dir": str(tmp_path / "cache"), "max_retries": 1}
        made = titles.write_titles(tmp_path / "a.json", tmp_path / "t.json", {"backend": "auto"}, llm)
        calls = stub.calls
        n = len(llm_doc["highlights"])
        assert made["backend"] == "llm" and made["model"] == "stub-model"
        rows = made["titles"]
        assert rows[1]["source"] != "llm" and rows[1]["title"] == rows[1]["extractive_title"]  # malformed twice
        assert rows[2]["source"] == "llm" and rows[2]["title"].startswith("The jump moment at ")  # repaired
        others = [r for i, r in enumerate(rows) if i != 1]
        assert all(r["source"] == "llm" and r["title"] == title_answer_for(llm_doc, r) for r in others)
        assert made["llm_titles"] == n - 1 and made["fallback_titles"] == 1
        assert calls == n + 2  # one each, and a repair request for each of the two malformed answers
        body = stub.requests[0]
        assert body["response_format"] == {"type": "json_object"} and body["model"] == "stub-model"
        assert json.loads((tmp_path / "t.json").read_text()) == made
        # a rerun asks nothing: every usable answer is cached; only the one that never validated is asked again
        again = titles.write_titles(tmp_path / "a.json", tmp_path / "t2.json", {"backend": "auto"}, llm)
        assert again["titles"] == rows and stub.calls == calls + 2
        # the key never reaches the titles or the log
        assert "sk-test-not-real" not in (tmp_path / "t.json").read_text() + caplog.text
        assert stub.auth_headers == {"Bearer sk-test-not-real"}


def title_answer_for(doc: dict, row: dict) -> str:
    h = next(h for h in doc["highlights"] if h["rank"] == row["rank"])
    return title_answer(titles.build_prompt(h, {"title": row["extractive_title"]}))["title"]


def test_answer_parser_refuses_what_a_title_cannot_be():
    parse = titles.answer_parser(60, 160)
    assert parse('```json\n{"title": " \\"Boss down\\" ", "description": "He won."}\n```') == {
        "title": "Boss down",
        "description": "He won.",
    }
    for bad in (
        '{"title": "????", "description": "x y z"}',
        '{"title": "KEKW", "description": "Chat laughs."}',
        '{"title": "' + "a" * 61 + '", "description": "long"}',
        '{"title": "Good", "description": "two\\nlines"}',
        '{"title": 3, "description": "no"}',
        "Sure! The title is Boss down.",
    ):
        with pytest.raises(ValueError):
            parse(bad)


def test_offline_backend_sends_nothing(llm_doc, tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-real")
    with StubServer(answer=title_answer) as stub:
        made = titles.write_titles(
            tmp_path / "a.json", tmp_path / "t.json", {"backend": "offline"}, {"base_url": stub.base_url}
        )
        assert made["backend"] == "offline" and stub.calls == 0
        assert {r["source"] for r in made["titles"]} <= {"chat", "speech", "reaction"}
