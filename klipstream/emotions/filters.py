"""Bot and command filtering by rule (vectorised).

A message is filtered when, in this order:
  - `bot_account`: its author is a known bot account (lexicon.BOT_ACCOUNTS, compared case-insensitively,
    plus any extra names passed in);
  - `command`: its text starts with "!" followed by a letter (a chat command such as "!drop", "!norton");
  - `empty`: its text is blank.
Nothing is filtered for containing a word: "subscribe", "gg" or "sub" from a normal user are kept
(the older tool dropped every message containing "sub" or "gg").

`strip_notices` removes the text of Twitch system notices (sub, resub, Prime, gift subs, raids) and of the usual
bot announcements (bits thank-yous, follow reminders, the Prime Gaming advert) from a message, so a chat log
without user names (where bots cannot be told by name) scores them as the neutral lines they are; a personal
message a subscriber attached to a resub notice is kept and scored on its own words.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from .lexicon import BOT_ACCOUNTS

# Twitch system notices as chat logs show them; the part after them (a subscriber's own words) is kept.
NOTICE_RE = (
    r"^\s*(?:"
    r"\S+ subscribed (?:at Tier \d|with (?:Twitch )?Prime)\.(?: They've subscribed for \d+ months?"
    r"(?:, currently on a \d+ month streak)?!)?"
    r"|\S+ (?:just )?gifted (?:a Tier \d sub to \S+!|\d+ subscriptions? to random users in the channel!)"
    r"(?: They(?:'ve| have) gifted a total of \d+ (?:months|gifts|subs)? ?in the channel!)?"
    r"|\S+ is gifting \d+ Tier \d Subs? to \S+ community!(?: They've gifted a total of \d+ in the channel!)?"
    r"|\S+ is (?:continuing|paying forward) the Gift Sub they got from \S+"
    r"|\S+ converted from a Prime sub to a Tier \d sub!"
    r"|\d+ raiders from \S+ have joined!|\S+ is raiding with a party of \d+\.?"
    # bot announcements: the whole line
    r"|Thank you \S+ for the \d+ bits!.*|Remember to follow if you enjoyed the stream!.*"
    r"|Did you know Amazon Prime members .*"
    r")"
)
_NOTICE_HINT = r"(?i)subscri|gift|raid|Thank you|Remember to follow|Did you know Amazon"


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


def strip_notices(messages: pd.Series) -> pd.Series:
    """Each message with its leading system notice or bot announcement removed (NOTICE_RE); others unchanged."""
    msg = messages.fillna("").astype(str)
    hint = msg.str.contains(_NOTICE_HINT, regex=True).to_numpy(dtype=bool)
    if not hint.any():
        return msg
    out = msg.copy()
    out[hint] = msg[hint].str.replace(NOTICE_RE, "", regex=True)
    return out
