"""The files a served report plays: its clips and the full video, found where the report's relative links lead.

The report links them relative to `output/report/{vod}.html` (`../clips/{vod}/{file}`, `../raw/videos/...`), so
that the output folder can be zipped and shared. Served at `/api/v1/analysis/{job_id}/report`, a browser resolves
those links to `/api/v1/analysis/clips/{vod}/{file}` and so on: one level below the API prefix is one level
below `output/`. A path is served only when it is exactly one of the links the VOD's report makes (the same
`media_links` the report is written with) and the file exists inside the output folder; anything else is None."""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath
from urllib.parse import unquote

from ..artifacts import ARTIFACTS, target
from ..errors import KlipError
from ..outputs.report import media_links

REPORT_MEDIA = ("clips_dir", "video")  # what render_report links (the report rule's clips_dir and video inputs)
OUTPUT = PurePosixPath(target("report_html", "x")).parent.parent  # output/: the report's links go one level up


def _pattern(key: str) -> re.Pattern[str]:
    artifact = ARTIFACTS[key]
    below = str(PurePosixPath(artifact.path).relative_to(OUTPUT))
    regex = re.escape(below).replace(re.escape("{vod}"), r"(?P<vod>[^/]+)")
    return re.compile(regex + (r"/[^/]+" if artifact.folder else ""))


_PATTERNS = [_pattern(key) for key in REPORT_MEDIA]


def vod_of(rel: str) -> str | None:
    """The VOD whose report may link `rel` (a path below output/), or None for a path no report links."""
    parts = rel.split("/")
    if any(part in ("", ".", "..") or part.startswith(".") for part in parts):
        return None
    for pattern in _PATTERNS:
        if m := pattern.fullmatch(rel):
            return m["vod"]
    return None


def report_file(workdir: Path, vod: str, rel: str) -> Path | None:
    """The file at output/`rel` when the report of `vod` links it and it exists inside the output folder."""
    report = workdir / target("report_html", vod)
    clips_dir = workdir / target("clips_dir", vod)
    video = workdir / target("video", vod)
    try:
        links = media_links(
            report,
            clips_dir if (clips_dir / "clips.json").is_file() else None,
            video if video.is_file() else None,
        )
    except KlipError:  # an unreadable clips listing: its clips are not served
        links = media_links(report, None, video if video.is_file() else None)
    srcs = [clip["src"] for clip in links["clips"].values()] + ([links["video"]] if links["video"] else [])
    if f"../{rel}" not in {unquote(src) for src in srcs}:
        return None
    return inside_output(workdir, workdir / OUTPUT / rel)


def inside_output(workdir: Path, path: Path) -> Path | None:
    """The real path of the file `path` when it is one inside the output folder (after following every symlink),
    else None: what the service serves is never a link out of output/ (to /etc/shadow, say)."""
    root = (workdir / OUTPUT).resolve()
    real = path.resolve()
    return real if real.is_relative_to(root) and real.is_file() else None
