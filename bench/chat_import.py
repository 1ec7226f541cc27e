"""Chat import benchmark: a large TwitchDownloader JSON (as its CLI writes it: indented, with embedded emote
images) imported into the contract chat JSON, with time and peak memory.

  .venv/bin/python bench/chat_import.py [--messages 500000]

Each measurement runs in a fresh process and reports its peak RSS. For comparison the script also times
`json.load` of the same file: the first step of the importer before it streamed (its memory is a floor for that
version, which then built a second list of converted comments).
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORDS = "Pog KEKW LUL OMEGALUL monkaS PogChamp Kappa gg nice what no way lets go clip it wow insane LMAO".split()


def write_twitchdownloader_json(path: Path, messages: int, seed: int = 0) -> None:
    """TwitchDownloader's layout, written a comment at a time: FileInfo, streamer, video, comments, embeddedData."""
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(
            '{\n  "FileInfo": {"Version": {"Major": 1, "Minor": 3, "Patch": 0}},\n'
            '  "streamer": {"name": "benchstreamer", "id": 123456},\n'
            '  "video": {"title": "10 hour stream", "id": "2000000000", "created_at": "2024-01-01T00:00:00Z",'
            ' "start": 0, "end": 36000, "length": 36000},\n  "comments": [\n'
        )
        for i in range(messages):
            t = 36000.0 * i / messages
            body = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 8)))
            user = f"viewer{rng.randint(1, 40000)}"
            comment = {
                "_id": f"{i:08x}-0000-4000-8000-{i:012x}",
                "created_at": "2024-01-01T00:00:00Z",
                "channel_id": "123456",
                "content_type": "video",
                "content_id": "2000000000",
                "content_offset_seconds": round(t, 3),
                "commenter": {"display_name": user, "_id": str(rng.randint(1, 10**9)), "name": user, "logo": ""},
                "message": {
                    "body": body,
                    "bits_spent": 0,
                    "fragments": [{"text": w, "emoticon": None} for w in body.split(" ")],
                    "user_badges": [{"_id": "subscriber", "version": "12"}],
                    "user_color": "#1E90FF",
                    "emoticons": [],
                },
            }
            fh.write(("    " if i == 0 else ",\n    ") + json.dumps(comment, indent=None))
        fh.write(
            '\n  ],\n  "embeddedData": {"firstParty": [{"name": "Kappa", "data": "' + "A" * 2_000_000 + '"}]}\n}\n'
        )


def write_twitchdownloader_txt(path: Path, messages: int, seed: int = 0) -> None:
    """The same chat as TwitchDownloader's TXT export: `[H:MM:SS] user: message`."""
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(messages):
            t = int(36000 * i / messages)
            body = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 8)))
            fh.write(f"[{t // 3600}:{t // 60 % 60:02d}:{t % 60:02d}] viewer{rng.randint(1, 40000)}: {body}\n")


def measure(code: str) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of `code` run in a fresh interpreter."""
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
    wall = time.perf_counter() - t0
    return wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=500_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="klip-bench-import-") as tmp:
        src, txt, dst = Path(tmp) / "td.json", Path(tmp) / "td.txt", Path(tmp) / "out.json"
        write_twitchdownloader_json(src, args.messages)
        write_twitchdownloader_txt(txt, args.messages)
        # The children's peak RSS is a running maximum: measure from the smallest to the largest expected.
        base_wall, base_rss = measure("import sys")
        runs = {}
        for name, path in (("json", src), ("txt", txt)):
            wall, rss = measure(
                f"from klipstream.chat.importers import import_chat; "
                f"import_chat({str(path)!r}, {str(dst)!r}, '2000000000')"
            )
            count = sum(1 for line in open(dst) if line.startswith('{"_id"'))
            runs[name] = {
                "file_mb": round(path.stat().st_size / 1e6, 1),
                "imported": count,
                "seconds": round(wall, 1),
                "peak_rss_mb": round(rss, 1),
            }
        load_wall, load_rss = measure(f"import json; json.load(open({str(src)!r}))")
    print(
        json.dumps(
            {
                "messages": args.messages,
                "interpreter_rss_mb": round(base_rss, 1),
                "import": runs,
                "json_load_of_the_json": {"seconds": round(load_wall, 1), "peak_rss_mb": round(load_rss, 1)},
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
