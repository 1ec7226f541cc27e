"""Read the real chats in ../shared/data/chat and join the chat dev set's ids back to their text.

The dev set (chat_messages.csv, chat_messages_pass2.csv beside this file) stores ids and labels only: the chat
text stays in the shared folder and is looked up here. Ids:
  twitch_v5_1087079172.json  the comment's `_id`
  fuslie_4h.txt              the 1-based line number of the `H:MM:SS message` line (as the project's importer
                             numbers it: comment id `fuslie-<line>`)
The files are read directly (json / line regex), not through klipstream's importer, so the dev set does not
move when the importer changes; `emotes` holds the Twitch emote fragments of a v5 comment exactly as
klipstream.chat.io.read_chat_frame gives them (text logs have none).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
DATA_DIR = ROOT.parent / "shared" / "data" / "chat"
DEVSET = HERE / "chat_messages.csv"
PASS2 = HERE / "chat_messages_pass2.csv"
SOURCES = ("twitch_v5_1087079172.json", "fuslie_4h.txt")
SENTIMENTS = ("positive", "neutral", "negative")
EMOTIONS = ("excitement", "funny", "happiness", "anger", "sadness", "neutral")
DEVSET_COLUMNS = ["source", "message_id", "stratum", "sentiment", "emotion"]
_HMS = re.compile(r"^(\d+):(\d{2}):(\d{2}(?:\.\d+)?)\s+(.*)$")


class DataMissing(RuntimeError):
    """The shared chat folder (or one of its files) is not there."""


def _v5(path: Path) -> pd.DataFrame:
    doc = json.loads(path.read_text(encoding="utf-8"))
    rows = []
    for c in doc.get("comments", []):
        msg = c.get("message") or {}
        frags = msg.get("fragments") or []
        emotes = " ".join(f.get("text", "").strip() for f in frags if isinstance(f, dict) and f.get("emoticon"))
        user = c.get("commenter") or {}
        rows.append(
            (
                str(c["_id"]),
                float(c.get("content_offset_seconds") or 0.0),
                user.get("display_name") or user.get("name") or "",
                msg.get("body") or "",
                emotes.strip(),
            )
        )
    return pd.DataFrame(rows, columns=["message_id", "time", "user", "message", "emotes"])


def _hms(path: Path) -> pd.DataFrame:
    rows = []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            m = _HMS.match(line.rstrip("\r\n"))
            if m:
                h, mi, s, text = m.groups()
                rows.append((str(lineno), int(h) * 3600 + int(mi) * 60 + float(s), "", text, ""))
    return pd.DataFrame(rows, columns=["message_id", "time", "user", "message", "emotes"])


def read_source(source: str, data_dir: Path | str = DATA_DIR) -> pd.DataFrame:
    """All messages of one chat file, in file order: `message_id, time, user, message, emotes`."""
    path = Path(data_dir) / source
    if not path.is_file():
        raise DataMissing(f"{path} not found (the chat dev set needs ../shared/data/chat beside the repo)")
    frame = _v5(path) if source.endswith(".json") else _hms(path)
    frame.insert(0, "source", source)
    return frame


def read_all(data_dir: Path | str = DATA_DIR) -> pd.DataFrame:
    return pd.concat([read_source(s, data_dir) for s in SOURCES], ignore_index=True)


def read_labels(path: Path | str = DEVSET) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def load_devset(path: Path | str = DEVSET, data_dir: Path | str = DATA_DIR) -> pd.DataFrame:
    """The labelled ids joined to their chat text (`source, message_id, stratum, sentiment, emotion, time, user,
    message, emotes`); raises DataMissing when the shared chat folder is absent, KeyError for ids not found."""
    labels = read_labels(path)
    chats = read_all(data_dir)
    out = labels.merge(chats, on=["source", "message_id"], how="left", validate="one_to_one", indicator=True)
    lost = out[out["_merge"] != "both"]
    if len(lost):
        raise KeyError(
            f"{len(lost)} dev set ids not found in {data_dir}: {lost[['source', 'message_id']].head().values.tolist()}"
        )
    return out.drop(columns="_merge")
