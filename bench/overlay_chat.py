"""A heavier-chat stress set from a labelled real chat: its consecutive stretches overlaid on one timeline.

The held-out sets this project is judged on include continuous heavy chat (esports) that `../shared/data` does
not have. Overlaying `--layers` consecutive `--seconds`-long stretches of one labelled chat multiplies its message
rate by the number of layers while every reaction stays real: each labelled moment now has to stand out against
the chat of the other layers, which reacts to other things. Labels move with their layer (a label starting in
layer k is shifted back by k x seconds); what lies beyond the last layer is dropped.

    PYTHONPATH=. .venv/bin/python bench/overlay_chat.py ../shared/data/chat/fuslie_4h.txt \\
        --vod fuslie_4h --labels bench/devsets/highlights.csv --seconds 7200 --layers 2 --out /tmp/heavy
    PYTHONPATH=. .venv/bin/python bench/highlight_eval.py --labels /tmp/heavy/fuslie_4h_x2.csv \\
        /tmp/heavy/fuslie_4h_x2.json

It is a stress test, not a dev set of its own: the labels are the source VOD's, and the layers are one community
reacting to one streamer at other times.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import pandas as pd

from klipstream.chat.importers import import_chat
from klipstream.chat.io import iter_comments, read_chat_meta, write_chat


def overlay(src: Path, vod: str, labels: pd.DataFrame, seconds: float, layers: int, out_dir: Path) -> tuple[Path, Path]:
    """Write OUT/<vod>_x<layers>.json (TwitchDownloader-style chat) and its labels CSV; returns both paths."""
    out_id = f"{vod}_x{layers}"
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        imported = Path(tmp) / "chat.json"
        import_chat(src, imported, vod)
        meta = read_chat_meta(imported)
        comments = []
        for c in iter_comments(imported):
            layer = int(c["content_offset_seconds"] // seconds)
            if layer < layers:
                c["content_offset_seconds"] -= layer * seconds
                c["_id"] = f"{c['_id']}-L{layer}"
                comments.append(c)
    comments.sort(key=lambda c: c["content_offset_seconds"])
    chat_path = out_dir / f"{out_id}.json"
    write_chat(
        chat_path,
        comments,
        vod_id=out_id,
        title=out_id,
        streamer=meta.get("streamer", ""),
        created_at=meta.get("created_at"),
        length=seconds,
    )
    mine = labels[labels["vod_id"] == vod].copy()
    layer = (mine["start"] // seconds).astype(int)
    mine = mine[layer < layers]
    shift = (mine["start"] // seconds) * seconds
    out = pd.DataFrame({"vod_id": out_id, "start": mine["start"] - shift, "end": mine["end"] - shift})
    labels_path = out_dir / f"{out_id}.csv"
    out.sort_values("start").to_csv(labels_path, index=False)
    print(f"{chat_path}: {len(comments)} messages over {seconds:.0f} s, {len(out)} labels -> {labels_path}")
    return chat_path, labels_path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("chat", type=Path, help="chat log in any supported format")
    ap.add_argument("--vod", required=True, help="its vod_id in the labels CSV")
    ap.add_argument("--labels", type=Path, required=True, help="labels CSV (vod_id,start,end,...)")
    ap.add_argument("--seconds", type=float, required=True, help="length of each layer, and of the result")
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--out", type=Path, required=True, help="folder for the chat JSON and labels CSV")
    a = ap.parse_args()
    overlay(a.chat, a.vod, pd.read_csv(a.labels), a.seconds, a.layers, a.out)


if __name__ == "__main__":
    main()
