"""Build a Deepgram pre-recorded response (the project's transcript format) from timed words.

Used by the offline backend so every later stage reads one shape whichever backend ran.
Words given with their punctuated form (Whisper writes punctuation and capitals) keep it, and a sentence ends after
a word ending in . ! ? (or at the last word). Words without one are punctuated from pauses only: a sentence ends
where the speaker pauses for at least `sentence_pause` seconds (full stop), its first word is capitalised, and so
is the pronoun "I"."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

import numpy as np

Word = tuple  # (word, start, end, confidence[, punctuated_word])
_SENTENCE_END = (".", "!", "?", "…", "。", "！", "？")

SENTENCE_PAUSE = 0.6  # seconds of silence that end a sentence
PARAGRAPH_PAUSE = 2.0  # ... that end a paragraph
PARAGRAPH_SENTENCES = 6  # a paragraph never holds more sentences than this
UTTERANCE_PAUSE = 0.8  # Deepgram's default utt_split

_PRONOUN_I = {"i", "i'm", "i've", "i'll", "i'd"}


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def boundaries(words: Sequence[Word], pause: float) -> np.ndarray:
    """Boolean per word: True where a unit (sentence, utterance...) ends after this word."""
    n = len(words)
    if n == 0:
        return np.zeros(0, dtype=bool)
    starts = np.fromiter((w[1] for w in words), float, n)
    ends = np.fromiter((w[2] for w in words), float, n)
    out = np.ones(n, dtype=bool)
    out[:-1] = (starts[1:] - ends[:-1]) >= pause
    return out


def sentence_ends(words: Sequence[Word], sentence_pause: float = SENTENCE_PAUSE, long_sentence: int = 20) -> np.ndarray:
    """True after the last word of each sentence: a pause of `sentence_pause`, or - once a sentence is
    `long_sentence` words long - any pause of at least half that (a run-on sentence is cut at its next breath)."""
    n = len(words)
    out = boundaries(words, sentence_pause)
    if n == 0:
        return out
    gaps = np.append(np.fromiter((words[i + 1][1] - words[i][2] for i in range(n - 1)), float, n - 1), np.inf)
    soft = gaps >= sentence_pause / 2
    length = 0
    for i in range(n):  # sequential by nature: depends on the length of the running sentence
        length += 1
        if out[i] or (soft[i] and length >= long_sentence):
            out[i] = True
            length = 0
    return out


def punctuate(words: Sequence[Word], sentence_pause: float = SENTENCE_PAUSE) -> tuple[list[str], np.ndarray]:
    """Punctuated form of each word and the sentence-end mask: the recogniser's own when every word has one (5th
    item), else from pauses: capitalise sentence starts and "I", full stop at ends."""
    if words and all(len(w) > 4 and w[4] for w in words):
        punct = [str(w[4]) for w in words]
        ends = np.fromiter((p.rstrip("\"')”»").endswith(_SENTENCE_END) for p in punct), bool, len(punct))
        ends[-1] = True
        return punct, ends
    ends = sentence_ends(words, sentence_pause)
    starts = np.concatenate([[True], ends[:-1]]) if len(words) else ends
    out = []
    for (w, *_), first, last in zip(words, starts.tolist(), ends.tolist()):
        p = w.capitalize() if first else w
        if w in _PRONOUN_I:
            p = "I" + w[1:]
        out.append(p + "." if last else p)
    return out, ends


def _groups(mask_end: np.ndarray) -> list[tuple[int, int]]:
    """(first, last+1) index ranges of consecutive units that end where mask_end is True."""
    stops = (np.flatnonzero(mask_end) + 1).tolist()
    firsts = [0] + stops[:-1]
    return list(zip(firsts, stops))


def build_response(
    words: Sequence[Word],
    duration: float,
    *,
    backend: str,
    model: str,
    model_version: str = "",
    sha256: str = "",
    created: str | None = None,
    sentence_pause: float = SENTENCE_PAUSE,
    paragraph_pause: float = PARAGRAPH_PAUSE,
    utterance_pause: float = UTTERANCE_PAUSE,
) -> dict:
    """A Deepgram `/v1/listen` response (punctuate, paragraphs, utterances) plus `klipstream` provenance."""
    created = created or now_iso()
    words = sorted(words, key=lambda w: w[1])
    punct, sent_end = punctuate(words, sentence_pause)
    word_objs = [
        {"word": w[0], "start": w[1], "end": w[2], "confidence": round(w[3], 4), "punctuated_word": p}
        for w, p in zip(words, punct)
    ]

    sentences = [
        {"text": " ".join(punct[a:b]), "start": words[a][1], "end": words[b - 1][2], "_a": a, "_b": b}
        for a, b in _groups(sent_end)
    ]
    para_end = boundaries(words, paragraph_pause)
    paragraphs: list[dict] = []
    current: list[dict] = []
    for sent in sentences:
        current.append(sent)
        if para_end[sent["_b"] - 1] or len(current) >= PARAGRAPH_SENTENCES or sent is sentences[-1]:
            paragraphs.append(
                {
                    "sentences": [{"text": s["text"], "start": s["start"], "end": s["end"]} for s in current],
                    "num_words": current[-1]["_b"] - current[0]["_a"],
                    "start": current[0]["start"],
                    "end": current[-1]["end"],
                }
            )
            current = []
    para_text = "".join("\n" + " ".join(s["text"] for s in p["sentences"]) + "\n" for p in paragraphs)

    utterances = []
    for a, b in _groups(boundaries(words, utterance_pause)):
        conf = float(np.mean([w["confidence"] for w in word_objs[a:b]]))
        utterances.append(
            {
                "start": words[a][1],
                "end": words[b - 1][2],
                "confidence": round(conf, 4),
                "channel": 0,
                "transcript": " ".join(punct[a:b]),
                "words": word_objs[a:b],
                "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{sha256}:{words[a][1]}:{words[b - 1][2]}")),
            }
        )

    model_uuid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"klipstream:{backend}:{model}:{model_version}"))
    confidence = round(float(np.mean([w["confidence"] for w in word_objs])), 4) if word_objs else 0.0
    return {
        "metadata": {
            "transaction_key": "deprecated",
            "request_id": str(uuid.uuid4()),
            "sha256": sha256,
            "created": created,
            "duration": round(float(duration), 6),
            "channels": 1,
            "models": [model_uuid],
            "model_info": {model_uuid: {"name": model, "version": model_version, "arch": backend}},
        },
        "results": {
            "channels": [
                {
                    "alternatives": [
                        {
                            "transcript": " ".join(punct),
                            "confidence": confidence,
                            "words": word_objs,
                            "paragraphs": {"transcript": para_text, "paragraphs": paragraphs},
                        }
                    ]
                }
            ],
            "utterances": utterances,
        },
        "klipstream": {"backend": backend, "model": model, "created": created},
    }
