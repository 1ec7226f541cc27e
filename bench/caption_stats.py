"""How the captions the workflow wrote follow the caption guidelines, read back from the SRT with pysubs2.

python bench/caption_stats.py output/exports/demo/demo.srt output/raw/transcripts/audio_demo_words.csv
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pysubs2


def main(srt: str, words_csv: str) -> None:
    subs = pysubs2.load(srt, encoding="utf-8")
    words = pd.read_csv(words_csv, keep_default_na=False)
    dur = np.array([(e.end - e.start) / 1000 for e in subs])
    lines = [e.plaintext.split("\n") for e in subs]
    chars = np.array([sum(len(x) for x in cue) for cue in lines])
    starts = np.array([e.start / 1000 for e in subs])
    ends = np.array([e.end / 1000 for e in subs])
    off = np.min(np.abs(starts[:, None] - words["start_time"].to_numpy()[None, :]), axis=1)
    print(
        f"{len(subs)} cues from {len(words)} words; lines per cue <= {max(map(len, lines))}; "
        f"characters per line <= {max(len(x) for cue in lines for x in cue)}"
    )
    print(
        f"duration {dur.min():.2f} to {dur.max():.2f} s (median {np.median(dur):.2f}); "
        f"cue start to nearest word start <= {off.max():.3f} s; overlaps {int(np.sum(ends[:-1] > starts[1:] + 1e-9))}"
    )
    print(f"reading speed median {np.median(chars / dur):.1f}, p95 {np.percentile(chars / dur, 95):.1f} characters/s")


if __name__ == "__main__":
    main(*sys.argv[1:3])
