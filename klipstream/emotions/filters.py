"""Bot and command filtering by rule (vectorised).

A message is filtered when, in this order:
  - `bot_account`: its author is a known bot account (lexicon.BOT_ACCOUNTS, compared case-insensitively,
    plus any extra names passed in);
  - `command`: its text starts with "!" followed by a letter (a chat command such as "!drop", "!norton");
  - `empty`: its text is blank.
Nothing is filtered for containing a word: "subscribe", "gg" or "sub" from a normal user are kept
(the older tool dropped every message containing "sub" or "gg").
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from .lexicon import BOT_ACCOUNTS


def filter_messages(frame: pd.DataFrame, extra_bots: Iterable[str] = ()) -> pd.DataFrame:
    """Return `is_filtered` (bool) and `filter_reason` ("" when kept) for each row of a chat frame
    with `user` and `message` columns."""
    bots = BOT_ACCOUNTS | {b.strip().lower() for b in extra_bots if b and b.strip()}
    user = frame["user"].fillna("").astype(str).str.strip().str.lower()
    msg = frame["message"].fillna("").astype(str)
    is_bot = user.isin(bots).to_numpy()
    is_command = msg.str.lstrip().str.match(r"![A-Za-z]").to_numpy(dtype=bool)
    is_empty = (msg.str.strip() == "").to_numpy()
    reason = np.select([is_bot, is_command, is_empty], ["bot_account", "command", "empty"], default="")
    return pd.DataFrame({"is_filtered": reason != "", "filter_reason": reason}, index=frame.index)
