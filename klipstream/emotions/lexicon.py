"""Twitch-aware emotion lexicon: emotes (Twitch global, BTTV, FFZ, 7TV), emoji and chat slang.

Our own hand-written table, versioned as LEXICON_VERSION. Each entry gives
(valence, excitement, funny, happiness, anger, sadness): valence in [-1, 1] is how positive the token
reads in chat; the five emotion weights in [0, 1] are how strongly one occurrence signals that emotion.
The meanings follow common Twitch usage (e.g. KEKW/OMEGALUL = laughter, Pog/PogChamp = hype,
Sadge/BibleThump = sadness, ResidentSleeper = boredom, monkaS = tension). Emotes are matched
case-sensitively (they are case-sensitive on Twitch: "Pog" is an emote, "pog" is slang, listed
separately), slang lower-cased after squeezing runs of 3+ letters to two ("LOOOOL" -> "lool", "noooo" -> "noo",
while "no" stays "no") and folding laughter ("hahaha", "lmaoooo", "ha ha ha"), emoji by code point.
Channel (sub) emotes are `prefix` + `Suffix` (`fusHeart`, `chjbHug`, `sykHypers`): a token of that shape that is not
in EMOTES is read by its suffix in CHANNEL_SUFFIXES (case-insensitive). Emotes with a profile of zeros (NEUTRAL:
YEP, o7, fusWave) are known and counted, but carry no feeling. The meanings agree with the labelling guideline
docs/labelling/chat_messages.md (e.g. tension/fear counts as excitement, boredom and disgust as anger).
"""

from __future__ import annotations

from pathlib import Path

LEXICON_VERSION = "v2"
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
_BORED = (-0.6, 0.0, 0.0, 0.0, 0.6, 0.3)
_SARCASM = (0.1, 0.1, 0.6, 0.1, 0.0, 0.0)
_COPE = (-0.3, 0.1, 0.3, 0.0, 0.0, 0.5)
_APPROVE = (0.6, 0.3, 0.0, 0.6, 0.0, 0.0)
_FAIL = (-0.5, 0.2, 0.3, 0.0, 0.2, 0.4)
_SMUG = (0.3, 0.2, 0.5, 0.3, 0.0, 0.0)
_DANCE = (0.6, 0.5, 0.1, 0.7, 0.0, 0.0)
_DISMAY = (-0.5, 0.3, 0.0, 0.0, 0.1, 0.8)
_HOPE = (0.4, 0.7, 0.0, 0.2, 0.0, 0.0)
_NEUTRAL = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0)

EMOTES: dict[str, tuple[float, ...]] = {
    # laughter
    "KEKW": _LAUGH, "OMEGALUL": _LAUGH, "LUL": _LAUGH, "LULW": _LAUGH, "KEK": _LAUGH, "ICANT": _LAUGH,
    "PepeLaugh": _SMUG, "pepeLaugh": _SMUG, "4Head": _LAUGH_SOFT, "EleGiggle": _LAUGH, "haHAA": _SARCASM,
    "LuL": _LAUGH, "KEKL": _LAUGH, "KEKWait": _SHOCK, "dangLUL": _LAUGH, "HahaSweat": _LAUGH_SOFT,
    "forsenLUL": _LAUGH, "Hhhehehe": _LAUGH_SOFT, "LOLW": _LAUGH, "xdd": _LAUGH, "xqcL": _LOVE,
    "GIGACHAD": _APPROVE, "Clueless": _SARCASM, "Kappa": _SARCASM, "Keepo": _SARCASM, "KappaPride": _HAPPY,
    "Jebaited": _SARCASM, "BBoomer": _SARCASM, "TriHard": _HYPE, "Kreygasm": _HYPE, "CiGrip": _SMUG,
    "OpieOP": _HAPPY, "PepoG": _NEUTRAL, "Stare": _DISGUST, "EZ": _SMUG, "EZY": _SMUG, "YEP": _NEUTRAL,
    "COPIUM": _COPE, "Copege": _COPE, "Aware": _TENSE, "Susge": _SARCASM, "SUSSY": _SARCASM,
    "OMEGAROLL": _LAUGH, "Kapp": _SARCASM, "KEKWiggle": _LAUGH, "LULWW": _LAUGH, "OMEGADANCE": _LAUGH,
    "peepoGiggles": _LAUGH, "KEKHeim": _LAUGH, "PepeLaughing": _LAUGH,
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
    "BIGWOW": _HYPE, "Prayge": _HOPE, "PogCrazy": _HYPE, "POGCRAZY": _HYPE, "PagBounce": _HYPE, "Hypers": _HYPE,
    "WICKED": _HYPE, "EZPogChamp": _HYPE, "PogChampion": _HYPE, "peepoHype": _HYPE,
    "monkaS": _TENSE, "monkaW": _TENSE, "monkaGIGA": _TENSE, "monkaHmm": _NEUTRAL, "MONKERS": _TENSE,
    "monkaOMEGA": _TENSE, "monkaEyes": _TENSE,
    "lionMonkaS": _TENSE, "WutFace": (-0.5, 0.5, 0.0, 0.0, 0.7, 0.0), "D:": _DISMAY, "DxCat": _SHOCK, "Scared": _TENSE,
    "PogOff": _SHOCK, "OhGod": _SHOCK, "OhMyDog": _SHOCK, ":O": _SHOCK, ":o": _SHOCK,
    # love / happiness
    "<3": _LOVE, "widepeepoHappy": _HAPPY, "peepoHappy": _HAPPY, "FeelsGoodMan": _HAPPY,
    "FeelsAmazingMan": _HAPPY, "FeelsOkayMan": (0.3, 0.0, 0.0, 0.5, 0.0, 0.0), "bttvHappy": _HAPPY,
    "bttvHeart": _LOVE, "VirtualHug": _LOVE, "peepoLove": _LOVE, "catKISS": _LOVE, "peepoHug": _LOVE,
    "HeyGuys": _HAPPY, "VoHiYo": _HAPPY, "bleedPurple": _LOVE, "TwitchUnity": _LOVE, "GivePLZ": _HAPPY,
    "TakeNRG": _HAPPY, "CoolCat": _HAPPY, "bttvCool": _HAPPY, "Okayge": (0.2, 0.0, 0.0, 0.4, 0.0, 0.1),
    "AYAYA": _HAPPY, "RPGAyaya": _HAPPY, "FrankerZ": _HAPPY, "RalpherZ": _HAPPY, "BloodTrail": _HYPE,
    "MmmHmm": _NEUTRAL, "Wowee": _HYPE, "PrideLove": _LOVE, "TehePelo": _HAPPY, "uwu": _LOVE,
    ":)": _HAPPY, ":D": (0.7, 0.4, 0.3, 0.8, 0.0, 0.0), ";)": _SARCASM, ":P": _SARCASM, "B)": _HAPPY,
    "<3<3": _LOVE, "xD": _LAUGH, "XD": _LAUGH,
    # sadness
    "Sadge": _SAD, "sadge": _SAD, "PepeHands": _SAD, "BibleThump": _SAD, "FeelsBadMan": _SAD,
    "FeelsStrongMan": (0.2, 0.2, 0.0, 0.4, 0.0, 0.6), "peepoSad": _SAD, "widepeepoSad": _SAD,
    "bttvSad": _SAD, "BabyRage": (-0.6, 0.3, 0.1, 0.0, 0.6, 0.4), "lionFeels": _SAD,
    "megafrSad": _SAD, "Sadeg": _SAD, "PoroSad": _SAD, "FeelsWeirdMan": _DISGUST, ":(": _SAD,
    ":'(": _SAD, "NotLikeThis": _SAD, "FailFish": _FAIL, "LUL_FAIL": _FAIL, "F": _SAD, "RIP": _SAD,
    "PepeHands_": _SAD, "SadCat": _SAD, "Deadge": _SAD, "o7": _NEUTRAL, "TearGlove": _SAD, "SadChamp": _SAD,
    "peepoSadge": _SAD, "Sadgers": _SAD, "FeelsRainMan": _SAD,
    # anger / disgust
    "DansGame": _DISGUST, "SwiftRage": _ANGRY, "Madge": _ANGRY, "MadgeJuice": _ANGRY, "BibleRage": _ANGRY,
    "bttvAngry": _ANGRY, "RageFace": _ANGRY, "ANGERY": _ANGRY, "pepeMeltdown": _ANGRY, "WeirdChamp": _DISGUST,
    "weirdChamp": _DISGUST, "PepeSpit": _DISGUST, "NOPERS": (-0.4, 0.1, 0.1, 0.0, 0.5, 0.0), "hcjStop": _DISGUST,
    "HandsUp": _ANTICIPATION, "SMOrc": _ANGRY, "ANELE": (0.0, 0.2, 0.3, 0.0, 0.0, 0.0), ":/": (-0.3, 0.0, 0.0, 0.0, 0.2, 0.3),
    ":|": (-0.1, 0.0, 0.0, 0.0, 0.1, 0.1), "PJSalt": _ANGRY, "SaltyCorn": _ANGRY, "TooSpicy": _SHOCK,
    "ResidentSleeper": _BORED, "bttvSleep": _BORED, "Zzz": _BORED, "Snoozer": _BORED,
    "BatChest": _HYPE, "LULE": _LAUGH, "MonkaS": _TENSE, "FeelsDankMan": _SARCASM,
    "DonoWall": _DISGUST, "PepeGun": _ANGRY, "peepoPooPoo": _DISGUST, "WeirdDude": _DISGUST, "Weirdge": _DISGUST,
    "ReallyMad": _ANGRY, "peepoMad": _ANGRY, "Madgeclap": _ANGRY, "PepegaAim": _SARCASM, "Pepega": _SARCASM,
    "OMEGALULiguess": _LAUGH,
    "PepePls": _DANCE, "AlienPls": _DANCE, "HYPERCLAP": _APPROVE, "monkaTOS": _TENSE, "FeelsLagMan": _BORED,
    # known, without a feeling (answers, salutes, notes, lurking, memes)
    "HACKERMANS": _NEUTRAL, "KKona": _NEUTRAL, "5Head": _NEUTRAL, "3Head": _NEUTRAL, "TombRaid": _NEUTRAL,
    "NODDERS": _NEUTRAL, "modCheck": _NEUTRAL, "Yoink": _NEUTRAL, "peepoChat": _NEUTRAL,
    "Bedge": _NEUTRAL, "peepoLeave": _NEUTRAL, "peepoArrive": _NEUTRAL, "HUH": _SHOCK,
}

# Slang and plain words common in chat, matched lower-case after runs of 3+ letters are squeezed to two
# ("LOOOOL" -> "lool", "noooo" -> "noo") and laughter is folded ("hahaha", "ha ha ha" -> "haha", "lmaooo" -> "lmao").
SLANG: dict[str, tuple[float, ...]] = {
    "lol": _LAUGH_SOFT, "lool": _LAUGH_SOFT, "lmao": _LAUGH, "lmfao": _LAUGH, "rofl": _LAUGH, "lul": _LAUGH,
    "lulw": _LAUGH, "kekw": _LAUGH, "kek": _LAUGH, "haha": _LAUGH, "hehe": _LAUGH_SOFT,
    "xd": _LAUGH, "omegalul": _LAUGH, "icant": _LAUGH, "dead": _LAUGH_SOFT, "deadass": _LAUGH_SOFT, "funny": _LAUGH,
    "hilarious": _LAUGH, "pog": _HYPE, "poggers": _HYPE, "pogchamp": _HYPE, "hype": _HYPE, "letsgo": _HYPE,
    "lets": (0.2, 0.4, 0.0, 0.1, 0.0, 0.0), "sheesh": _HYPE, "clutch": _HYPE, "insane": _HYPE, "omg": _SHOCK,
    "wow": _SHOCK, "woah": _SHOCK, "whoa": _SHOCK, "wtf": (-0.4, 0.7, 0.1, 0.0, 0.5, 0.0), "holy": _SHOCK,
    "cracked": _HYPE, "goated": _APPROVE, "gg": _APPROVE, "ggs": _APPROVE, "ez": _SMUG, "nice": _APPROVE,
    "gz": _APPROVE, "congrats": _APPROVE, "grats": _APPROVE, "love": _LOVE, "ily": _LOVE, "cute": _LOVE,
    "wholesome": _LOVE, "yay": _HAPPY, "thanks": _HAPPY, "thank": _HAPPY, "ty": _HAPPY, "tysm": _HAPPY,
    "thx": _HAPPY, "happy": _HAPPY, "based": _APPROVE,
    "sad": _SAD, "sadge": _SAD, "rip": _SAD, "cry": _SAD, "crying": _SAD, "f": (-0.3, 0.0, 0.0, 0.0, 0.0, 0.5),
    "unlucky": _SAD, "pain": _SAD, "noo": _DISMAY, "oof": _DISMAY, "ouch": _DISMAY, "welp": _DISMAY,
    "sorry": (-0.3, 0.0, 0.0, 0.0, 0.0, 0.5),
    "mad": _ANGRY, "angry": _ANGRY, "trash": _DISGUST, "garbage": _DISGUST, "cringe": _DISGUST, "sucks": _DISGUST,
    "scam": _ANGRY, "rigged": _ANGRY, "toxic": _ANGRY, "hate": _ANGRY, "ew": _DISGUST, "eww": _DISGUST,
    "yikes": _DISGUST, "smh": _DISGUST, "gross": _DISGUST,
    "boring": _BORED, "bored": _BORED, "zzz": _BORED, "sleep": (-0.2, 0.0, 0.0, 0.0, 0.0, 0.2),
    "monkas": _TENSE, "scary": _TENSE, "scared": _TENSE, "spooky": _TENSE, "sus": _SARCASM, "copium": _COPE,
    "kappa": _SARCASM, "pogu": _HYPE, "w": _APPROVE, "l": (-0.4, 0.0, 0.0, 0.0, 0.5, 0.2), "clip": _ANTICIPATION,
    "clipit": _ANTICIPATION,
}

# Suffixes of channel emotes (`prefix` + `Suffix`, e.g. fusHeart, chjbHug, sykHypers, xqcL is not used: "L" is
# ambiguous), looked up lower-case for tokens of that shape that EMOTES does not list. The usual meanings of the
# picture names streamers give their emotes; unknown suffixes are counted as emotes without a feeling.
CHANNEL_SUFFIXES: dict[str, tuple[float, ...]] = {
    **dict.fromkeys(("kek", "kekw", "lul", "lulw", "lol", "laugh", "laughing", "haha", "hehe", "giggle", "giggles",
                     "chuckle", "lmao", "omegalul", "xd", "icant"), _LAUGH),
    **dict.fromkeys(("hype", "hypers", "pog", "pogu", "poggers", "pogchamp", "sheesh", "cracked", "letsgo", "gasm",
                     "fire", "wow", "omg"), _HYPE),
    **dict.fromkeys(("heart", "hearts", "love", "hug", "hugs", "kiss", "pat", "pats", "comfy", "cozy", "happy",
                     "smile", "uwu", "owo", "bae", "fam", "queen", "king", "cute", "blush", "shy", "flower", "wholesome",
                     "aww"), _LOVE),
    **dict.fromkeys(("clap", "gg", "w", "nice", "yes", "goat", "ok_hand"), _APPROVE),
    **dict.fromkeys(("jam", "jams", "jammies", "dance", "vibe", "vibing", "dab", "party"), _DANCE),
    **dict.fromkeys(("sad", "sadge", "cry", "crying", "tears", "feels", "rip", "pain", "f", "d", "nt"), _SAD),
    **dict.fromkeys(("fail", "facepalm"), _FAIL),
    **dict.fromkeys(("rage", "mad", "madge", "angry", "meltdown", "gun", "hmph", "ree", "tilt", "tilted"), _ANGRY),
    **dict.fromkeys(("weird", "weirdchamp", "poopoo", "stop", "ew", "gross", "cringe", "stare", "disgust"), _DISGUST),
    **dict.fromkeys(("scared", "scary", "fear", "monka", "monkas", "sweat", "nervous", "spooky"), _TENSE),
    **dict.fromkeys(("oh", "wut", "what", "wtf", "shock", "shocked", "pogo", "o", "huh", "omgg"), _SHOCK),
    **dict.fromkeys(("sleep", "sleepy", "bored", "zzz"), _BORED),
    **dict.fromkeys(("ez", "smug", "smirk"), _SMUG),
    **dict.fromkeys(("copium", "cope"), _COPE),
    **dict.fromkeys(("prayge", "pray", "hope"), _HOPE),
    **dict.fromkeys(("wave", "hi", "hey", "hello", "bye", "ok", "okay", "ad", "ads", "lurk", "hmm", "think", "chat",
                     "check", "sip", "sit", "shrug", "point", "run", "notes", "nod", "yep", "salute", "bits", "gift",
                     "gifted", "sub", "raid"), _NEUTRAL),
}
CHANNEL_EMOTE_RE = r"[a-z][a-z0-9]{2,9}[A-Z][A-Za-z0-9_]*"

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
