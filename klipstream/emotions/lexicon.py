"""Twitch-aware emotion lexicon: emotes (Twitch global, BTTV, FFZ, 7TV), emoji and chat slang.

Our own hand-written table, versioned as LEXICON_VERSION. Each entry gives
(valence, excitement, funny, happiness, anger, sadness): valence in [-1, 1] is how positive the token
reads in chat; the five emotion weights in [0, 1] are how strongly one occurrence signals that emotion.
The meanings follow common Twitch usage (e.g. KEKW/OMEGALUL = laughter, Pog/PogChamp = hype,
Sadge/BibleThump = sadness, ResidentSleeper = boredom, monkaS = tension). Emotes are matched
case-sensitively (they are case-sensitive on Twitch: "Pog" is an emote, "pog" is slang, listed
separately), slang lower-cased after squeezing repeated letters ("LOOOOL" -> "lool" -> listed),
emoji by code point.
"""

from __future__ import annotations

from pathlib import Path

LEXICON_VERSION = "v1"
EMOTIONS = ("excitement", "funny", "happiness", "anger", "sadness")
COLUMNS = ("valence",) + EMOTIONS

# Reusable profiles: (valence, excitement, funny, happiness, anger, sadness)
_LAUGH = (0.4, 0.3, 1.0, 0.3, 0.0, 0.0)
_LAUGH_SOFT = (0.3, 0.1, 0.7, 0.3, 0.0, 0.0)
_HYPE = (0.6, 1.0, 0.0, 0.4, 0.0, 0.0)
_ANTICIPATION = (0.2, 0.8, 0.0, 0.1, 0.0, 0.0)
_LOVE = (0.8, 0.1, 0.0, 1.0, 0.0, 0.0)
_HAPPY = (0.6, 0.2, 0.1, 0.8, 0.0, 0.0)
_SAD = (-0.7, 0.0, 0.0, 0.0, 0.0, 1.0)
_ANGRY = (-0.7, 0.3, 0.0, 0.0, 1.0, 0.0)
_DISGUST = (-0.6, 0.2, 0.0, 0.0, 0.7, 0.1)
_TENSE = (-0.3, 0.7, 0.0, 0.0, 0.1, 0.2)
_SHOCK = (-0.1, 0.8, 0.1, 0.0, 0.1, 0.1)
_BORED = (-0.6, 0.0, 0.0, 0.0, 0.3, 0.4)
_SARCASM = (0.1, 0.1, 0.6, 0.1, 0.0, 0.0)
_COPE = (-0.3, 0.1, 0.4, 0.0, 0.0, 0.4)
_APPROVE = (0.6, 0.3, 0.0, 0.6, 0.0, 0.0)
_FAIL = (-0.5, 0.2, 0.3, 0.0, 0.2, 0.4)
_SMUG = (0.3, 0.2, 0.5, 0.3, 0.0, 0.0)
_DANCE = (0.6, 0.7, 0.1, 0.6, 0.0, 0.0)

EMOTES: dict[str, tuple[float, ...]] = {
    # laughter
    "KEKW": _LAUGH, "OMEGALUL": _LAUGH, "LUL": _LAUGH, "LULW": _LAUGH, "KEK": _LAUGH, "ICANT": _LAUGH,
    "PepeLaugh": _SMUG, "pepeLaugh": _SMUG, "4Head": _LAUGH_SOFT, "EleGiggle": _LAUGH, "haHAA": _SARCASM,
    "LuL": _LAUGH, "KEKL": _LAUGH, "KEKWait": _SHOCK, "dangLUL": _LAUGH, "HahaSweat": _LAUGH_SOFT,
    "forsenLUL": _LAUGH, "Hhhehehe": _LAUGH_SOFT, "LOLW": _LAUGH, "xdd": _LAUGH, "xqcL": _LOVE,
    "GIGACHAD": _APPROVE, "Clueless": _SARCASM, "Kappa": _SARCASM, "Keepo": _SARCASM, "KappaPride": _HAPPY,
    "Jebaited": _SARCASM, "BBoomer": _SARCASM, "TriHard": _HYPE, "Kreygasm": _HYPE, "CiGrip": _SMUG,
    "OpieOP": _HAPPY, "PepoG": _ANTICIPATION, "Stare": _TENSE, "EZ": _SMUG, "EZY": _SMUG, "YEP": _APPROVE,
    "COPIUM": _COPE, "Copege": _COPE, "Aware": _TENSE, "Susge": _TENSE, "SUSSY": _SARCASM,
    # hype / excitement
    "Pog": _HYPE, "POG": _HYPE, "PogChamp": _HYPE, "POGGERS": _HYPE, "PogU": _HYPE, "Pogey": _HYPE,
    "PogBones": _HYPE, "PogO": _SHOCK, "POGGIES": _HYPE, "POGSLIE": _HYPE, "poggers": _HYPE,
    "PauseChamp": _ANTICIPATION, "PauseShake": _ANTICIPATION, "WAYTOODANK": _SHOCK, "HYPERS": _HYPE,
    "PagChomp": _HYPE, "PagMan": _HYPE, "PogTasty": _HYPE, "SHEESH": _HYPE, "LETSGO": _HYPE,
    "Clap": _APPROVE, "peepoClap": _APPROVE, "EZClap": _SMUG, "GoldPLZ": _HYPE, "PowerUpL": _HYPE,
    "PowerUpR": _HYPE, "SeemsGood": _APPROVE, "VoteYea": _APPROVE, "VoteNay": (-0.4, 0.1, 0.0, 0.0, 0.4, 0.1),
    "CurseLit": _HYPE, "PartyTime": _DANCE, "catJAM": _DANCE, "pepeJAM": _DANCE, "pepeD": _DANCE,
    "SourPls": _DANCE, "VibePls": _DANCE, "ratJAM": _DANCE, "BOP": _DANCE, "Jammies": _DANCE,
    "GlitchCat": _HYPE, "twitchRaid": _HYPE, "HSWP": _HYPE, "PopCorn": _ANTICIPATION,
    "monkaS": _TENSE, "monkaW": _TENSE, "monkaGIGA": _TENSE, "monkaHmm": (0.0, 0.3, 0.0, 0.0, 0.0, 0.1),
    "lionMonkaS": _TENSE, "WutFace": _SHOCK, "D:": _SHOCK, "DxCat": _SHOCK, "Scared": _TENSE,
    "PogOff": _SHOCK, "OhGod": _SHOCK, "OhMyDog": _SHOCK, ":O": _SHOCK, ":o": _SHOCK,
    # love / happiness
    "<3": _LOVE, "widepeepoHappy": _HAPPY, "peepoHappy": _HAPPY, "FeelsGoodMan": _HAPPY,
    "FeelsAmazingMan": _HAPPY, "FeelsOkayMan": (0.3, 0.0, 0.0, 0.5, 0.0, 0.0), "bttvHappy": _HAPPY,
    "bttvHeart": _LOVE, "VirtualHug": _LOVE, "peepoLove": _LOVE, "catKISS": _LOVE, "peepoHug": _LOVE,
    "HeyGuys": _HAPPY, "VoHiYo": _HAPPY, "bleedPurple": _LOVE, "TwitchUnity": _LOVE, "GivePLZ": _HAPPY,
    "TakeNRG": _HAPPY, "CoolCat": _HAPPY, "bttvCool": _HAPPY, "Okayge": (0.2, 0.0, 0.0, 0.4, 0.0, 0.1),
    "AYAYA": _HAPPY, "RPGAyaya": _HAPPY, "FrankerZ": _HAPPY, "RalpherZ": _HAPPY, "BloodTrail": _HYPE,
    "MmmHmm": _APPROVE, "Wowee": _HYPE, "PrideLove": _LOVE, "TehePelo": _HAPPY, "uwu": _LOVE,
    ":)": _HAPPY, ":D": (0.7, 0.4, 0.3, 0.8, 0.0, 0.0), ";)": _SARCASM, ":P": _SARCASM, "B)": _HAPPY,
    "<3<3": _LOVE, "xD": _LAUGH, "XD": _LAUGH,
    # sadness
    "Sadge": _SAD, "sadge": _SAD, "PepeHands": _SAD, "BibleThump": _SAD, "FeelsBadMan": _SAD,
    "FeelsStrongMan": (0.2, 0.2, 0.0, 0.4, 0.0, 0.6), "peepoSad": _SAD, "widepeepoSad": _SAD,
    "bttvSad": _SAD, "BabyRage": (-0.6, 0.3, 0.1, 0.0, 0.6, 0.4), "lionFeels": _SAD,
    "megafrSad": _SAD, "Sadeg": _SAD, "PoroSad": _SAD, "FeelsWeirdMan": _DISGUST, ":(": _SAD,
    ":'(": _SAD, "NotLikeThis": _FAIL, "FailFish": _FAIL, "LUL_FAIL": _FAIL, "F": _SAD, "RIP": _SAD,
    "PepeHands_": _SAD, "SadCat": _SAD, "Deadge": _SAD, "o7": (0.2, 0.0, 0.0, 0.2, 0.0, 0.6),
    # anger / disgust
    "DansGame": _DISGUST, "SwiftRage": _ANGRY, "Madge": _ANGRY, "MadgeJuice": _ANGRY, "BibleRage": _ANGRY,
    "bttvAngry": _ANGRY, "RageFace": _ANGRY, "ANGERY": _ANGRY, "pepeMeltdown": _ANGRY, "WeirdChamp": _DISGUST,
    "weirdChamp": _DISGUST, "PepeSpit": _DISGUST, "NOPERS": (-0.4, 0.1, 0.1, 0.0, 0.5, 0.0), "hcjStop": _DISGUST,
    "HandsUp": _ANTICIPATION, "SMOrc": _ANGRY, "ANELE": (0.0, 0.2, 0.3, 0.0, 0.0, 0.0), ":/": (-0.3, 0.0, 0.0, 0.0, 0.2, 0.3),
    ":|": (-0.1, 0.0, 0.0, 0.0, 0.1, 0.1), "PJSalt": _ANGRY, "SaltyCorn": _ANGRY, "TooSpicy": _SHOCK,
    "ResidentSleeper": _BORED, "bttvSleep": _BORED, "Zzz": _BORED, "Snoozer": _BORED,
    "BatChest": _HYPE, "LULE": _LAUGH, "MonkaS": _TENSE, "FeelsDankMan": _SARCASM,
}

# Slang and plain words common in chat, matched lower-case after repeated letters are squeezed to two.
SLANG: dict[str, tuple[float, ...]] = {
    "lol": _LAUGH_SOFT, "lool": _LAUGH_SOFT, "lmao": _LAUGH, "lmfao": _LAUGH, "rofl": _LAUGH, "lul": _LAUGH,
    "lulw": _LAUGH, "kekw": _LAUGH, "kek": _LAUGH, "haha": _LAUGH, "hahaha": _LAUGH, "hehe": _LAUGH_SOFT,
    "xd": _LAUGH, "omegalul": _LAUGH, "icant": _LAUGH, "dead": _LAUGH_SOFT, "deadass": _LAUGH_SOFT, "funny": _LAUGH,
    "hilarious": _LAUGH, "pog": _HYPE, "poggers": _HYPE, "pogchamp": _HYPE, "hype": _HYPE, "letsgo": _HYPE,
    "lets": (0.2, 0.4, 0.0, 0.1, 0.0, 0.0), "sheesh": _HYPE, "clutch": _HYPE, "insane": _HYPE, "omg": _SHOCK,
    "wow": _SHOCK, "woah": _SHOCK, "whoa": _SHOCK, "wtf": (-0.4, 0.7, 0.1, 0.0, 0.5, 0.0), "holy": _SHOCK,
    "cracked": _HYPE, "goated": _APPROVE, "gg": _APPROVE, "ggs": _APPROVE, "ez": _SMUG, "nice": _APPROVE,
    "gz": _APPROVE, "congrats": _APPROVE, "grats": _APPROVE, "love": _LOVE, "ily": _LOVE, "cute": _LOVE,
    "wholesome": _LOVE, "hype!": _HYPE, "yay": _HAPPY, "thanks": _HAPPY, "ty": _HAPPY, "happy": _HAPPY,
    "sad": _SAD, "sadge": _SAD, "rip": _SAD, "cry": _SAD, "crying": _SAD, "f": (-0.3, 0.0, 0.0, 0.0, 0.0, 0.5),
    "unlucky": _SAD, "pain": _SAD, "noo": (-0.5, 0.3, 0.0, 0.0, 0.2, 0.5), "nooo": (-0.5, 0.3, 0.0, 0.0, 0.2, 0.5),
    "mad": _ANGRY, "angry": _ANGRY, "trash": _DISGUST, "garbage": _DISGUST, "cringe": _DISGUST, "sucks": _DISGUST,
    "scam": _ANGRY, "rigged": _ANGRY, "toxic": _ANGRY, "hate": _ANGRY, "ew": _DISGUST, "yikes": _DISGUST,
    "boring": _BORED, "bored": _BORED, "zzz": _BORED, "sleep": (-0.2, 0.0, 0.0, 0.0, 0.0, 0.2),
    "monkas": _TENSE, "scary": _TENSE, "sus": _SARCASM, "copium": _COPE, "kappa": _SARCASM,
    "pogu": _HYPE, "w": _APPROVE, "l": (-0.4, 0.0, 0.0, 0.0, 0.2, 0.3), "clip": _ANTICIPATION, "clipit": _ANTICIPATION,
}

# Emoji, matched per code point (skin-tone and variation selectors are ignored).
EMOJI: dict[str, tuple[float, ...]] = {
    "😂": _LAUGH, "🤣": _LAUGH, "😆": _LAUGH, "😹": _LAUGH, "💀": _LAUGH_SOFT, "😅": _LAUGH_SOFT, "😄": _HAPPY,
    "😃": _HAPPY, "😀": _HAPPY, "😁": _HAPPY, "😊": _HAPPY, "🙂": (0.4, 0.0, 0.0, 0.5, 0.0, 0.0), "😍": _LOVE,
    "🥰": _LOVE, "😘": _LOVE, "❤": _LOVE, "💕": _LOVE, "💖": _LOVE, "💜": _LOVE, "💙": _LOVE, "💚": _LOVE,
    "🧡": _LOVE, "💛": _LOVE, "🤍": _LOVE, "🖤": (0.5, 0.0, 0.0, 0.6, 0.0, 0.0), "♥": _LOVE, "🥳": _DANCE,
    "🎉": _DANCE, "🔥": _HYPE, "💯": _APPROVE, "👏": _APPROVE, "🙌": _HYPE, "😮": _SHOCK, "😲": _SHOCK,
    "😱": _SHOCK, "🤯": _SHOCK, "😳": _SHOCK, "👀": _ANTICIPATION, "😬": _TENSE, "😰": _TENSE, "😨": _TENSE,
    "😢": _SAD, "😭": (-0.3, 0.2, 0.3, 0.0, 0.0, 0.7), "😞": _SAD, "😔": _SAD, "💔": _SAD, "🥺": _SAD,
    "😡": _ANGRY, "🤬": _ANGRY, "😠": _ANGRY, "👎": _DISGUST, "🤮": _DISGUST, "🤢": _DISGUST, "😒": _DISGUST,
    "😴": _BORED, "🥱": _BORED, "👍": _APPROVE, "🤡": (-0.3, 0.1, 0.5, 0.0, 0.3, 0.0), "😏": _SMUG,
    "🐐": _APPROVE, "🙏": _HAPPY, "😎": _HAPPY, "🤔": (0.0, 0.1, 0.0, 0.0, 0.0, 0.0),
}

# Twitch bot accounts that post timers, command answers and alerts (lower-case login names).
BOT_ACCOUNTS = frozenset({
    "nightbot", "streamelements", "moobot", "fossabot", "streamlabs", "wizebot", "botisimo", "deepbot",
    "phantombot", "coebot", "ankhbot", "stay_hydrated_bot", "sery_bot", "soundalerts", "pokemoncommunitygame",
    "commanderroot", "streamholics", "kofistreambot", "tangiabot", "blerp", "own3d", "pretzelrocks",
    "songlistbot", "buttsbot", "supibot", "potatbotat", "fossabot_", "creatisbot", "streamcaptainbot",
})

# Unicode ranges counted as emoji (pictographs, symbols, dingbats, flags).
EMOJI_RE = "[\U0001F1E6-\U0001F1FF\U0001F300-\U0001F5FF\U0001F600-\U0001F64F\U0001F680-\U0001F6FF" \
           "\U0001F900-\U0001F9FF\U0001FA70-\U0001FAFF\u2600-\u26FF\u2700-\u27BF\u2764\u2665]"


def load_emote_names(emotes_dir: str | Path | None) -> set[str]:
    """Emote names from a folder of lists (one name a line in *.txt; `emotes` keys in *.json).

    Used by training to mask every known emote, not only those of our lexicon."""
    import json

    names: set[str] = set(EMOTES)
    if emotes_dir is None:
        return names
    for path in sorted(Path(emotes_dir).glob("*")):
        if path.suffix == ".txt":
            names.update(line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
        elif path.suffix == ".json":
            doc = json.loads(path.read_text(encoding="utf-8"))
            emotes = doc.get("emotes", doc) if isinstance(doc, dict) else {}
            if isinstance(emotes, dict):
                names.update(emotes)
            elif isinstance(emotes, list):
                names.update(e.get("code") or e.get("name") for e in emotes if isinstance(e, dict))
    names.discard(None)
    return names
