"""Score speech windows through an OpenAI-compatible chat API (Nebius AI Studio by default) with the `openai` client.

- structured JSON answer validated against SCORE_SCHEMA; one repair attempt, then None (the caller falls back to
  the offline scorer for that window);
- bounded concurrency (asyncio.Semaphore), a per-request timeout, retries with exponential backoff and full
  jitter on 429 / 5xx / timeouts / connection errors (asyncio.sleep only; a Retry-After header is honoured);
- an on-disk sqlite cache keyed by sha256(model, PROMPT_VERSION, prompt), so a rerun costs no API calls;
- the log reports calls, cache hits, retries, tokens, fallbacks and time, with progress lines.
The API key is read from the environment and never logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import json
import logging
import os
import re
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .. import config
from ..errors import KlipError
from ..retry import backoff_delay

log = logging.getLogger(__name__)
for _name in ("httpx", "httpx2"):  # the HTTP layer under openai logs one INFO line per request: too many
    if logging.getLogger(_name).level == logging.NOTSET:
        logging.getLogger(_name).setLevel(logging.WARNING)

# Nebius AI Studio moved to "Nebius Token Factory"; the old https://api.studio.nebius.ai/v1/ still appears in docs.
DEFAULT_BASE_URL = config.default("speech_sentiment")["base_url"]
DEFAULT_MODEL = config.default("speech_sentiment")["model"]
KEY_ENV_VARS = ("NEBIUS_API_KEY", "OPENAI_API_KEY")
PROMPT_VERSION = "speech-v2"
SCORE_FIELDS = ("sentiment_score", "excitement", "funny", "happiness", "anger", "sadness", "neutral", "highlight_score")

SCORE_SCHEMA = {
    "type": "object",
    "required": list(SCORE_FIELDS),
    "properties": {
        name: {"type": "number", "minimum": -1 if name == "sentiment_score" else 0, "maximum": 1}
        for name in SCORE_FIELDS
    },
}

SYSTEM_PROMPT = (
    "You rate 60-second windows of a Twitch streamer's speech for a highlight finder. "
    "Answer with one JSON object and nothing else, with these number fields: "
    "sentiment_score (-1 very negative .. 1 very positive), excitement, funny, happiness, anger, sadness, neutral "
    "(each 0..1, how strongly the window shows it), highlight_score (0..1, how likely viewers would clip this). "
    "The transcript is automatic and may contain errors. Judge delivery together with the words: a loud or "
    "raised voice with positive or fearful words is excitement, with negative words (losing, 'no no no') anger, "
    "and laughter is funny."
)


def api_key_from_env() -> str | None:
    for name in KEY_ENV_VARS:
        value = os.environ.get(name, "").strip()
        if value:
            return value
    return None


def build_prompt(
    text: str,
    speech_rate: float | None,
    loudness_db: float | None,
    loudness_rel_db: float | None,
    max_chars: int = 6000,
    event: str | None = None,
) -> str:
    """The user message for one window: delivery numbers first (and its most aroused moment, when one stands
    out: see speech._event_line), then the transcript (truncated)."""

    def fmt(v, unit):
        return "unknown" if v is None or v != v else f"{v:.1f} {unit}"

    text = " ".join(str(text).split())[:max_chars]
    peak = f"\nLoudest moment: {event}." if event else ""
    return (
        f"Speech rate: {fmt(speech_rate, 'words/s')}. Mean loudness: {fmt(loudness_db, 'dBFS')} "
        f"({fmt(loudness_rel_db, 'dB')} relative to this stream's median).{peak}\nTranscript:\n{text}"
    )


@functools.lru_cache(maxsize=1)
def _validator():
    """Built once: jsonschema.validate() re-checks the schema itself on every call (tens of ms)."""
    import jsonschema

    return jsonschema.Draft202012Validator(SCORE_SCHEMA)


def answer_object(content: str | None):
    """The JSON object in an answer (tolerating code fences and chatter around it); raise ValueError."""
    if not content:
        raise ValueError("empty answer")
    m = re.search(r"\{.*\}", content, re.S)
    if not m:
        raise ValueError("no JSON object in the answer")
    try:
        return json.loads(m.group(0))
    except json.JSONDecodeError as exc:
        raise ValueError(f"invalid JSON: {exc}") from exc


def parse_answer(content: str | None) -> dict:
    """Pull the JSON object out of an answer (tolerating code fences) and validate it; raise ValueError."""
    obj = answer_object(content)
    error = next(iter(_validator().iter_errors(obj)), None)
    if error is not None:
        raise ValueError(f"schema: {error.message}")
    return {k: float(obj[k]) for k in SCORE_FIELDS}


class Cache:
    """sqlite key-value store of validated answers; safe for several processes (sqlite locking)."""

    def __init__(self, cache_dir: str | Path | None):
        self.path = None
        self.db = None
        if cache_dir:
            self.path = Path(cache_dir) / "llm_cache.sqlite"
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(self.path, timeout=30)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")  # no fsync per answer; WAL stays consistent on a crash
            self.db.execute(
                "CREATE TABLE IF NOT EXISTS answers (key TEXT PRIMARY KEY, model TEXT, prompt_version TEXT,"
                " value TEXT, created REAL)"
            )
            self.db.commit()

    @staticmethod
    def key(model: str, prompt: str, version: str = PROMPT_VERSION, system: str = SYSTEM_PROMPT) -> str:
        return hashlib.sha256("\0".join((model, version, system, prompt)).encode()).hexdigest()

    def get(self, key: str) -> dict | None:
        if self.db is None:
            return None
        row = self.db.execute("SELECT value FROM answers WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else None

    def put(self, key: str, model: str, value: dict, version: str = PROMPT_VERSION) -> None:
        if self.db is None:
            return
        self.db.execute(
            "INSERT OR REPLACE INTO answers VALUES (?, ?, ?, ?, ?)",
            (key, model, version, json.dumps(value), time.time()),
        )
        self.db.commit()

    def close(self) -> None:
        if self.db is not None:
            self.db.close()


@dataclass
class Stats:
    calls: int = 0
    cache_hits: int = 0
    retries: int = 0
    repairs: int = 0
    fallbacks: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    done: int = 0
    errors: dict = field(default_factory=dict)


@dataclass
class LLMScorer:
    base_url: str = DEFAULT_BASE_URL
    model: str = DEFAULT_MODEL
    api_key: str | None = None
    concurrency: int = 8
    timeout: float = 30.0
    max_retries: int = 4
    backoff_base: float = 0.5
    backoff_max: float = 8.0
    cache_dir: str | Path | None = None
    max_tokens: int = 200
    progress_every: float = 10.0
    stats: Stats = field(default_factory=Stats)
    # what is asked and how an answer is checked: speech scores by default; outputs/titles.py asks for titles
    system_prompt: str = SYSTEM_PROMPT
    prompt_version: str = PROMPT_VERSION
    parse: Callable[[str | None], dict] = parse_answer
    fields: tuple[str, ...] = SCORE_FIELDS
    what: str = "windows"

    async def _request(self, client, messages: list[dict]) -> str | None:
        """One chat completion with retries; returns the answer text, or None when retries are exhausted."""
        import openai

        for attempt in range(self.max_retries + 1):
            retry_after = None
            try:
                self.stats.calls += 1
                resp = await client.chat.completions.create(
                    model=self.model,
                    messages=messages,
                    temperature=0,
                    max_tokens=self.max_tokens,
                    response_format={"type": "json_object"},
                )
                if resp.usage is not None:
                    self.stats.prompt_tokens += resp.usage.prompt_tokens or 0
                    self.stats.completion_tokens += resp.usage.completion_tokens or 0
                return resp.choices[0].message.content if resp.choices else None
            except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
                raise KlipError(
                    f"LLM API at {self.base_url} refused the API key (HTTP {exc.status_code}); "
                    f"check {' or '.join(KEY_ENV_VARS)}"
                ) from None
            except openai.NotFoundError:
                raise KlipError(f"LLM API at {self.base_url} does not know model {self.model!r} (HTTP 404)") from None
            except (
                openai.RateLimitError,
                openai.InternalServerError,
                openai.APITimeoutError,
                openai.APIConnectionError,
            ) as exc:
                kind = type(exc).__name__
                self.stats.errors[kind] = self.stats.errors.get(kind, 0) + 1
                resp = getattr(exc, "response", None)
                if resp is not None:
                    with contextlib.suppress(TypeError, ValueError):
                        retry_after = float(resp.headers.get("retry-after"))
            except openai.APIStatusError as exc:
                if exc.status_code < 500 and exc.status_code not in (408, 409, 429):  # those are worth a retry
                    kind = f"HTTP {exc.status_code}"
                    self.stats.errors[kind] = self.stats.errors.get(kind, 0) + 1
                    log.warning(
                        "LLM request rejected (HTTP %s); using the offline scorer for this window", exc.status_code
                    )
                    return None
                self.stats.errors[f"HTTP {exc.status_code}"] = self.stats.errors.get(f"HTTP {exc.status_code}", 0) + 1
            if attempt == self.max_retries:
                break
            self.stats.retries += 1
            await asyncio.sleep(backoff_delay(attempt, self.backoff_base, self.backoff_max, retry_after))
        return None

    async def _score_one(self, client, sem: asyncio.Semaphore, cache: Cache, prompt: str) -> dict | None:
        key = Cache.key(self.model, prompt, self.prompt_version, self.system_prompt)
        cached = cache.get(key)
        if cached is not None:
            self.stats.cache_hits += 1
            return cached
        messages = [{"role": "system", "content": self.system_prompt}, {"role": "user", "content": prompt}]
        async with sem:
            content = await self._request(client, messages)
            if content is None:
                return None
            try:
                result = self.parse(content)
            except ValueError as first:
                self.stats.repairs += 1
                repair = messages + [
                    {"role": "assistant", "content": content},
                    {
                        "role": "user",
                        "content": f"That answer was not usable ({first}). Reply with only the JSON object "
                        f"with the fields {', '.join(self.fields)}.",
                    },
                ]
                content = await self._request(client, repair)
                try:
                    result = self.parse(content)
                except ValueError as second:
                    log.warning("LLM answer still unusable after repair (%s); offline fallback for this one", second)
                    return None
        cache.put(key, self.model, result, self.prompt_version)
        return result

    async def score_prompts(self, prompts: list[str]) -> list[dict | None]:
        """Score every prompt; None where the API gave no usable answer (caller falls back)."""
        import openai

        if self.concurrency < 1:
            raise KlipError(f"LLM concurrency must be at least 1, got {self.concurrency}")
        cache = Cache(self.cache_dir)
        sem = asyncio.Semaphore(self.concurrency)
        client = openai.AsyncOpenAI(
            base_url=self.base_url, api_key=self.api_key or "no-key", max_retries=0, timeout=self.timeout
        )
        t0 = last = time.monotonic()
        results: list[dict | None] = [None] * len(prompts)

        async def run(i: int, prompt: str):
            nonlocal last
            results[i] = await self._score_one(client, sem, cache, prompt)
            if results[i] is None:
                self.stats.fallbacks += 1
            self.stats.done += 1
            now = time.monotonic()
            if now - last >= self.progress_every or self.stats.done == len(prompts):
                last = now
                log.info(
                    "LLM progress: %d/%d %s (%d calls, %d cache hits, %d retries) %.0f s",
                    self.stats.done,
                    len(prompts),
                    self.what,
                    self.stats.calls,
                    self.stats.cache_hits,
                    self.stats.retries,
                    now - t0,
                )

        log.info(
            "LLM scoring %d %s with %s at %s (concurrency %d, timeout %.0f s, cache %s)",
            len(prompts),
            self.what,
            self.model,
            self.base_url,
            self.concurrency,
            self.timeout,
            cache.path or "off",
        )
        try:
            await asyncio.gather(*(run(i, p) for i, p in enumerate(prompts)))
        finally:
            await client.close()
            cache.close()
        s = self.stats
        log.info(
            "LLM done: %d %s, %d API calls, %d cache hits, %d retries, %d repairs, %d fallbacks, "
            "tokens %d prompt + %d completion, errors %s, %.1f s",
            len(prompts),
            self.what,
            s.calls,
            s.cache_hits,
            s.retries,
            s.repairs,
            s.fallbacks,
            s.prompt_tokens,
            s.completion_tokens,
            s.errors or "none",
            time.monotonic() - t0,
        )
        return results

    def score(self, prompts: list[str]) -> list[dict | None]:
        return asyncio.run(self.score_prompts(prompts))
