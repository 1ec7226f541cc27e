"""A title and a one-line description for every moment of the integrated analysis (`{vod}_titles.json`).

Offline (extractive): the title is the phrase chat repeats most among many chatters (`titles.min_chatters`
distinct senders, or as many sends in a log without user names) once emotes, mentions, links and commands are taken
out of it; else the key sentence of what was said (the sentence of the transcript excerpt with the most distinct
long words); else a line built from the reaction ("Chat erupts at 12:34 (laughter)") or the mood. A title is never
only punctuation, question marks or one emote. The description is one line: what was said and what chat did.

With an LLM (`titles.backend`: llm, or auto with NEBIUS_API_KEY / OPENAI_API_KEY set), each moment's evidence is
sent to the OpenAI-compatible endpoint of the `speech_sentiment` section through the same client, retries and
sqlite cache as the speech scores (klipstream.emotions.llm): the answer must be one JSON object with a `title` of
at most `titles.max_title_chars` characters and a one-line `description`; an answer that fails (after one repair
request) keeps the extractive title. The cache is keyed by the model, the prompt version and the prompt (all the
moment's inputs), so a rerun sends nothing.

Readers (report cards, chapters, clip names and metadata, timeline markers, clips.json) take the titles file when
the workflow made one, else compute the extractive titles themselves (`titles_for`)."""

from __future__ import annotations

import json
import logging
import os
import re
import unicodedata
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from ..config import section
from ..errors import KlipError
from ..highlights.contract import validate
from ..io import read_json, write_json
from .timeline import hms

log = logging.getLogger(__name__)

PROMPT_VERSION = "titles-v1"
MOOD = {
    "excitement": "Hype",
    "funny": "Funny",
    "happiness": "Wholesome",
    "anger": "Rage",
    "sadness": "Sad",
}
# chat reaction kinds (the integrated analysis' chat.reactions) as words for a title
REACTION_WORDS = {
    "laughter": "laughter",
    "hype": "hype",
    "shock": "shock",
    "sadness": "sadness",
    "love": "love",
    "clip_cue": "clip it",
}
_WORD_CHAR = re.compile(r"[^\W_]")  # a letter or digit of any script
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")
# emote-shaped tokens the lexicon may not list: a capital inside a word (OkayChamp, ppPoof, widepeepoHappy), a
# capital run then lower case (TTours, PRChase), a digit then a capital (5Head)
_EMOTE_SHAPE = re.compile(r"[A-Za-z0-9]*[a-z][A-Z][A-Za-z0-9_]*|[A-Z]{2,}[a-z][A-Za-z0-9_]*|\d[A-Z][A-Za-z0-9_]*")
MAX_PHRASE_WORDS = 12  # a longer message repeated by many is a copypasta, not a phrase
MAX_PHRASE_CHARS = 80  # (in languages written without spaces too)
_SENTENCE_END = re.compile(r"(?<=[.!?…。！？])\s+|(?<=[。！？])")
_URL = re.compile(r"(https?://|www\.)\S+", re.I)
_MARKUP = re.compile(r"</?[A-Za-z][^<>]{0,60}>")  # HTML-like tags pasted into chat


@lru_cache(maxsize=1)
def _emote_names() -> tuple[frozenset[str], re.Pattern]:
    from ..emotions import emotes, lexicon

    return frozenset(lexicon.EMOTES), re.compile(emotes.CHANNEL_EMOTE_RE)


def word_chars(text: str) -> int:
    return len(_WORD_CHAR.findall(text))


def letters(text: str) -> int:
    """Letters of any script, not counting modifier letters (the ー of a kaomoji such as ミ￣ー￣ミ)."""
    return sum(1 for c in text if unicodedata.category(c) in ("Lu", "Ll", "Lt", "Lo"))


def is_emote(token: str, window_emotes: frozenset[str] = frozenset(), prefixes: frozenset[str] = frozenset()) -> bool:
    """A known emote, one of the window's emotes, emote-shaped, or a channel prefix then a capital or digit
    (`fus7` where the channel's emotes are fusHeart, fusAD, ...)."""
    names, channel = _emote_names()
    if token in window_emotes or token in names or channel.fullmatch(token) or _EMOTE_SHAPE.fullmatch(token):
        return True
    m = re.match(r"([a-z]{2,10})[A-Z0-9]", token)
    return m is not None and m.group(1) in prefixes


def channel_prefixes(doc: Mapping[str, Any]) -> frozenset[str]:
    """The lower-case prefixes of the channel-shaped emotes among the moments' top emotes (fus of fusHeart)."""
    found = set()
    for h in doc.get("highlights") or []:
        for e in (h.get("chat") or {}).get("top_emotes") or []:
            m = re.fullmatch(r"([a-z][a-z0-9]{1,9})[A-Z][A-Za-z0-9_]*", str(e["emote"]))
            if m:
                found.add(m.group(1))
    return frozenset(found)


def clean_phrase(
    message: str, window_emotes: frozenset[str] = frozenset(), prefixes: frozenset[str] = frozenset()
) -> str:
    """The words of a chat message fit for a title: no emotes, @mentions, links, symbols-only tokens, repeated
    runs (a word said more than three times in a row, a character more than three times); '' for a command
    (`!drop`), a copypasta, or when no word of three letters is left (`???`, `777`, `W W`)."""
    text = _MARKUP.sub(" ", _URL.sub(" ", str(message)))
    tokens = text.split()
    if not tokens or tokens[0].startswith("!") or len(tokens) > MAX_PHRASE_WORDS or len(text) > MAX_PHRASE_CHARS:
        return ""
    kept: list[str] = []
    for tok in tokens:
        if tok.startswith("@") or not _WORD_CHAR.search(tok) or is_emote(tok, window_emotes, prefixes):
            continue
        tok = re.sub(r"(.)\1{3,}", r"\1\1\1", "".join(c for c in tok if unicodedata.category(c) not in ("So", "Sk")))
        if not tok:
            continue
        if len(kept) >= 3 and all(k.lower() == tok.lower() for k in kept[-3:]):
            continue
        kept.append(tok)
    phrase = " ".join(kept).strip(" ,;:-")
    counts = [letters(t) for t in kept]
    wordy = any(n >= 3 for n in counts) or (sum(counts) >= 4 and min(counts) >= 2)  # "OI OI OI", not "W W"
    return phrase if wordy else ""


def _not_a_title(phrase: str) -> bool:
    """A greeting, notification or giveaway entry (the cue lexicon's non-events), or one word that is only a
    reaction (lol, lmao, gg, pog): what chat does, not what the moment is."""
    try:
        import pandas as pd

        from ..highlights.cues import message_kinds

        kind = str(message_kinds(pd.Series([phrase]))[0])
    except (
        ImportError,
        AttributeError,
        TypeError,
    ):  # the cue lexicon is the highlight engine's; without it, shape only
        kind = "other"
    return kind == "non_event" or (len(phrase.split()) == 1 and kind != "other")


def shorten(text: str, max_chars: int) -> str:
    """`text` on one line, cut at a word boundary to at most `max_chars` (with … when cut)."""
    text = " ".join(str(text).split())
    if len(text) <= max_chars:
        return text
    cut = text[: max_chars - 1]
    if " " in cut[max_chars // 2 :]:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:-") + "…"


def chat_phrase(
    h: Mapping[str, Any], min_chatters: int, prefixes: frozenset[str] = frozenset()
) -> tuple[str, int] | None:
    """(phrase, senders) of the most repeated chat message fit for a title, sent by at least `min_chatters`."""
    chat = h.get("chat") or {}
    window_emotes = frozenset(e["emote"] for e in chat.get("top_emotes") or [])
    for m in chat.get("top_messages") or []:
        senders = m["users"] if m.get("users") is not None else m["count"]
        if senders < min_chatters:
            continue
        phrase = clean_phrase(m["message"], window_emotes, prefixes)
        if phrase and not _not_a_title(phrase):
            return phrase, int(senders)
    return None


def key_sentence(excerpt: str) -> str:
    """The sentence of a transcript excerpt with the most distinct words of 4+ letters (ties: the first)."""
    sentences = [s.strip() for s in _SENTENCE_END.split(" ".join(str(excerpt).split())) if s and s.strip()]
    best, best_score = "", 0.0
    for s in sentences:
        words = {w.lower().strip(".,!?;:\"'") for w in s.split()}
        score = sum(1 for w in words if word_chars(w) >= 4) + 0.5 * s.endswith(("!", "?", "！", "？"))
        if len(s.split()) == 1 and not re.search(r"[\u3000-\u9fff\uac00-\ud7af]", s):
            score -= 1  # one word alone ("Okay.") says little, except in a language written without spaces
        if score > best_score:
            best, best_score = s, score
    return best if word_chars(best) >= 4 else ""


def top_reaction(h: Mapping[str, Any]) -> str | None:
    counts = (h.get("chat") or {}).get("reactions") or {}
    named = {k: v for k, v in counts.items() if k in REACTION_WORDS and v > 0}
    return REACTION_WORDS[max(named, key=named.get)] if named else None


def chat_summary(h: Mapping[str, Any]) -> str:
    chat = h.get("chat") or {}
    if not chat.get("messages"):
        return ""
    who = f" from {chat['unique_chatters']} chatters" if chat.get("unique_chatters") else ""
    reaction = top_reaction(h)
    return f"chat: {chat['messages']} messages{who}" + (f", mostly {reaction}" if reaction else "")


def extractive(
    h: Mapping[str, Any], settings: Mapping[str, Any] | None = None, prefixes: frozenset[str] = frozenset()
) -> dict[str, str]:
    """{title, description, source} of one moment from its own evidence (source: chat, speech or reaction);
    `prefixes`: the channel's emote prefixes (channel_prefixes)."""
    opts = section("titles", settings)
    max_chars = int(opts["max_title_chars"])
    at = hms(float(h["start"]))
    excerpt = " ".join(str(h.get("transcript_excerpt") or "").split())
    said = key_sentence(excerpt)
    found = chat_phrase(h, int(opts["min_chatters"]), prefixes)
    summary = chat_summary(h)
    if found:
        phrase, senders = found
        if len(phrase.split()) > 1 or len(_CJK.findall(phrase)) >= 3:
            title = phrase[:1].upper() + phrase[1:]
        else:  # one word alone reads as a quote of chat
            reaction = top_reaction(h)
            title = f'Chat: "{phrase}"' + (f" ({reaction})" if reaction else "")
        source = "chat"
        parts = [f'{senders} chatters: "{shorten(phrase, 60)}"']
        parts += [f'said: "{shorten(said, 90)}"'] if said else []
        parts += [summary] if summary else []
    elif said:
        title, source = said, "speech"
        parts = [f"at {at}"] + ([summary] if summary else [])
    else:
        reaction = top_reaction(h)
        mood = MOOD.get(str(h.get("dominant_emotion")))
        signals = h.get("signals") or []
        if "chat" in signals:
            title = f"Chat erupts at {at}" + (f" ({reaction or mood.lower()})" if reaction or mood else "")
        elif "audio" in signals:
            title = f"{mood or 'Loud'} moment at {at}"
        else:
            title = f"{mood or 'Quiet'} moment at {at}" + (f" (chat: {reaction})" if reaction else "")
        source = "reaction"
        parts = [summary] if summary else [str(h.get("explanation") or "").split(";")[0]]
    return {
        "title": shorten(title, max_chars),
        "description": shorten("; ".join(p for p in parts if p), int(opts["max_description_chars"])),
        "source": source,
    }


# ---------------------------------------------------------------------------------------------------- the LLM
def system_prompt(max_chars: int, max_description: int) -> str:
    return (
        "You write the title and a one-line description of a clip from a Twitch stream, for YouTube chapters, "
        "clip file names and a highlight report. You get what the streamer said (automatic transcript, may "
        "contain errors) and what chat wrote. Answer with one JSON object and nothing else: "
        f'{{"title": "...", "description": "..."}}. The title: at most {max_chars} characters, specific to this '
        "moment (what happened or the line people will remember), in the stream's language, no hashtags, no "
        f"emojis or emotes alone, not only punctuation. The description: one sentence, at most {max_description} "
        "characters, no line breaks."
    )


def build_prompt(h: Mapping[str, Any], fallback: Mapping[str, str]) -> str:
    """The user message for one moment: its time and mood, what chat wrote (top messages and emotes, reaction
    counts) and what was said; the extractive title as a hint."""
    chat = h.get("chat") or {}
    lines = [
        f"Moment at {hms(float(h['start']))}, {float(h['end']) - float(h['start']):.0f} s long; "
        f"mood: {h.get('dominant_emotion')}; signals: {'+'.join(h.get('signals') or []) or 'none'}.",
    ]
    if chat.get("messages"):
        reactions = ", ".join(f"{k} {v}" for k, v in (chat.get("reactions") or {}).items() if v)
        who = f" from {chat['unique_chatters']} chatters" if chat.get("unique_chatters") else ""
        lines.append(f"Chat: {chat['messages']} messages{who}" + (f" ({reactions})" if reactions else "") + ".")
        for m in chat.get("top_messages") or []:
            users = f", {m['users']} chatters" if m.get("users") is not None else ""
            lines.append(
                f"- {json.dumps(' '.join(str(m['message']).split())[:200], ensure_ascii=False)} x{m['count']}{users}"
            )
        if chat.get("top_emotes"):
            lines.append("Top emotes: " + ", ".join(f"{e['emote']} x{e['count']}" for e in chat["top_emotes"]))
    excerpt = " ".join(str(h.get("transcript_excerpt") or "").split())
    lines.append(f"Streamer said: {json.dumps(excerpt[:1500], ensure_ascii=False)}" if excerpt else "No speech.")
    lines.append(f"Extractive title (improve on it): {json.dumps(fallback['title'], ensure_ascii=False)}")
    return "\n".join(lines)


def answer_parser(max_chars: int, max_description: int):
    """parse(content) -> {title, description}: the JSON object of an answer, validated; raises ValueError."""

    from ..emotions.llm import answer_object

    def parse(content: str | None) -> dict:
        obj = answer_object(content)
        if not isinstance(obj, dict):
            raise ValueError("the answer is not a JSON object")
        out = {}
        for name, limit in (("title", max_chars), ("description", max_description)):
            value = obj.get(name)
            if not isinstance(value, str):
                raise ValueError(f"{name} missing or not a string")
            if "\n" in value.strip() or "\r" in value:
                raise ValueError(f"{name} is more than one line")
            value = " ".join(value.split()).strip("\"'“”")
            if len(value) > limit:
                raise ValueError(f"{name} longer than {limit} characters")
            if word_chars(value) < 2:
                raise ValueError(f"{name} {value!r} has no words")
            out[name] = value
        if len(out["title"].split()) == 1 and is_emote(out["title"]):
            raise ValueError(f"title {out['title']!r} is one emote")
        return out

    return parse


def use_llm(backend: str) -> tuple[bool, str | None]:
    from ..emotions import llm

    if backend not in ("auto", "llm", "offline"):
        raise KlipError(f"titles.backend must be auto, llm or offline, not {backend!r}")
    key = llm.api_key_from_env()
    return backend == "llm" or (backend == "auto" and key is not None), key


def llm_titles(
    highlights: list[Mapping[str, Any]],
    fallbacks: list[dict[str, str]],
    opts: Mapping[str, Any],
    endpoint: Mapping[str, Any],
    api_key: str | None,
) -> tuple[list[dict | None], Any]:
    """One answer per moment (None where the API gave no usable one), and the scorer (its stats and model)."""
    from ..emotions import llm

    max_chars, max_desc = int(opts["max_title_chars"]), int(opts["max_description_chars"])
    scorer = llm.LLMScorer(
        base_url=endpoint["base_url"],
        model=endpoint["model"],
        api_key=api_key,
        concurrency=int(endpoint["concurrency"]),
        timeout=float(endpoint["timeout"]),
        max_retries=int(endpoint["max_retries"]),
        backoff_base=float(endpoint.get("backoff_base", 0.5)),
        cache_dir=endpoint.get("cache_dir"),
        system_prompt=system_prompt(max_chars, max_desc),
        prompt_version=PROMPT_VERSION,
        parse=answer_parser(max_chars, max_desc),
        fields=("title", "description"),
        what="titles",
    )
    prompts = [build_prompt(h, f) for h, f in zip(highlights, fallbacks)]
    return scorer.score(prompts), scorer


def make_titles(
    doc: Mapping[str, Any],
    settings: Mapping[str, Any] | None = None,
    llm_settings: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The titles document of an integrated analysis (see write_titles)."""
    opts = section("titles", settings)
    highlights = list(doc["highlights"])
    prefixes = channel_prefixes(doc)
    fallbacks = [extractive(h, opts, prefixes) for h in highlights]
    wanted, key = use_llm(str(opts["backend"]))
    answers: list[dict | None] = [None] * len(highlights)
    model = None
    if wanted and highlights:
        endpoint = section("speech_sentiment", llm_settings)
        answers, scorer = llm_titles(highlights, fallbacks, opts, endpoint, key)
        model = scorer.model
    rows = []
    for h, fb, ans in zip(highlights, fallbacks, answers):
        chosen = {**ans, "source": "llm"} if ans else fb
        rows.append(
            {
                "rank": int(h["rank"]),
                "start": float(h["start"]),
                "end": float(h["end"]),
                **chosen,
                "extractive_title": fb["title"],
            }
        )
    used = sum(1 for a in answers if a)
    return {
        "vod_id": doc["vod_id"],
        "backend": "llm" if wanted else "offline",
        "model": model,
        "prompt_version": PROMPT_VERSION if wanted else None,
        "llm_titles": used,
        "fallback_titles": len(rows) - used,
        "titles": rows,
    }


def write_titles(
    integrated_json: str | os.PathLike,
    out_json: str | os.PathLike,
    settings: Mapping[str, Any] | None = None,
    llm_settings: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Write `{vod}_titles.json`: {vod_id, backend, model, titles: [{rank, start, end, title, description, source,
    extractive_title}]} in rank order; returns it."""
    doc = read_json(integrated_json)
    validate(doc, f"integrated analysis {integrated_json}")
    result = make_titles(doc, settings, llm_settings)
    write_json(out_json, result)
    by = {}
    for row in result["titles"]:
        by[row["source"]] = by.get(row["source"], 0) + 1
    log.info("titles of %s: %d (%s) -> %s", doc["vod_id"], len(result["titles"]), by or "none", out_json)
    return result


def read_titles(path: str | os.PathLike) -> dict[int, dict]:
    """rank -> {title, description, source, ...} of a titles file; a missing or broken one is one line naming it."""
    try:
        doc = read_json(path)
        return {int(row["rank"]): row for row in doc["titles"]}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise KlipError(f"cannot read the titles {path}: {type(exc).__name__}: {exc}") from None


def titles_for(
    doc: Mapping[str, Any], titles_json: str | os.PathLike | None = None, settings: Mapping[str, Any] | None = None
) -> dict[int, dict]:
    """rank -> title row for every highlight of `doc`: from the titles file when there is one, else extractive."""
    given = read_titles(titles_json) if titles_json else {}
    opts = section("titles", settings)
    prefixes = channel_prefixes(doc)
    out = {}
    for h in doc["highlights"]:
        rank = int(h["rank"])
        out[rank] = given.get(rank) or {"rank": rank, **extractive(h, opts, prefixes)}
    return out


def slug(title: str, max_chars: int = 40) -> str:
    """A file-name part from a title: letters and digits of any script, runs of anything else as one '-'."""
    text = re.sub(r"[^\w]+", "-", str(title).lower(), flags=re.UNICODE).replace("_", "-").strip("-")
    text = re.sub(r"-{2,}", "-", text)
    if len(text) > max_chars:
        text = text[:max_chars].rsplit("-", 1)[0] if "-" in text[:max_chars] else text[:max_chars]
    return text.strip("-")
