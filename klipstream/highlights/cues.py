"""What a chat message says about the stream: a reaction (laughter, hype, shock, sadness/fail, love), an explicit
viewer cue ("clip it"), a non-event (greeting, goodbye, notification, giveaway, link, copypasta) or other talk.

This is a table of Twitch chat usage written for highlight finding, separate from the emotion lexicon in
klipstream.emotions (which scores how a message feels): here the question is whether a message is evidence that
something just happened on stream. Tokens are matched case-insensitively as whole words (emote names too:
"lul" typed in lower case is still laughter); repeated letters are allowed where chat stretches words
("LOOOOL", "NOOOO"). Each message gets one kind, by precedence: clip_cue, non_event, then the reaction kinds in
the order of REACTIONS, else other.

Everything is vectorised over the distinct texts of a chat (chat repeats itself a lot): 200,000 messages take
well under a second.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ..signals.chat_timeline import copypasta_flags, normalise_text

REACTIONS = ("laughter", "hype", "shock", "sadness", "love")
KINDS = ("clip_cue", "non_event", *REACTIONS, "other")
COPYPASTA_MIN_WORDS = 6  # a repeated text this long is a paste, not a reaction (short repeats such as KEKW are)
COPYPASTA_WINDOW = 30.0  # s, as the chat timeline's copypasta test
GREETING_MAX_WORDS = 4  # a greeting or goodbye is a short message
# whole-message reactions: a lone F or L, a lone "what"/"huh" (inside a sentence they are ordinary words)
WHOLE = {"sadness": r"\s*(?:[fl]\s*)+", "shock": r"\s*(?:wait |but )?(?:wha+t+|huh+|wut)[?!.\s]*"}

_WORDS = {
    "laughter": [
        r"lu+l+[wz]?",
        r"kek[wl]?\w*",
        r"omegalu+l\w*",
        r"lo+l+\w*",
        r"lmf?a+o+\w*",
        r"rofl",
        r"(?:ha){2,}h?",
        r"a?ha+ha+\w*",
        r"(?:he){3,}",
        r"xd+",
        r"icant",
        r"i can'?t",
        r"4head",
        r"elegiggle",
        r"pepelaugh\w*",
        r"lolw",
        r"dead",
        r"omegaroll",
        r"\w*giggle\w*",
        r"jebaited",
        r"haha\w*",
        r"lmfao\w*",
        r"i'?m dead",
        r"dying",
        r"crying",
        r"hilarious",
        r"(?:ja){2,}\w*",
        r"k{4,}",
        r"w{4,}",
        r"(?:ㅋ){2,}",
        r"哈哈+",
        r"草+",
        r"💀+",
        r"😂+",
        r"🤣+",
        r"😆+",
    ],
    "hype": [
        r"pog\w*",
        r"letsgo+\w*",
        r"let'?s go+\w*",
        r"gg+",
        r"ez+",
        r"\w*clap",
        r"sheesh\w*",
        r"hype\w*",
        r"clutch\w*",
        r"insane\w*",
        r"holy",
        r"goat(?:ed)?",
        r"w",
        r"kreygasm",
        r"cracked",
        r"nutty",
        r"yo+o+",
        r"sick",
        r"wo+w+",
        r"let him cook",
        r"what a (?:play|shot|save|clutch|move)",
        r"no shot",
        r"🔥+",
        r"🐐",
    ],
    "shock": [
        r"wtf+\w*",
        r"omg+\w*",
        r"d:",
        r"monka\w*",
        r"wutface",
        r"no+ ?wa+y+",
        r":o",
        r"\?{2,}",
        r"!{3,}",
        r"no{3,}",
        r"nani",
        r"bruh+",
        r"yikes",
        r"oh (?:no+|god|my god)",
        r"jesus",
        r"😱",
        r"😳",
        r"waytoodank",
        r"hol(?:y|ee) (?:shit|crap)",
    ],
    "sadness": [
        r"f in (?:the )?chat",
        r"rip\w*",
        r"sadge\w*",
        r"pepehands",
        r"biblethump",
        r"notlikethis",
        r"failfish",
        r"unlucky",
        r":\(+",
        r"feelsbadman",
        r"\w*sadge",
        r"peeposad\w*",
        r"widepeeposad",
        r"oo+f",
        r"he threw",
        r"threw",
        r"😭+",
        r"😢+",
        r"noo+",
    ],
    "love": [
        r"<3+",
        r"❤️?",
        r"💜",
        r"💕",
        r"🥰",
        r"cute\w*",
        r"a+w+w+\w*",
        r"peepohappy",
        r"widepeepohappy",
        r"wholesome",
        r"so sweet",
        r"peepolove",
        r"bibleThump",
    ],
    "clip_cue": [r"clip+ (?:it|that|this)", r"clipped", r"clip\w*", r"replay", r"instant replay", r"run it back"],
    "greeting": [  # only in short messages (GREETING_MAX_WORDS): "yo that was insane" is not a greeting
        r"hi+",
        r"hello+",
        r"hey+a?",
        r"hiya",
        r"howdy",
        r"henlo",
        r"mornin\w*",
        r"morning",
        r"gm",
        r"evening",
        r"yo",
        r"sup",
        r"o/",
        r"welcome(?: back)?",
        r"live",
        r"bye+\w*",
        r"\w*ba+i+",
        r"gn+",
        r"goodnight",
        r"good ?night",
        r"night+",
        r"cya",
        r"see (?:ya|you)",
        r"ttyl",
        r"later",
    ],
    "non_event": [  # notifications, giveaways, links
        r"subscribed",
        r"resubscribed",
        r"gifted (?:a |\d+ )?(?:tier|sub)\w*",
        r"gift(?:ed)? subs?",
        r"cheer\d+",
        r"bits",
        r"raid\w*",
        r"thanks for the (?:sub|follow|raid|bits)\w*",
        r"giveaway\w*",
        r"raffle\w*",
        r"entered",
        r"https?://\S+",
        r"www\.\S+",
        r"\S+\.(?:com|tv|gg|ly)(?:/\S*)?",
    ],
}


# Channel emotes are a channel prefix plus a name (fusLUL, sykLaugh, lionMonkaS, chjbHug): the name says what they mean.
_CHANNEL_PREFIX = r"[a-z][a-z0-9]{1,11}"
_CHANNEL_NAMES = {
    "laughter": r"LUL\w*|Lul\w*|KEKW?|Kek\w*|LOL|Lol|Laugh\w*|LAUGH|Haha\w*|HAHA\w*|Giggle|Lmao|LMAO",
    "hype": r"Pog\w*|POG\w*|Hype\w*|HYPE|W|Clap|Gg|GG|Letsgo|LETSGO|Sheesh|SHEESH",
    "shock": r"Monka\w*|MonkaS|Omg|OMG|Wtf|WTF|D|Shock\w*|Scared|Wut|Oh|OH",
    "sadness": r"Sad\w*|SAD|Cry\w*|Rip|RIP|F",
    "love": r"Heart\w*|Hug\w*|Love\w*|Luv|Kiss\w*|Cute\w*",
}


def _compile(words: list[str], flags=re.IGNORECASE) -> re.Pattern:
    return re.compile(r"(?:^|(?<=[\s,.;:!?\"'()]))(?:" + "|".join(words) + r")(?=$|[\s,.;:!?\"'()])", flags)


PATTERNS = {kind: _compile(words) for kind, words in _WORDS.items()}
CHANNEL_PATTERNS = {kind: _compile([_CHANNEL_PREFIX + f"(?:{names})"], 0) for kind, names in _CHANNEL_NAMES.items()}


def message_kinds(messages: pd.Series, times=None) -> np.ndarray:
    """One kind (see KINDS) per message. With `times` (seconds), a long text repeated within COPYPASTA_WINDOW s is a
    non_event (a paste going round); without, only the text decides."""
    text = messages.fillna("").astype(str)
    codes, distinct = pd.factorize(text)
    d = pd.Series(np.asarray(distinct, dtype=object), dtype="string")
    order = ["clip_cue", "non_event", *REACTIONS]
    conds = [d.str.contains(PATTERNS[k]).fillna(False).to_numpy(dtype=bool) for k in order]
    n_words = d.str.split().str.len().fillna(0).to_numpy()
    greeting = d.str.contains(PATTERNS["greeting"]).fillna(False).to_numpy(dtype=bool) & (n_words <= GREETING_MAX_WORDS)
    conds[order.index("non_event")] |= greeting
    for kind, pattern in WHOLE.items():
        conds[order.index(kind)] |= d.str.fullmatch(pattern, case=False).fillna(False).to_numpy(dtype=bool)
    conds = [
        c | d.str.contains(CHANNEL_PATTERNS[k]).fillna(False).to_numpy(dtype=bool) if k in CHANNEL_PATTERNS else c
        for k, c in zip(order, conds)
    ]
    per_text = np.select(conds, order, default="other") if len(d) else np.zeros(0, dtype=object)
    kinds = np.asarray(per_text, dtype=object)[codes] if len(codes) else np.zeros(0, dtype=object)
    if times is not None and len(kinds):
        words = n_words[codes]
        norm = normalise_text(d).to_numpy(dtype=object)[codes]  # once per distinct text
        paste = copypasta_flags(np.asarray(times, dtype=float), pd.Series(norm, dtype=object), COPYPASTA_WINDOW)
        kinds = np.where(paste & (words >= COPYPASTA_MIN_WORDS), "non_event", kinds)
    return kinds


def kind_weights(kinds: np.ndarray, reaction: float, other: float, clip_cue: float, non_event: float) -> np.ndarray:
    """The weight of each message's kind in the chat score."""
    kinds = np.asarray(kinds, dtype=object)
    return np.select(
        [np.isin(kinds, REACTIONS), kinds == "clip_cue", kinds == "non_event"],
        [reaction, clip_cue, non_event],
        default=other,
    ).astype(float)


def kind_counts(kinds) -> dict:
    """{kind: count} over KINDS (zeros included), for explanations."""
    vc = pd.Series(np.asarray(kinds, dtype=object)).value_counts()
    return {k: int(vc.get(k, 0)) for k in KINDS}
