"""Draw the chat dev set sample: stratified, fixed seed, ids only (the text stays in ../shared/data/chat).

  PYTHONPATH=. .venv/bin/python bench/devsets/sample_chat_messages.py [--out bench/devsets/chat_sample_ids.csv]
                                                                       [--seed 15] [--data-dir ../shared/data/chat]

Every message of each chat gets exactly one stratum, by the first rule that matches:
  command       starts with "!"
  non_english   has letters of a non-Latin script, or a non-English function word and no common English one
  copypasta     >= 6 words and the same text (case/spacing folded) is posted >= 2 times in that chat, or >= 25 words
  emote_only    every token is an emote (Twitch fragments of the v5 dump, a fixed list of global/BTTV/FFZ/7TV
                names, channel emotes by their `prefixCamel` shape, ASCII faces)
  question      contains "?"
  short_text    <= 3 tokens
  long_text     >= 12 tokens
  medium_text   the rest (only reached through the random remainder)
The second labelling pass relabels PASS2_SIZE of the sampled ids, drawn uniformly with the same seed
(`--pass2-out`), shown in shuffled order without the first labels.
The random remainder is drawn first, uniformly from all messages of a chat (so it shows the natural mix);
each stratum's quota is then drawn from the messages not yet taken, one message per distinct folded text
(so the stratum samples cover many different texts rather than 40 copies of "!norton"). The rules are our
own, fixed here, so the sample does not change when the project's lexicon does.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from chat_source import DATA_DIR, HERE, SOURCES, read_source  # noqa: E402

SEED = 15  # issue 15
PASS2_SIZE = 200
# Per chat: random remainder, then stratum quotas (taken while available).
QUOTAS = {
    "twitch_v5_1087079172.json": {
        "random": 130,
        "emote_only": 60,
        "short_text": 70,
        "long_text": 75,
        "question": 60,
        "command": 20,
        "copypasta": 40,
        "non_english": 30,
    },
    "fuslie_4h.txt": {
        "random": 230,
        "emote_only": 110,
        "short_text": 100,
        "long_text": 75,
        "question": 100,
        "command": 40,
        "copypasta": 60,
        "non_english": 40,
    },
}
STRATA = ("command", "non_english", "copypasta", "emote_only", "question", "short_text", "long_text", "medium_text")

KNOWN_EMOTES = set(
    """
KEKW KEK KEKL LUL LULW LuL OMEGALUL OMEGAROLL ICANT EleGiggle 4Head PepeLaugh pepeLaugh HahaSweat Kappa Kapp Keepo
Jebaited BBoomer FeelsDankMan haHAA Pog POG PogChamp POGGERS PogU Pogey POGSLIE POGGIES HYPERS PagChomp PagMan BIGWOW
SHEESH Kreygasm LETSGO PauseChamp monkaS monkaW MONKERS monkaGIGA WAYTOODANK KEKWait PogO Sadge sadge BibleThump
PepeHands FeelsBadMan FeelsGoodMan FeelsStrongMan NotLikeThis COPIUM Copium DansGame WutFace WeirdChamp DonoWall NOPERS
ResidentSleeper YEP MmmHmm PepoG Yoink EZ EZClap Clap peepoClap widepeepoHappy widepeepoSad peepoHappy peepoSad
catJAM ratJAM pepeD pepeJAM VibePls BOP SeemsGood VoteYea VoteNay KappaPride CoolCat OpieOP MiniK PoroChop
twitchRaid HeyGuys TPFufun GivePLZ TakeNRG PJSalt SMOrc TriHard CiGrip PepegaAim Pepega monkaHmm Hmm HYPERCLAP
PepeJam Stare Susge Aware Clueless forsenCD AYAYA RPGAyaya NODDERS NOPERS peepoLeave peepoArrive FeelsOkayMan
KomodoHype PopCorn CurseLit GlitchCat bleedPurple PrideLove HolidayCookie
""".split()
)
_CHANNEL_EMOTE = re.compile(r"^[a-z][a-z0-9]{1,11}[A-Z0-9][A-Za-z0-9_]*$")  # fusComfy, monkaS, lionBaby_TK, moon2W
_FACES = {
    "<3",
    ":)",
    ":(",
    ":D",
    "D:",
    ":O",
    ":o",
    ":/",
    ":|",
    ":P",
    ":p",
    ";)",
    ";P",
    "B)",
    "R)",
    "o7",
    ">(",
    "xD",
    "XD",
}
_NON_LATIN = re.compile(
    r"[\u0370-\u03FF\u0400-\u04FF\u0590-\u06FF\u0900-\u0DFF\u0E00-\u0E7F\u1100-\u11FF"
    r"\u3040-\u30FF\u3400-\u9FFF\uAC00-\uD7AF]"
)
_FOREIGN = set(
    """que por para como pero muy esta está estoy eres tengo bueno buena hola gracias amigo jaja jajaja
jajajaja vamos não sim você voce obrigado obrigada tudo bom boa muito também tambem bonjour merci oui avec pour
c'est très tres danke und nicht ist ich bin das wie guten jeg og ikke hej niet een het ook goed kurwa bardzo dobrze
jest privet spasibo ciao grazie sono anche bene molto""".split()
)
_ENGLISH = set("the is you and to it i a of this that in my so what she he her his we they are was be have".split())
_INVISIBLE = re.compile(r"[\U000E0000-\U000E007F\u200b-\u200f\u2060\ufeff]")


def tokens(text: str) -> list[str]:
    return _INVISIBLE.sub("", text).split()


def fold(text: str) -> str:
    return " ".join(tokens(text.lower()))


def is_emote(tok: str, fragments: set[str]) -> bool:
    return tok in fragments or tok in KNOWN_EMOTES or tok in _FACES or bool(_CHANNEL_EMOTE.match(tok))


def strata(frame: pd.DataFrame) -> pd.Series:
    """One stratum per message (rules in the module docstring)."""
    fragments = {e for es in frame["emotes"] for e in es.split()}
    folded = frame["message"].map(fold)
    repeats = folded.map(folded.value_counts())
    out = []
    for text, _folded, n in zip(frame["message"], folded, repeats):
        toks = tokens(text)
        words = [re.sub(r"[^\w']", "", t.lower()) for t in toks]
        if not toks:
            out.append("medium_text")  # empty; never drawn by a stratum (only by chance in random)
        elif toks[0].startswith("!"):
            out.append("command")
        elif _NON_LATIN.search(text) or (set(words) & _FOREIGN and not set(words) & _ENGLISH):
            out.append("non_english")
        elif (len(toks) >= 6 and n >= 2) or len(toks) >= 25:
            out.append("copypasta")
        elif all(is_emote(t, fragments) for t in toks):
            out.append("emote_only")
        elif "?" in text:
            out.append("question")
        elif len(toks) <= 3:
            out.append("short_text")
        elif len(toks) >= 12:
            out.append("long_text")
        else:
            out.append("medium_text")
    return pd.Series(out, index=frame.index)


def sample(data_dir: Path = DATA_DIR, seed: int = SEED) -> pd.DataFrame:
    picked = []
    for si, source in enumerate(SOURCES):
        frame = read_source(source, data_dir)
        frame = frame[frame["message"].map(tokens).str.len() > 0].copy()
        frame["stratum"] = strata(frame)
        rng = np.random.default_rng([seed, si])
        quota = QUOTAS[source]
        rand = frame.loc[rng.choice(frame.index.to_numpy(), size=quota["random"], replace=False)]
        rows = [rand.assign(stratum="random")]
        rest = frame.drop(index=rand.index)
        for name in STRATA:
            if name not in quota:
                continue
            pool = rest[rest["stratum"] == name]
            pool = pool.loc[rng.permutation(pool.index.to_numpy())]
            pool = pool[~pool["message"].map(fold).duplicated()]
            rows.append(pool.head(quota[name]))
        got = pd.concat(rows)
        picked.append(got)
        counts = got["stratum"].value_counts().to_dict()
        print(
            f"{source}: {len(frame)} messages, strata {frame['stratum'].value_counts().to_dict()}; "
            f"sampled {len(got)} {counts}",
            file=sys.stderr,
        )
    out = pd.concat(picked, ignore_index=True)
    return out[["source", "message_id", "stratum"]]


def pass2_ids(ids: pd.DataFrame, seed: int = SEED, size: int = PASS2_SIZE) -> pd.DataFrame:
    """The fixed random subset of the sample that is labelled a second time, in the order it is shown."""
    rng = np.random.default_rng([seed, 2])
    return ids.iloc[rng.choice(len(ids), size=size, replace=False)][["source", "message_id", "stratum"]]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=HERE / "chat_sample_ids.csv")
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--data-dir", type=Path, default=DATA_DIR)
    ap.add_argument("--pass2-out", type=Path, help="also write the ids of the second labelling pass here")
    args = ap.parse_args(argv)
    ids = sample(args.data_dir, args.seed)
    if args.pass2_out:
        pass2_ids(ids, args.seed).to_csv(args.pass2_out, index=False)
        print(f"wrote {PASS2_SIZE} second-pass ids to {args.pass2_out}", file=sys.stderr)
    ids.to_csv(args.out, index=False)
    print(f"wrote {len(ids)} ids to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
