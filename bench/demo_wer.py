"""Word error rate of the offline recogniser (Whisper) on the demo VOD's audio against the script in truth.json.

    .venv/bin/python bench/demo_wer.py                       # the committed demo (data/demo)
    .venv/bin/python bench/demo_wer.py --voices awb,rms,kal16  # regenerate with each co-host voice, compare

Transcribes the 16 kHz mono audio with the offline backend in one call (`transcribe_offline`), then reports
the overall WER (word-level Levenshtein over normalised lower-case words) and a per-speaker WER, where each
recognised word is given to the script line whose time span contains its midpoint.
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from klipstream.io import read_json  # noqa: E402
from klipstream.media import extract_audio  # noqa: E402

log = logging.getLogger("demo_wer")


def normalise(text: str) -> list[str]:
    """Lower-case words; punctuation dropped, apostrophes kept inside words."""
    return re.findall(r"[a-z']+", text.lower().replace("-", " "))


def edit_distance(ref: list[str], hyp: list[str]) -> int:
    """Word-level Levenshtein distance (substitutions + deletions + insertions), one row at a time."""
    prev = np.arange(len(hyp) + 1)
    for i, r in enumerate(ref, 1):
        sub = prev[:-1] + (np.array(hyp, dtype=object) != r)
        best = np.concatenate([[i], np.minimum(sub, prev[1:] + 1)])  # match/substitution vs deletion
        # insertions chain left to right: cur[j] = min_k<=j best[k] + (j - k)
        steps = np.arange(len(hyp) + 1)
        prev = np.minimum.accumulate(best - steps) + steps
    return int(prev[-1])


def wer(ref: list[str], hyp: list[str]) -> float:
    return edit_distance(ref, hyp) / max(1, len(ref))


def decode(wav: Path) -> list[tuple[str, float, float]]:
    """(word, start, end) from the offline backend (Whisper, default settings, 2 threads) over the whole file."""
    from klipstream.transcribe.offline import transcribe_offline

    doc = transcribe_offline(wav, threads=2)
    return [(w["word"], w["start"], w["end"]) for w in doc["results"]["channels"][0]["alternatives"][0]["words"]]


def score(truth: dict, words: list[tuple[str, float, float]]) -> dict:
    lines = sorted(truth["lines"], key=lambda line: line["start"])
    ref = [w for line in lines for w in normalise(line["text"])]
    hyp = [w for w, _, _ in words]
    out = {"wer": wer(ref, hyp), "ref_words": len(ref), "hyp_words": len(hyp)}
    # per speaker: each hypothesis word goes to the line nearest its midpoint
    starts = np.array([line["start"] for line in lines])
    ends = np.array([line["end"] for line in lines])
    mids = np.array([(a + b) / 2 for _, a, b in words])
    dist = np.maximum(starts[None, :] - mids[:, None], 0) + np.maximum(mids[:, None] - ends[None, :], 0)
    owner = dist.argmin(axis=1) if len(words) else np.zeros(0, dtype=int)
    per: dict[str, list[int]] = {}
    for i, line in enumerate(lines):
        key = f"{line['speaker']} ({line['voice']})" + (" moments" if line.get("moment") else "")
        h = [words[j][0] for j in np.flatnonzero(owner == i)]
        r = normalise(line["text"])
        acc = per.setdefault(key, [0, 0])
        acc[0] += edit_distance(r, h)
        acc[1] += len(r)
    out["per_speaker"] = {k: round(e / max(1, n), 3) for k, (e, n) in sorted(per.items())}
    return out


def run(video: Path, truth_path: Path) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "audio.wav"
        extract_audio(video, wav)
        t0 = time.perf_counter()
        words = decode(wav)
        took = time.perf_counter() - t0
    res = score(read_json(truth_path), words)
    res["decode_seconds"] = round(took, 1)
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--demo", default=str(ROOT / "data" / "demo"), help="folder with demo.mp4 and truth.json")
    ap.add_argument("--voices", default="", help="comma-separated co-host voices: regenerate the demo with each")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if not args.voices:
        demo = Path(args.demo)
        res = run(demo / "demo.mp4", demo / "truth.json")
        log.info(
            "demo WER %.3f (%d reference words, %d recognised), decode %.1f s",
            res["wer"],
            res["ref_words"],
            res["hyp_words"],
            res["decode_seconds"],
        )
        for k, v in res["per_speaker"].items():
            log.info("  %-28s WER %.3f", k, v)
        return
    from devtools.demo import generate

    for voice in args.voices.split(","):
        with tempfile.TemporaryDirectory() as tmp:
            generate(tmp, cohost_voice=voice)
            res = run(Path(tmp) / "demo.mp4", Path(tmp) / "truth.json")
        log.info("co-host %-6s overall WER %.3f  per speaker %s", voice, res["wer"], res["per_speaker"])


if __name__ == "__main__":
    main()
