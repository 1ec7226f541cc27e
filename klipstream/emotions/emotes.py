"""Which words of a chat message are emotes, for counting (`emote_count`, a moment's `top_emotes`).

A token (whitespace-separated) is an emote when it is
  - one of the message's Twitch emote fragments (the `emotes` column: Twitch global and channel emotes),
  - an emote our lexicon knows (lexicon.EMOTES: Twitch, BTTV, FFZ and 7TV names such as Pog, KEKW, OMEGALUL),
  - or shaped like a channel emote (CHANNEL_EMOTE_RE: a lower-case prefix then a capital, `fusHeart`).
Third-party emotes (BTTV/FFZ/7TV) are plain text in chat logs, so without the last two rules they are not counted.
The channel-emote shape is defined here for the scorer (offline.py) and for training (train.py) alike.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import lexicon as lx


def channel_emote_re(min_prefix: int = 3) -> str:
    """Regex (unanchored) of a channel (subscriber) emote name: a prefix of `min_prefix` to 10 lower-case letters
    or digits that starts with a letter, then a capital and any letters, digits or _ (`fusHeart`, `lionBaby_TK`)."""
    return rf"[a-z][a-z0-9]{{{min_prefix - 1},9}}[A-Z][A-Za-z0-9_]*"


CHANNEL_EMOTE_RE = channel_emote_re()  # what the scorer counts and reads by its suffix
# Training masks prefixes of 2 too (ppPoof, ppHop, meOWA in its corpus): the shipped models were trained so, and
# one regex for both would change them.
TRAINING_CHANNEL_EMOTE_RE = channel_emote_re(min_prefix=2)


def emote_tokens(messages: pd.Series, fragments: pd.Series | None = None) -> pd.Series:
    """Every emote token of every message, one row each, indexed by the message's position (0..n-1)."""
    msg = pd.Series(messages, dtype=object).fillna("").astype(str).reset_index(drop=True)
    tokens = msg.str.split().explode().dropna()
    if tokens.empty:
        return pd.Series([], dtype=object, index=pd.Index([], dtype=np.int64))
    known = tokens.isin(lx.EMOTES).to_numpy() | tokens.str.fullmatch(CHANNEL_EMOTE_RE).to_numpy(dtype=bool)
    if fragments is not None:
        frag = pd.Series(fragments, dtype=object).fillna("").astype(str).reset_index(drop=True)
        frag = frag.str.split().explode().dropna()
        if not frag.empty:
            own = pd.MultiIndex.from_arrays([frag.index.to_numpy(), frag.to_numpy()])
            known |= pd.MultiIndex.from_arrays([tokens.index.to_numpy(), tokens.to_numpy()]).isin(own)
    return tokens[known]


def top_emote_counts(messages: pd.Series, fragments: pd.Series | None = None, k: int = 5) -> list[tuple[str, int]]:
    """The k most used emotes over the messages, with their counts (most used first, ties by first use)."""
    tokens = emote_tokens(messages, fragments)
    if tokens.empty:
        return []
    vc = tokens.value_counts(sort=False)  # order of first appearance
    vc = vc.iloc[np.argsort(-vc.to_numpy(), kind="stable")].head(k)
    return [(str(e), int(c)) for e, c in vc.items()]
