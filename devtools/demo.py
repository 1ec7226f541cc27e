"""Deterministic generator of the demo VOD in `data/demo/`.

Writes a ~4 minute low-resolution video whose audio is a flite-synthesised conversation between a streamer
and a co-host with planted moments (an excited stretch, a shout, laughter, a rage scream), a chat log in
TwitchDownloader-compatible JSON whose bursts follow those moments by a seeded reaction lag, one chat-only
distractor burst (spam from few users), and `truth.json` saying what was planted where and what was said when.

Run: `.venv/bin/python -m devtools.demo --out data/demo` (needs `flite` and an ffmpeg with drawtext).
The generated files are committed, so a user's run needs neither tool.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import re
import shutil
import subprocess
import tempfile
import wave
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.signal import lfilter, resample_poly

from klipstream.errors import KlipError
from klipstream.io import atomic_open, atomic_path, write_json
from klipstream.media import run_ffmpeg

log = logging.getLogger(__name__)

SEED = 20261125
DURATION = 240.0
SR = 16_000
STREAMER_VOICE = "slt"
COHOST_VOICE = "rms"  # chosen with bench/demo_wer.py (see README, "The demo VOD")
STREAMER, COHOST = "Riley", "Sam"
CHANNEL = "klipstream_demo"
VOD_START = dt.datetime(2026, 11, 20, 18, 0, 0, tzinfo=dt.UTC)

# Levels in dBFS (RMS over the utterance). Ordinary talk sits at SPEECH_DB; planted moments are louder.
SPEECH_DB = -24.0
NOISE_DB = -45.0

# Twitch global emotes (ids as in real Twitch logs / the 2017 global emote list).
TWITCH_EMOTES = {
    "Kappa": "25",
    "PogChamp": "305954156",
    "LUL": "425618",
    "BibleThump": "86",
    "NotLikeThis": "58765",
    "WutFace": "28087",
    "Kreygasm": "41",
    "SeemsGood": "64138",
    "<3": "555555584",
    "4Head": "354",
    "DansGame": "33",
    "ResidentSleeper": "245",
    "HeyGuys": "30259",
    "FailFish": "360",
    "BloodTrail": "69",
    "CoolStoryBob": "123171",
    "Jebaited": "114836",
    "EleGiggle": "4339",
}

# ---------------------------------------------------------------------------------------------- script
# Ordinary conversation as exchanges (placed whole, in order). Plain words the offline recogniser knows.
SCRIPT: list[list[tuple[str, str]]] = [
    [("S", "hey chat, welcome back to the stream"), ("C", "hello everyone, good to be here again")],
    [
        ("S", "today we are going to try to finish the last world"),
        ("C", "we have been stuck on this level for two days"),
    ],
    [
        ("S", "i think we can do it tonight, i have a good feeling"),
        ("C", "you said that yesterday"),
        ("S", "yeah, but yesterday i was tired"),
    ],
    [("C", "let me check the map first"), ("S", "okay, the door is on the left side")],
    [("C", "careful, there is a guard near the bridge")],
    [("S", "thanks for the follow, welcome to the channel")],
    [("C", "do we need more health potions"), ("S", "i have three, that should be enough")],
    [("C", "the boss hits really hard in the second phase"), ("S", "we will dodge to the right this time")],
    [
        ("C", "somebody in chat says we should use the bow"),
        ("S", "the bow is too slow, i like the sword"),
        ("C", "okay, your choice, but i warned you"),
    ],
    [
        ("S", "let me read chat for a second"),
        ("C", "they want to know what time we stream tomorrow"),
        ("S", "same time as today, around six in the evening"),
    ],
    [
        ("C", "there is a chest behind that wall"),
        ("S", "i see it, let me open it"),
        ("C", "nice, that is a rare shield"),
        ("S", "this is much better than the old one"),
    ],
    [("C", "we should save the game before the next room"), ("S", "good idea, saving now")],
    [("C", "the music in this part is really good"), ("S", "i know, i listen to it when i work")],
    [("C", "watch the floor, some of these tiles fall"), ("S", "i remember, i fell here last time")],
    [("C", "jump now, then wait for the platform"), ("S", "okay, we made it across")],
    [("C", "chat is asking about your settings"), ("S", "the settings are in the description below")],
    [
        ("C", "there are two more keys in this area"),
        ("S", "one is up the stairs, i think"),
        ("C", "and the other one is under the water"),
    ],
    [("S", "i hate the water levels so much"), ("C", "everybody hates the water levels")],
    [("S", "thank you for the five gifted subs"), ("C", "that is very kind, thank you")],
    [("C", "the boss room is right after this hall"), ("S", "let me heal up before we go in")],
    [("S", "let us go down to the lower room"), ("C", "there are three enemies waiting for us")],
    [("S", "i will take the one on the left"), ("C", "i will cover you from the back")],
    [
        ("S", "that went better than i expected"),
        ("C", "we are getting good at this game"),
        ("S", "do not say that, it is bad luck"),
    ],
    [("S", "okay, next time we win"), ("C", "we need to be more careful")],
    [
        ("S", "chat, tell me if you see anything strange"),
        ("C", "a lot of people are saying hello"),
        ("S", "hello to everyone who just joined"),
    ],
    [("C", "the next checkpoint is not far")],
    [("S", "let us take a short break after this part"), ("C", "good plan, i need some water")],
    [("S", "one more try and then we rest"), ("C", "this time we will get it")],
]

# Said at the very end of the stream.
CLOSING: list[tuple[str, str]] = [
    ("S", "thank you all for watching tonight"),
    ("C", "see you all tomorrow"),
    ("S", "bye chat"),
]

# Short lines used to fill gaps that no script line fits into.
FILLERS: list[tuple[str, str]] = [
    ("S", "okay"),
    ("C", "right"),
    ("S", "let me see"),
    ("C", "yeah"),
    ("S", "nice"),
    ("C", "good"),
    ("S", "alright"),
    ("C", "okay then"),
    ("S", "hold on"),
    ("C", "go on"),
]


@dataclass
class Part:
    speaker: str  # "S" or "C"
    text: str
    level_db: float = SPEECH_DB
    stretch: float | None = None  # flite duration_stretch (< 1 is faster)
    f0: float | None = None  # flite int_f0_target_mean in Hz
    f0_std: float | None = None
    offset: float = 0.0  # seconds after the previous part ends (may be negative to overlap)
    shout: bool = False  # soft-clip to sound strained


@dataclass
class Moment:
    id: str
    kind: str  # excited | shout | laughter | rage
    nominal: float  # planned start in seconds (jittered by the seed)
    description: str
    chat: str  # which emote pool the chat burst uses
    caption: str  # shown on the video while the moment lasts
    lead: list[tuple[str, str]] = field(default_factory=list)  # ordinary lines right before the event
    parts: list[Part] = field(default_factory=list)
    after: list[tuple[str, str]] = field(default_factory=list)  # ordinary reaction lines right after


def _f0(speaker: str, female: float, male: float, voices: dict[str, str]) -> float:
    return female if voices[speaker] == "slt" else male


def moments_plan(voices: dict[str, str]) -> list[Moment]:
    """The planted moments. Pitch targets depend on the voice (slt is female, the others male)."""
    hi = lambda sp: _f0(sp, 290.0, 190.0, voices)  # noqa: E731
    return [
        Moment(
            "m1",
            "excited",
            30.0,
            "excited fast speech with raised pitch: a clutch win",
            "hype",
            "CLUTCH!",
            lead=[("C", "one enemy left, it is all on you")],
            parts=[
                Part("S", "no way, no way, did you see that", -19, 0.72, hi("S"), 45, 0.1),
                Part("C", "that was amazing, that was so fast", -19, 0.72, hi("C"), 40, 0.15),
                Part("S", "let us go, let us go, we did it", -18, 0.7, hi("S"), 50, 0.1),
                Part("C", "i can not believe that worked", -19, 0.72, hi("C"), 40, 0.1),
            ],
            after=[("S", "okay, okay, i need to calm down")],
        ),
        Moment(
            "m2",
            "shout",
            77.0,
            "a sudden loud shout: a monster jumps out",
            "scare",
            "AAAH!",
            lead=[("C", "it is really quiet in this room")],
            parts=[Part("S", "watch out, behind you", -8, 0.95, hi("S") + 20, 60, 0.2, shout=True)],
            after=[("C", "you scared me more than the monster")],
        ),
        Moment(
            "m3",
            "laughter",
            150.0,
            "both hosts laugh loudly: the co-host walked off the map",
            "laugh",
            "HA HA HA",
            lead=[("C", "wait, where did the floor go"), ("S", "you just walked off the map")],
            parts=[
                Part("C", "ha ha ha ha ha ha", -13, 1.2, _f0("C", 300, 170, voices), 60),
                Part("S", "ha, ha, ha, ha", -13, 1.0, _f0("S", 330, 200, voices), 70, -0.8),
                Part("C", "ha ha ha ha", -12, 1.1, _f0("C", 340, 215, voices), 70, -0.2),
                Part("S", "ha ha ha ha ha ha", -12, 1.2, _f0("S", 360, 225, voices), 80, -0.6),
                Part("C", "ha, ha, ha", -13, 1.0, _f0("C", 320, 190, voices), 60, -0.3),
            ],
            after=[("C", "i did not see the hole at all")],
        ),
        Moment(
            "m4",
            "rage",
            197.0,
            "a rage scream after losing to the boss with one hit left",
            "fail",
            "NOOOO!",
            lead=[
                ("C", "remember the plan, dodge to the right"),
                ("S", "i will go in first"),
                ("C", "the boss has almost no health left"),
            ],
            parts=[
                Part("S", "no, no, no", -9, 1.6, hi("S") + 30, 70, 0.2, shout=True),
                Part("S", "ah", -8, 3.0, hi("S") + 60, 80, 0.05, shout=True),
                Part("S", "why, i was one hit away", -10, 0.85, hi("S"), 60, 0.05, shout=True),
            ],
            after=[("C", "that hurts, we were so close")],
        ),
    ]


# ------------------------------------------------------------------------------------------------ audio
def _db_to_amp(db: float) -> float:
    return float(10.0 ** (db / 20.0))


def rms_db(x: np.ndarray) -> float:
    return float(20 * np.log10(np.sqrt(np.mean(np.square(x, dtype=np.float64))) + 1e-12))


class Synth:
    """flite wrapper with a cache; returns float32 mono at 16 kHz with leading/trailing silence trimmed."""

    def __init__(self, workdir: Path):
        if shutil.which("flite") is None:
            raise KlipError("flite not found: the demo generator needs Debian's `flite` (apt-get install flite)")
        self.workdir, self.cache, self.n = workdir, {}, 0

    def __call__(self, text: str, voice: str, stretch=None, f0=None, f0_std=None) -> np.ndarray:
        key = (text, voice, stretch, f0, f0_std)
        if key not in self.cache:
            self.n += 1
            out = self.workdir / f"u{self.n}.wav"
            cmd = ["flite", "-voice", voice]
            for name, val in (
                ("duration_stretch", stretch),
                ("int_f0_target_mean", f0),
                ("int_f0_target_stddev", f0_std),
            ):
                if val is not None:
                    cmd += ["--setf", f"{name}={val}"]
            proc = subprocess.run([*cmd, "-t", text, "-o", str(out)], capture_output=True, text=True)
            if proc.returncode != 0:
                raise KlipError(f"flite failed on {text!r} with voice {voice}: {proc.stderr.strip()[-200:]}")
            with wave.open(str(out), "rb") as w:
                rate = w.getframerate()
                x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768.0
            if rate != SR:
                x = resample_poly(x, SR, rate).astype(np.float32)
            self.cache[key] = _trim(x)
        return self.cache[key]


def _trim(x: np.ndarray, floor_db: float = -50.0, keep: float = 0.02) -> np.ndarray:
    """Cut flite's leading/trailing silence so line times in truth.json are where speech is."""
    frame = int(0.01 * SR)
    n = len(x) // frame
    env = np.sqrt(np.mean(np.square(x[: n * frame].reshape(n, frame)), axis=1) + 1e-12)
    loud = np.flatnonzero(20 * np.log10(env) > floor_db)
    if loud.size == 0:
        return x
    pad = int(keep * SR)
    return x[max(0, loud[0] * frame - pad) : min(len(x), (loud[-1] + 1) * frame + pad)]


def _level(x: np.ndarray, db: float, shout: bool) -> np.ndarray:
    y = x * _db_to_amp(db - rms_db(x))
    if shout:  # strained voice: soft clipping keeps the peak in range and adds harshness
        y = np.tanh(1.6 * y) / np.tanh(1.6)
        y *= _db_to_amp(db - rms_db(y))
    return np.clip(y, -0.89, 0.89)  # about -1 dBFS, so AAC overshoot does not clip


@dataclass
class Placed:
    speaker: str
    voice: str
    start: float
    end: float
    text: str
    moment: str | None = None


def build_audio(
    rng: np.random.Generator, voices: dict[str, str], synth: Synth, duration: float = DURATION
) -> tuple[np.ndarray, list[Placed], list[dict]]:
    """Lay out the conversation around the planted moments and mix it over a noise floor."""
    mix = np.zeros(int(round(duration * SR)), dtype=np.float64)
    placed: list[Placed] = []

    def put(sp: str, text: str, t: float, part: Part | None = None, moment: str | None = None) -> float:
        p = part or Part(sp, text)
        x = synth(text, voices[sp], p.stretch, p.f0, p.f0_std)
        x = _level(x, p.level_db, p.shout)
        i = int(round(t * SR))
        x = x[: max(0, len(mix) - i)]
        mix[i : i + len(x)] += x
        end = t + len(x) / SR
        placed.append(Placed(sp, voices[sp], round(t, 3), round(end, 3), text, moment))
        return end

    def dur(sp: str, text: str) -> float:
        return len(synth(text, voices[sp])) / SR

    def pause() -> float:
        return float(rng.uniform(0.35, 1.1))

    moments = moments_plan(voices)
    starts = [m.nominal + float(rng.uniform(-1.5, 1.5)) for m in moments]
    script = list(SCRIPT)
    fillers = list(FILLERS)
    cursor = 1.5
    truth_moments = []

    def fill_until(limit: float) -> None:
        nonlocal cursor
        # exchanges stay whole so a question is not answered after an unrelated moment
        while script and cursor + sum(dur(*line) + 0.8 for line in script[0]) <= limit + 0.8:
            for sp, text in script.pop(0):
                cursor = put(sp, text, cursor) + pause()
        # a gap no script line fits into: a short filler, if one fits
        while limit - cursor > 2.0 and fillers:
            fit = [f for f in fillers if cursor + dur(*f) <= limit - 0.3]
            if not fit:
                break
            fillers.remove(fit[0])
            cursor = put(*fit[0], cursor) + pause()

    for m, start in zip(moments, starts):
        lead_len = sum(dur(sp, text) + 0.5 for sp, text in m.lead)
        fill_until(start - lead_len - 0.4)
        t = start - lead_len
        if placed and t < placed[-1].end:  # would talk over the previous line: refuse rather than garble
            raise KlipError(f"demo plan: moment {m.id} lead-in overlaps speech at {t:.1f} s; try another --seed")
        for sp, text in m.lead:
            t = put(sp, text, t) + 0.5
        t = start
        first = len(placed)
        for k, part in enumerate(m.parts):
            t = put(part.speaker, part.text, t + (part.offset if k else 0.0), part, moment=m.id)
        ev = placed[first:]
        m_start, m_end = min(p.start for p in ev), max(p.end for p in ev)
        cursor = m_end + 0.6
        for sp, text in m.after:
            cursor = put(sp, text, cursor) + pause()
        truth_moments.append({"moment": m, "start": m_start, "end": m_end})
    closing = sum(dur(*line) + 0.6 for line in CLOSING)
    fill_until(duration - 1.0 - closing)
    cursor = max(cursor, duration - 1.0 - closing)
    for sp, text in CLOSING:
        cursor = put(sp, text, cursor) + 0.6

    # Peaks are measured on the speech mix (before noise): the loudest 50 ms frame inside each moment.
    frame = int(0.05 * SR)
    for tm in truth_moments:
        a, b = int(tm["start"] * SR), int(tm["end"] * SR)
        seg = mix[a:b]
        n = len(seg) // frame
        env = np.sqrt(np.mean(np.square(seg[: n * frame].reshape(n, frame)), axis=1))
        tm["peak"] = round(tm["start"] + (int(np.argmax(env)) + 0.5) * 0.05, 2)

    noise = room_tone(rng, len(mix))
    audio = np.clip(mix + noise, -1.0, 1.0).astype(np.float32)
    placed.sort(key=lambda p: p.start)
    return audio, placed, truth_moments


def room_tone(rng: np.random.Generator, n: int) -> np.ndarray:
    """Noise floor at NOISE_DB: low-frequency room rumble (leaky-integrated noise) plus a faint white hiss.

    Broadband white noise at -45 dBFS tripled pocketsphinx's WER on flite speech (0.07 -> 0.62 on the first
    lines); a rumble-dominated floor keeps silence from being digital zero without hiding the words."""
    rumble = lfilter([1.0], [1.0, -0.995], rng.standard_normal(n))
    rumble *= _db_to_amp(NOISE_DB - 0.5) / np.sqrt(np.mean(rumble**2))
    hiss = rng.standard_normal(n) * _db_to_amp(NOISE_DB - 15.0)
    return rumble + hiss


def write_wav(path: Path, x: np.ndarray) -> None:
    with atomic_path(path) as tmp, wave.open(str(tmp), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SR)
        w.writeframes((np.clip(x, -1, 1) * 32767).astype("<i2").tobytes())


# ------------------------------------------------------------------------------------------------ video
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"


def render_video(wav: Path, out: Path, moments: list[dict], duration: float) -> None:
    """Flat background, big title, running clock; a yellow flash and caption while each moment plays; the
    streamer's facecam in the bottom-left corner (devtools/facecam.py: scikit-image's astronaut photograph)."""
    from devtools.facecam import face_png, facecam_box, h264_args, overlay_args

    font = f"fontfile={FONT}:" if Path(FONT).is_file() else ""
    filters = [
        f"drawtext={font}text='klipstream demo':fontsize=34:fontcolor=white:x=(w-text_w)/2:y=50",
        f"drawtext={font}text='%{{pts\\:hms}}':fontsize=26:fontcolor=0xffd166:x=(w-text_w)/2:y=120",
        f"drawtext={font}text='{STREAMER} and {COHOST} play a game':fontsize=14:fontcolor=0xbbbbbb:"
        "x=(w-text_w)/2:y=200",
    ]
    for tm in moments:  # flash under the text, caption on top
        a, b = tm["start"], max(tm["end"], tm["start"] + 1.5)
        filters.insert(0, f"drawbox=x=0:y=0:w=iw:h=ih:color=0xffd166@0.55:t=fill:enable='between(t,{a:.2f},{b:.2f})'")
        filters.append(
            f"drawtext={font}text='{tm['moment'].caption}':fontsize=40:fontcolor=0xef476f:"
            f"x=(w-text_w)/2:y=155:enable='between(t,{a:.2f},{b:.2f})'"
        )
    with atomic_path(out) as tmp, tempfile.TemporaryDirectory() as work:
        face, cam = overlay_args(facecam_box(426, 240), 5, face_png(Path(work) / "face.png"), base="[bg]")
        run_ffmpeg(
            [
                "-f",
                "lavfi",
                "-i",
                f"color=c=0x1d2b53:s=426x240:r=5:d={duration}",
                *face,
                "-i",
                str(wav),
                "-filter_complex",
                f"[0:v]{','.join(filters)}[bg];{cam}",
                "-map",
                "[v]",
                "-map",
                "2:a",
                "-t",
                f"{duration}",
                *h264_args("veryslow", 30, tune="stillimage"),
                "-c:a",
                "aac",
                "-b:a",
                "48k",
                "-ar",
                "24000",
                "-ac",
                "1",
                "-flags:a",
                "+bitexact",
                "-movflags",
                "+faststart",
                str(tmp),
            ],
            what=f"demo video {out}",
        )


# ------------------------------------------------------------------------------------------------- chat
GREETINGS = [
    "hi chat",
    "hello {s}",
    "hey {s} and {c}",
    "yo",
    "hi everyone",
    "good evening",
    "just got here",
    "hey hey HeyGuys",
    "hello from germany",
    "first time here, hi",
    "evening all",
    "sup",
]
QUESTIONS = [
    "what game is this",
    "how long have you been playing",
    "what rank is this",
    "is this the last world",
    "what are your settings",
    "when is the next stream",
    "is {c} on mic",
    "what keyboard is that",
    "how many deaths so far",
    "is this the hard mode",
    "what time is it there",
]
BACKSEAT = [
    "go left",
    "use the bow",
    "check the corner",
    "you missed a chest",
    "save the game first",
    "dodge right!",
    "heal before the boss",
    "the key is under the water",
    "jump earlier",
    "dont forget the potion",
    "behind the wall",
    "you should upgrade the shield",
]
CHATTER = [
    "nice",
    "gg",
    "this music is so good",
    "lol",
    "love this game",
    "{c} is carrying",
    "good run so far",
    "so smooth",
    "that looked easy",
    "ok that was clean",
    "the boss is coming up",
    "i remember this part",
    "nice shield",
    "chat is slow today",
    "any drops today?",
    "{s} you got this",
    "great stream as always",
    "lurking",
    "this level is hard",
    "the water level is the worst",
]
EMOTE_LINES = [
    "Kappa",
    "LUL",
    "SeemsGood",
    "<3",
    "Kreygasm",
    "4Head",
    "Kappa Kappa",
    "SeemsGood nice",
    "ResidentSleeper",
    "<3 <3",
    "CoolStoryBob",
]
BURSTS = {
    "hype": [
        "PogChamp",
        "Pog",
        "POGGERS",
        "PogChamp PogChamp",
        "LETS GOOO",
        "NO WAY",
        "CLIP IT",
        "Pog Pog Pog",
        "insane",
        "POGGERS POGGERS",
        "WHAT A PLAY PogChamp",
        "clip that",
        "clutch!!",
        "PogChamp CLUTCH",
        "omg",
        "Pog",
        "HOLY",
        "LETS GO {s}",
        "Kreygasm",
    ],
    "scare": [
        "monkaS",
        "WutFace",
        "LMAO",
        "MY EARS",
        "WHAT WAS THAT!!!",
        "monkaS monkaS",
        "WutFace WutFace",
        "LMAO the scream",
        "JUMPSCARE",
        "I JUMPED",
        "AAAAH",
        "monkaS",
        "LMAO",
        "my headphones!!!",
        "WutFace LMAO",
        "OMEGALUL",
    ],
    "laugh": [
        "KEKW",
        "LUL",
        "OMEGALUL",
        "LMAO",
        "hahaha",
        "KEKW KEKW",
        "LULW",
        "im dying",
        "LUL LUL LUL",
        "OMEGALUL he walked off",
        "KEKW the laugh",
        "lmaooo",
        "4Head",
        "LUL",
        "KEKW",
        "{c} OMEGALUL",
    ],
    "fail": [
        "NotLikeThis",
        "BibleThump",
        "F",
        "F F F",
        "unlucky",
        "NotLikeThis NotLikeThis",
        "rip",
        "KEKW",
        "one hit BibleThump",
        "so close",
        "F",
        "noooo",
        "NotLikeThis so close",
        "FailFish",
        "LUL threw",
        "pain",
    ],
}
COPYPASTA = "Wanna become famous? Buy followers, primes and viewers on bigfollows dot com"
PASTA_2 = "{s} is my favourite streamer, I watch every day, I like the game, I like the chat, I like {c} too"
COMMANDS = ["!uptime", "!discord", "!specs", "!sens", "!uptime", "!socials"]
BOT_REPLY = {
    "!uptime": "klipstream_demo has been live for {m} minutes",
    "!discord": "Join the discord: discord dot gg slash demo",
    "!specs": "PC specs are in the panels below",
    "!sens": "800 dpi, 0.4 in game",
    "!socials": "Follow on all socials @klipstream_demo",
}

_ADJ = [
    "Pixel",
    "Salty",
    "Happy",
    "Lazy",
    "Cosmic",
    "Turbo",
    "Sneaky",
    "Frosty",
    "Mega",
    "Tiny",
    "Shadow",
    "Lucky",
    "Crispy",
    "Silent",
    "Fuzzy",
    "Rapid",
    "Sleepy",
    "Golden",
    "Noisy",
    "Brave",
]
_NOUN = [
    "Panda",
    "Goose",
    "Wizard",
    "Potato",
    "Falcon",
    "Noodle",
    "Knight",
    "Otter",
    "Cactus",
    "Tiger",
    "Muffin",
    "Ranger",
    "Pickle",
    "Badger",
    "Comet",
    "Waffle",
    "Viking",
    "Llama",
    "Ghost",
    "Raccoon",
]
_COLORS = [
    "#FF0000",
    "#0000FF",
    "#008000",
    "#B22222",
    "#FF7F50",
    "#9ACD32",
    "#FF4500",
    "#2E8B57",
    "#DAA520",
    "#D2691E",
    "#5F9EA0",
    "#1E90FF",
    "#FF69B4",
    "#8A2BE2",
    "#00FF7F",
]


def make_users(rng: np.random.Generator, n: int = 60) -> list[dict]:
    names: set[str] = set()
    while len(names) < n:
        style = rng.integers(0, 3)
        base = f"{rng.choice(_ADJ)}{rng.choice(_NOUN)}"
        names.add(base + (str(rng.integers(1, 999)) if style else "") if style != 2 else base.lower() + "_tv")
    users = []
    for name in sorted(names):
        badges = []
        if rng.random() < 0.45:
            badges.append({"_id": "subscriber", "version": str(int(rng.choice([0, 3, 6, 12, 24])))})
        users.append(
            {
                "name": name,
                "id": str(int(rng.integers(10_000_000, 900_000_000))),
                "color": None if rng.random() < 0.15 else str(rng.choice(_COLORS)),
                "badges": badges,
            }
        )
    users[0]["badges"].insert(0, {"_id": "moderator", "version": "1"})
    users[1]["badges"].insert(0, {"_id": "vip", "version": "1"})
    return users


def _fmt(text: str) -> str:
    return text.format(s=STREAMER, c=COHOST, m="{m}")


def _activity(rng: np.random.Generator, n: int) -> np.ndarray:
    """Zipf-like chat activity: a few regulars talk a lot, most users rarely (as in real chat)."""
    w = 1.0 / np.arange(1, n + 1) ** 0.8
    w = w[rng.permutation(n)]
    return w / w.sum()


def build_chat(rng: np.random.Generator, moments: list[dict], distractor: dict, duration: float) -> list[dict]:
    """Return messages (dicts with t, user, body) sorted by time."""
    users = make_users(rng)
    act = _activity(rng, len(users))
    msgs: list[dict] = []

    # Ordinary chatter: Poisson arrivals at ~0.7 msg/s, more greetings in the first two minutes.
    n = rng.poisson(0.7 * duration)
    times = np.sort(rng.uniform(0.5, duration - 0.5, n))
    who = rng.choice(len(users), size=n, p=act)
    cat = rng.choice(5, size=n, p=[0.16, 0.16, 0.2, 0.36, 0.12])
    cat = np.where((times > 120) & (cat == 0), 3, cat)
    pools = [GREETINGS, QUESTIONS, BACKSEAT, CHATTER, EMOTE_LINES]
    for t, u, c in zip(times, who, cat):
        msgs.append({"t": float(t), "user": users[u], "body": _fmt(str(rng.choice(pools[c])))})

    # Reaction bursts: many distinct users, emotes matching the moment.
    for tm in moments:
        b0, b1 = tm["burst_start"], tm["burst_end"]
        k = int(round(tm["burst_rate"] * (b1 - b0)))
        times = b0 + (b1 - b0) * rng.beta(1.2, 1.6, k)
        who = rng.choice(len(users), size=k, p=(act + 1.0 / len(users)) / 2)  # flatter: lurkers join in
        for t, u in zip(times, who):
            msgs.append({"t": float(t), "user": users[u], "body": _fmt(str(rng.choice(BURSTS[tm["moment"].chat])))})

    # Distractor: about as many messages as a burst but from few users (copypasta/promo + a !command flood).
    d0, d1 = distractor["start"], distractor["end"]
    spammers = [
        {"name": "bigfollows_promo", "id": "987654321", "color": None, "badges": []},
        users[int(rng.integers(2, 30))],
        users[int(rng.integers(30, 60))],
    ]
    commanders = [users[i] for i in rng.choice(np.arange(2, 60), size=3, replace=False)]
    bot = {"name": "Nightbot", "id": "19264788", "color": "#7C7CE1", "badges": [{"_id": "moderator", "version": "1"}]}
    k = distractor["messages"]
    times = np.sort(rng.uniform(d0, d1, k))
    kinds = rng.choice(3, size=k, p=[0.5, 0.35, 0.15])
    for t, kind in zip(times, kinds):
        if kind == 0:
            sp = spammers[int(rng.integers(0, len(spammers)))]
            body = COPYPASTA if sp["name"] == "bigfollows_promo" else _fmt(PASTA_2)
            msgs.append({"t": float(t), "user": sp, "body": body})
        elif kind == 1:
            msgs.append({"t": float(t), "user": commanders[int(rng.integers(0, 3))], "body": str(rng.choice(COMMANDS))})
        else:
            cmd = str(rng.choice(COMMANDS))
            msgs.append({"t": float(t), "user": bot, "body": BOT_REPLY[cmd].replace("{m}", str(int(t // 60) + 12))})
    msgs.sort(key=lambda m: m["t"])
    return msgs


def _fragments(body: str) -> tuple[list[dict], list[dict]]:
    """Split a message into text/emote fragments and emoticon ranges (inclusive end, as in Twitch logs)."""
    frags: list[dict] = []
    ranges: list[dict] = []
    pos, text = 0, ""
    for tok in re.split(r"( )", body):
        if tok in TWITCH_EMOTES:
            if text:
                frags.append({"text": text, "emoticon": None})
                text = ""
            frags.append({"text": tok, "emoticon": {"emoticon_id": TWITCH_EMOTES[tok]}})
            ranges.append({"_id": TWITCH_EMOTES[tok], "begin": pos, "end": pos + len(tok) - 1})
        else:
            text += tok
        pos += len(tok)
    if text:
        frags.append({"text": text, "emoticon": None})
    return frags, ranges


def _iso(t: float) -> str:
    return (VOD_START + dt.timedelta(seconds=t)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def write_chat(path: Path, msgs: list[dict], duration: float, rng: np.random.Generator) -> None:
    """TwitchDownloader-compatible JSON, one comment per line so the file streams."""
    header = {
        "FileInfo": {
            "Version": {"Major": 1, "Minor": 3, "Patch": 0},
            "CreatedAt": _iso(duration + 60),
            "UpdatedAt": _iso(duration + 60),
        },
        "streamer": {"name": CHANNEL, "id": 424242424},
        "video": {
            "title": "klipstream demo stream",
            "description": None,
            "id": "demo",
            "created_at": _iso(0),
            "start": 0,
            "end": int(round(duration)),
            "length": int(round(duration)),
            "viewCount": 137,
            "game": None,
            "chapters": [],
        },
    }
    ids = rng.integers(0, 2**63 - 1, size=len(msgs), dtype=np.int64)
    with atomic_open(path) as fh:
        head = json.dumps(header, ensure_ascii=False)[:-1]
        fh.write(head + ',\n"comments": [\n')
        for i, (m, cid) in enumerate(zip(msgs, ids)):
            frags, ranges = _fragments(m["body"])
            u = m["user"]
            c = {
                "_id": f"{int(cid):016x}",
                "created_at": _iso(m["t"]),
                "channel_id": "424242424",
                "content_type": "video",
                "content_id": "demo",
                "content_offset_seconds": round(m["t"], 3),
                "commenter": {"display_name": u["name"], "_id": u["id"], "name": u["name"].lower(), "logo": ""},
                "message": {
                    "body": m["body"],
                    "bits_spent": 0,
                    "fragments": frags,
                    "user_badges": u["badges"],
                    "user_color": u["color"],
                    "emoticons": ranges,
                },
            }
            fh.write(json.dumps(c, ensure_ascii=False) + (",\n" if i < len(msgs) - 1 else "\n"))
        fh.write('],\n"embeddedData": null}\n')


# --------------------------------------------------------------------------------------------- generate
def plan_chat(rng: np.random.Generator, truth_moments: list[dict], duration: float) -> dict:
    """Draw a distinct reaction lag, burst length and rate per moment, and place the distractor."""
    while True:
        lags = np.round(rng.uniform(5.0, 20.0, len(truth_moments)), 1)
        if np.min(np.diff(np.sort(lags))) >= 2.0:
            break
    for tm, lag in zip(truth_moments, lags):
        tm["lag"] = float(lag)
        tm["burst_start"] = round(tm["start"] + float(lag), 2)
        length = float(rng.uniform(10.0, 20.0))
        tm["burst_end"] = round(min(tm["burst_start"] + length, duration - 1.0), 2)
        tm["burst_rate"] = float(rng.uniform(4.0, 6.0))
    # The distractor sits in the quiet stretch between the 2nd burst and the 3rd moment.
    lo = truth_moments[1]["burst_end"] + 4.0
    length = float(rng.uniform(12.0, 15.0))
    hi = truth_moments[2]["start"] - 4.0 - length
    if hi < lo:
        raise KlipError("demo plan: no room for the distractor burst; move the planted moments")
    start = round(float(rng.uniform(lo, hi)), 2)
    sizes = [tm["burst_rate"] * (tm["burst_end"] - tm["burst_start"]) for tm in truth_moments]
    return {
        "kind": "chat_spam",
        "start": start,
        "end": round(start + length, 2),
        "messages": int(round(np.mean(sizes))),
    }


def generate(
    out_dir: str | Path, seed: int = SEED, cohost_voice: str = COHOST_VOICE, duration: float = DURATION
) -> dict:
    """Write demo.mp4, demo_chat.json and truth.json into out_dir; return the truth document."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    voices = {"S": STREAMER_VOICE, "C": cohost_voice}
    with tempfile.TemporaryDirectory(prefix="klipdemo-") as tmpdir:
        tmp = Path(tmpdir)
        log.info("synthesising speech (streamer %s, co-host %s)", voices["S"], voices["C"])
        audio, placed, tms = build_audio(np.random.default_rng([seed, 1]), voices, Synth(tmp), duration)
        wav = tmp / "demo.wav"
        write_wav(wav, audio)
        log.info("rendering video")
        render_video(wav, out_dir / "demo.mp4", tms, duration)
    distractor = plan_chat(np.random.default_rng([seed, 2]), tms, duration)
    msgs = build_chat(np.random.default_rng([seed, 3]), tms, distractor, duration)
    write_chat(out_dir / "demo_chat.json", msgs, duration, np.random.default_rng([seed, 4]))
    log.info("wrote %d chat messages", len(msgs))
    names = {"S": STREAMER, "C": COHOST}
    chat_t = np.array([m["t"] for m in msgs])
    truth = {
        "vod_id": "demo",
        "duration": duration,
        "seed": seed,
        "voices": {STREAMER: voices["S"], COHOST: voices["C"]},
        "moments": [
            {
                "id": tm["moment"].id,
                "kind": tm["moment"].kind,
                "start": round(tm["start"], 2),
                "end": round(tm["end"], 2),
                "peak": tm["peak"],
                "description": tm["moment"].description,
                "chat_lag_seconds": tm["lag"],
                "chat_burst": {
                    "start": tm["burst_start"],
                    "end": tm["burst_end"],
                    "messages": int(np.count_nonzero((chat_t >= tm["burst_start"]) & (chat_t < tm["burst_end"]))),
                },
            }
            for tm in tms
        ],
        "distractors": [
            {
                "kind": distractor["kind"],
                "start": distractor["start"],
                "end": distractor["end"],
                "description": "copypasta/promo spam from 3 users plus a !command flood; no audio event",
            }
        ],
        "lines": [
            {
                "speaker": names[p.speaker],
                "voice": p.voice,
                "start": p.start,
                "end": p.end,
                "text": p.text,
                "moment": p.moment,
            }
            for p in placed
        ],
    }
    write_json(out_dir / "truth.json", truth)
    return truth


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="data/demo", help="output folder (default data/demo)")
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--cohost-voice", default=COHOST_VOICE, help="flite voice of the co-host")
    ap.add_argument("--duration", type=float, default=DURATION)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        truth = generate(args.out, args.seed, args.cohost_voice, args.duration)
    except KlipError as exc:
        raise SystemExit(f"error: {exc}") from None
    for m in truth["moments"]:
        log.info(
            "%s %-8s %6.1f-%6.1f s peak %6.1f, chat lag %.1f s",
            m["id"],
            m["kind"],
            m["start"],
            m["end"],
            m["peak"],
            m["chat_lag_seconds"],
        )


if __name__ == "__main__":
    main()
