"""Download a Twitch VOD (video, or only its audio rendition) with yt-dlp, or TwitchDownloaderCLI when present.

The VOD's metadata is asked of Twitch's GQL API first, through our own client: that one request says at once
whether Twitch can be reached and whether the VOD exists, and gives the same metadata for both backends.
yt-dlp then runs with its real Twitch extractor, subclassed only to send its GQL and usher requests to the
configured endpoints (klipstream.twitch.endpoints); the HLS segments come from the playlist usher serves.

Downloads keep their partial files in a stable folder beside the target (`.video_{vod}.mp4.partial/`), so a
re-run resumes instead of starting over; the target appears atomically.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import time
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from .. import config as _config
from ..errors import KlipError
from ..io import atomic_path, write_json
from ..media import extract_audio, ffmpeg_exe, run_ffmpeg
from ..video import import_local_video, probe_codecs
from . import downloader_cli
from .endpoints import GQL_URL, TwitchEndpoints
from .errors import TwitchError, VodNotFound, VodSubOnly
from .gql import GqlClient, fetch_video_info
from .ids import parse_vod_id, vod_url

# this module's settings defaults: the config schema's `download` section, where they are written once
_DOWNLOAD = _config.default("download")

log = logging.getLogger(__name__)

BACKENDS = ("auto", "yt-dlp", "twitchdownloader")


def format_selector(quality: str = _DOWNLOAD["quality"]) -> str:
    """yt-dlp format selector: the best muxed rendition at or below `quality`, else the nearest
    rendition above it; `source`/`best` take the top one, `audio_only` Twitch's audio rendition."""
    q = str(quality).strip().lower()
    if q in ("source", "best", "chunked"):
        return "best[vcodec!=none]/best"
    if q in ("audio", "audio_only", "audio-only"):
        return "bestaudio[vcodec=none]/worstaudio/worst"
    m = re.fullmatch(r"(\d{3,4})p?(?:\d{2})?", q)
    if not m:
        raise KlipError(f"download.quality must look like 720p, 480p30, source or audio_only, not {quality!r}")
    h = int(m.group(1))
    return (
        f"best[height<={h}][vcodec!=none]/bestvideo[height<={h}]+bestaudio"
        f"/worst[height>{h}][vcodec!=none]/best[vcodec!=none]/best"
    )


@cache
def _extractor_class(gql_url: str, usher_url: str) -> type:
    """yt-dlp's Twitch VOD extractor with its two Twitch hosts taken from our endpoints."""
    from yt_dlp.extractor.twitch import TwitchVodIE

    class KlipTwitchVodIE(TwitchVodIE):
        _USHER_BASE = usher_url

        def _download_json(self, url_or_request, *args, **kwargs):
            if url_or_request == GQL_URL:
                url_or_request = gql_url
            return super()._download_json(url_or_request, *args, **kwargs)

    return KlipTwitchVodIE


class _YtLogger:
    """Route yt-dlp's messages to logging (its '[download] x%' lines are replaced by our progress hook)."""

    def debug(self, msg: str) -> None:
        if not msg.startswith("[download]"):
            log.debug(msg)

    def info(self, msg: str) -> None:
        log.debug(msg)

    def warning(self, msg: str) -> None:
        log.warning(msg)

    def error(self, msg: str) -> None:
        log.debug(msg)  # raised again as DownloadError and reported once, as a KlipError


class _ProgressLog:
    """yt-dlp progress hook -> a log line every `every` seconds and at the end."""

    def __init__(self, vod_id: str, every: float = 10.0):
        self.vod_id, self.every, self.last = vod_id, every, 0.0

    def __call__(self, d: dict) -> None:
        now = time.monotonic()
        if d.get("status") == "finished":
            log.info(
                "Downloading VOD %s: finished %s (%.1f MiB)",
                self.vod_id,
                Path(d.get("filename", "")).name,
                (d.get("total_bytes") or d.get("downloaded_bytes") or 0) / 2**20,
            )
            return
        if d.get("status") != "downloading" or now - self.last < self.every:
            return
        self.last = now
        done = d.get("downloaded_bytes") or 0
        total = d.get("total_bytes") or d.get("total_bytes_estimate")
        frag, nfrag = d.get("fragment_index"), d.get("fragment_count")
        pct = (100.0 * done / total) if total else (100.0 * frag / nfrag if frag and nfrag else None)
        speed, eta = d.get("speed"), d.get("eta")
        log.info(
            "Downloading VOD %s: %s %.1f MiB%s%s",
            self.vod_id,
            f"{pct:.1f}%" if pct is not None else "",
            done / 2**20,
            f" at {speed / 2**20:.1f} MiB/s" if speed else "",
            f", ETA {eta:.0f} s" if eta else "",
        )


def _explain(vod_id: str, exc: Exception) -> KlipError:
    """A yt-dlp DownloadError as one typed line."""
    msg = " ".join(str(exc).split())
    msg = re.sub(r"^ERROR:\s*", "", msg)
    msg = re.sub(r"^\[[^\]]+\]\s*(v?\d+:\s*)?", "", msg)
    low = msg.lower()
    if "subscriber" in low or "logged" in low or "restricted" in low or "login" in low:
        return VodSubOnly(
            f"Twitch VOD {vod_id} is sub-only: set download.cookies to a cookies.txt of an account "
            f"that can watch it ({msg})"
        )
    if "does not exist" in low or "not found" in low or "404" in low:
        return VodNotFound(f"Twitch VOD {vod_id} does not exist (deleted, expired or a wrong id): {msg}")
    return TwitchError(f"cannot download Twitch VOD {vod_id}: {msg}")


def _iso(ts: Any) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(float(ts), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _metadata(vod_id: str, info: dict, backend: str) -> dict[str, Any]:
    return {
        "vod_id": vod_id,
        "url": vod_url(vod_id),
        "title": info.get("title") or "",
        "streamer": info.get("uploader") or info.get("streamer") or "",
        "streamer_login": info.get("uploader_id") or info.get("streamer_login") or "",
        "duration": float(info.get("duration") or 0),
        "created_at": info.get("created_at") or _iso(info.get("timestamp")),
        "view_count": info.get("view_count"),
        "backend": backend,
        "format": info.get("format_id"),
        "height": info.get("height"),
    }


def _ydl_opts(
    vod_id: str,
    work: Path,
    selector: str,
    retries: int,
    timeout: float,
    fragments: int,
    cookies: str | None,
    extra: dict | None,
) -> dict[str, Any]:
    opts = {
        "format": selector,
        "outtmpl": {"default": str(work / "download.%(ext)s")},
        "merge_output_format": "mp4",
        "retries": retries,
        "fragment_retries": retries,
        "extractor_retries": min(retries, 3),
        "retry_sleep_functions": {"http": lambda n: min(30.0, 2**n), "fragment": lambda n: min(30.0, 2**n)},
        "continuedl": True,
        "nopart": False,
        "overwrites": False,
        "skip_unavailable_fragments": False,  # a missing fragment must fail the job, not leave a gap in the video
        "socket_timeout": timeout,
        "concurrent_fragment_downloads": max(1, fragments),
        "noplaylist": True,
        "quiet": True,
        "no_warnings": False,
        "noprogress": True,
        "logger": _YtLogger(),
        "progress_hooks": [_ProgressLog(vod_id)],
        "ffmpeg_location": ffmpeg_exe(),
        "postprocessors": [{"key": "FFmpegVideoRemuxer", "preferedformat": "mp4"}],
    }
    if cookies:
        if not Path(cookies).is_file():
            raise KlipError(f"download.cookies file not found: {cookies}")
        opts["cookiefile"] = str(cookies)
    opts.update(extra or {})
    return opts


def _ytdlp_download(
    vod_id: str,
    dst: Path,
    quality: str,
    endpoints: TwitchEndpoints,
    *,
    retries: int,
    timeout: float,
    fragments: int,
    cookies: str | None,
    ydl_options: dict | None,
) -> dict[str, Any]:
    import yt_dlp

    work = dst.parent / f".{dst.name}.partial"  # stable name: yt-dlp resumes from it after a failed run
    work.mkdir(parents=True, exist_ok=True)
    opts = _ydl_opts(vod_id, work, format_selector(quality), retries, timeout, fragments, cookies, ydl_options)
    log.info("Downloading VOD %s at %s with yt-dlp into %s", vod_id, quality, dst)
    try:
        with yt_dlp.YoutubeDL(opts) as ydl:
            extractor = _extractor_class(endpoints.gql_url, endpoints.usher_url)()
            ydl.add_info_extractor(extractor)
            info = ydl.extract_info(vod_url(vod_id), download=True, ie_key=extractor.ie_key())
    except yt_dlp.utils.DownloadError as exc:
        raise _explain(vod_id, exc) from exc
    except (OSError, ValueError) as exc:  # e.g. yt-dlp closing its stream after a fatal fragment error
        raise TwitchError(
            f"cannot download Twitch VOD {vod_id}: {type(exc).__name__}: {exc} (re-run to resume from {work})"
        ) from exc
    info = info or {}
    files = [d.get("filepath") for d in info.get("requested_downloads") or [] if d.get("filepath")]
    got = Path(files[0]) if files else None
    if got is None or not got.is_file():
        raise TwitchError(f"yt-dlp reported no file for Twitch VOD {vod_id}")
    return {"file": got, "info": info, "work": work}


def _finish(got: Path, dst: Path, work: Path | None) -> None:
    """Move the downloaded file into place (remuxing/transcoding if it is not H.264/AAC mp4)."""
    codecs = probe_codecs(got)
    if got.suffix.lower() == ".mp4" and codecs["video"] in ("h264", None) and codecs["audio"] in ("aac", None):
        with atomic_path(dst) as tmp:
            os.replace(got, tmp)
    else:
        import_local_video(got, dst)
    if work is not None:
        shutil.rmtree(work, ignore_errors=True)


def vod_info(vod_id: str, endpoints: TwitchEndpoints, timeout: float = 30.0) -> dict[str, Any]:
    """The VOD's metadata from GQL; fails within seconds, with one typed line, when Twitch cannot be reached."""
    with GqlClient(endpoints.gql_url, timeout=timeout, max_retries=3, workers=1) as client:
        return fetch_video_info(client, vod_id)


def download_twitch_video(
    vod_id: str,
    dst_mp4: str | os.PathLike,
    metadata_json: str | os.PathLike | None = None,
    quality: str = _DOWNLOAD["quality"],
    backend: str = _DOWNLOAD["backend"],
    *,
    endpoints: TwitchEndpoints | None = None,
    retries: int = _DOWNLOAD["retries"],
    timeout: float = 30.0,
    concurrent_fragments: int = _DOWNLOAD["concurrent_fragments"],
    cookies: str = _DOWNLOAD["cookies"],
    bin_dir: str | os.PathLike | None = "bin",
    ydl_options: dict | None = None,
) -> dict[str, Any]:
    """Download Twitch VOD `vod_id` (URL or id) to `dst_mp4` and write its metadata JSON.

    backend: `auto` (TwitchDownloaderCLI if found in bin_dir/PATH and the endpoints are Twitch's own, else yt-dlp),
    `yt-dlp`, `twitchdownloader`. Returns the metadata dict (vod_id, url, title, streamer, duration, ...)."""
    vod_id = parse_vod_id(vod_id)
    endpoints = endpoints or TwitchEndpoints()
    dst = Path(dst_mp4)
    if backend not in BACKENDS:
        raise KlipError(f"download.backend must be one of {', '.join(BACKENDS)}, not {backend!r}")
    if backend == "twitchdownloader":
        exe = downloader_cli.require(bin_dir, "download.backend", endpoints.is_twitch)
    else:
        exe = downloader_cli.find(bin_dir) if backend == "auto" and endpoints.is_twitch else None
    info = vod_info(vod_id, endpoints, timeout)
    if exe:
        work = dst.parent / f".{dst.name}.partial"
        work.mkdir(parents=True, exist_ok=True)
        got = downloader_cli.download_video(exe, vod_id, work, quality, concurrent_fragments)
        res, used = (
            {"file": got, "work": work, "info": {**info, "format_id": downloader_cli.quality(quality)}},
            "twitchdownloader",
        )
    else:
        res = _ytdlp_download(
            vod_id,
            dst,
            quality,
            endpoints,
            retries=retries,
            timeout=timeout,
            fragments=concurrent_fragments,
            cookies=cookies,
            ydl_options=ydl_options,
        )
        res["info"] = {**info, **{k: v for k, v in res["info"].items() if v is not None}}
        used = "yt-dlp"
    _finish(res["file"], dst, res["work"])
    meta = _metadata(vod_id, res["info"], used)
    if metadata_json:
        write_json(metadata_json, meta)
    log.info(
        "Downloaded VOD %s (%s, %.0f s, %s) to %s", vod_id, meta["title"], meta["duration"], meta.get("format"), dst
    )
    return meta


def download_audio_only(
    vod_id: str,
    dst: str | os.PathLike,
    metadata_json: str | os.PathLike | None = None,
    *,
    endpoints: TwitchEndpoints | None = None,
    retries: int = _DOWNLOAD["retries"],
    timeout: float = 30.0,
    concurrent_fragments: int = _DOWNLOAD["concurrent_fragments"],
    cookies: str | None = _DOWNLOAD["cookies"],
    ydl_options: dict | None = None,
) -> dict[str, Any]:
    """Fast path for audio analysis: fetch only Twitch's `audio_only` rendition (about 1/20 of a 720p
    download) with yt-dlp. A `.wav` dst gets 16 kHz mono PCM (klipstream.media.extract_audio), any other
    extension the AAC audio remuxed as is (e.g. `.m4a`)."""
    vod_id = parse_vod_id(vod_id)
    endpoints = endpoints or TwitchEndpoints()
    dst = Path(dst)
    info = vod_info(vod_id, endpoints, timeout)
    res = _ytdlp_download(
        vod_id,
        dst,
        "audio_only",
        endpoints,
        retries=retries,
        timeout=timeout,
        fragments=concurrent_fragments,
        cookies=cookies,
        ydl_options={"postprocessors": [], **(ydl_options or {})},
    )
    got = res["file"]
    if dst.suffix.lower() == ".wav":
        extract_audio(got, dst)
    else:
        with atomic_path(dst) as tmp:
            run_ffmpeg(["-i", str(got), "-vn", "-map", "0:a:0", "-c:a", "copy", str(tmp)], what=str(got))
    shutil.rmtree(res["work"], ignore_errors=True)
    meta = _metadata(vod_id, {**info, **{k: v for k, v in res["info"].items() if v is not None}}, "yt-dlp")
    if metadata_json:
        write_json(metadata_json, meta)
    log.info("Downloaded audio of VOD %s (%s) to %s", vod_id, meta.get("format"), dst)
    return meta
