"""Video acquisition: import a local file as H.264/AAC mp4, or download a Twitch VOD (yt-dlp or
TwitchDownloaderCLI) with its metadata (`output/raw/{vod}_metadata.json`).

Every output appears atomically. Downloads keep their partial files in a stable folder beside the
target (`.video_{vod}.mp4.partial/`) so a re-run resumes instead of starting over.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .errors import KlipError
from .io import atomic_path, write_json
from .media import ffmpeg_exe, run_ffmpeg
from .vod import parse_vod_id, vod_url

log = logging.getLogger(__name__)

BACKENDS = ("auto", "yt-dlp", "twitchdownloader")


# ------------------------------------------------------------------ local files

def _stream_listing(path: str | os.PathLike) -> str:
    """What `ffmpeg -i` says about a file's container and streams (one process per probe)."""
    return subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path)],
                          capture_output=True, text=True).stderr


def _codecs(text: str, path: str | os.PathLike) -> dict[str, Any]:
    if "Invalid data found" in text or "Stream #" not in text:
        lines = [ln for ln in text.splitlines() if ln.strip()]
        raise KlipError(f"not a readable video file: {path} ({lines[-1].strip() if lines else 'no streams'})")
    video = re.search(r"Stream #\S+.*?: Video: (\w+)[^\n]*?, (\d{2,5})x(\d{2,5})", text)
    audio = re.search(r"Stream #\S+.*?: Audio: (\w+)", text)
    return {"video": video.group(1) if video else None, "audio": audio.group(1) if audio else None,
            "height": int(video.group(3)) if video else None}


def _duration(text: str) -> float:
    m = re.search(r"Duration: (\d+):(\d{2}):(\d{2}(?:\.\d+)?)", text)
    return int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3)) if m else 0.0


def probe_codecs(path: str | os.PathLike) -> dict[str, Any]:
    """{'video': codec or None, 'audio': codec or None, 'height': int or None} from ffmpeg's stream listing."""
    return _codecs(_stream_listing(path), path)


def probe_duration(path: str | os.PathLike) -> float:
    """Container duration in seconds (0.0 when ffmpeg does not say)."""
    return _duration(_stream_listing(path))


def import_local_video(src: str | os.PathLike, dst_mp4: str | os.PathLike, metadata_json: str | os.PathLike | None = None,
                       *, vod_id: str | None = None, title: str = "", streamer: str = "",
                       created_at: str | None = None) -> dict[str, str]:
    """Make `dst_mp4` from a local video: copy an H.264/AAC .mp4, remux other containers holding
    H.264/AAC, transcode anything else (libx264 + AAC). With `metadata_json`, also write the VOD
    metadata (duration probed from the result). Returns {'mode': copy|remux|transcode}."""
    src, dst = Path(src), Path(dst_mp4)
    if not src.is_file():
        raise KlipError(f"video file not found: {src}")
    codecs = probe_codecs(src)
    if not codecs["video"]:
        raise KlipError(f"no video stream in {src}")
    ok_video = codecs["video"] == "h264"
    ok_audio = codecs["audio"] in ("aac", None)
    if ok_video and ok_audio and src.suffix.lower() in (".mp4", ".m4v"):
        mode = "copy"
        with atomic_path(dst) as tmp:
            shutil.copyfile(src, tmp)
    else:
        mode = "remux" if ok_video and ok_audio else "transcode"
        codec_args = (["-c", "copy"] if mode == "remux" else
                      ["-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p",
                       "-c:a", "aac", "-b:a", "160k"])
        log.info("%s %s -> %s", "remuxing" if mode == "remux" else "transcoding", src, dst)
        with atomic_path(dst) as tmp:
            run_ffmpeg(["-i", str(src), "-map", "0:v:0", "-map", "0:a:0?", *codec_args, "-movflags", "+faststart",
                        "-f", "mp4", str(tmp)], what=str(src))
    log.info("video %s ready from %s (%s)", dst, src, mode)
    if metadata_json:
        listing = _stream_listing(dst)  # one probe for both duration and height
        write_local_metadata(vod_id or dst.stem.removeprefix("video_"), metadata_json, title=title or src.stem,
                             streamer=streamer, duration=_duration(listing), created_at=created_at, source=str(src),
                             height=_codecs(listing, dst)["height"])
    return {"mode": mode}


# ------------------------------------------------------------------ yt-dlp

def format_selector(quality: str = "720p") -> str:
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
    return (f"best[height<={h}][vcodec!=none]/bestvideo[height<={h}]+bestaudio"
            f"/worst[height>{h}][vcodec!=none]/best[vcodec!=none]/best")


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
            log.info("Downloading VOD %s: finished %s (%.1f MiB)", self.vod_id, Path(d.get("filename", "")).name,
                     (d.get("total_bytes") or d.get("downloaded_bytes") or 0) / 2**20)
            return
        if d.get("status") != "downloading" or now - self.last < self.every:
            return
        self.last = now
        done = d.get("downloaded_bytes") or 0
        total = d.get("total_bytes") or d.get("total_bytes_estimate")
        frag, nfrag = d.get("fragment_index"), d.get("fragment_count")
        pct = (100.0 * done / total) if total else (100.0 * frag / nfrag if frag and nfrag else None)
        speed, eta = d.get("speed"), d.get("eta")
        log.info("Downloading VOD %s: %s %.1f MiB%s%s", self.vod_id, f"{pct:.1f}%" if pct is not None else "",
                 done / 2**20, f" at {speed / 2**20:.1f} MiB/s" if speed else "", f", ETA {eta:.0f} s" if eta else "")


def _explain(vod_id: str, exc: Exception) -> KlipError:
    msg = " ".join(str(exc).split())
    msg = re.sub(r"^ERROR:\s*", "", msg)
    msg = re.sub(r"^\[[^\]]+\]\s*(v?\d+:\s*)?", "", msg)
    low = msg.lower()
    if "does not exist" in low or "not found" in low or "404" in low:
        return KlipError(f"Twitch VOD {vod_id} does not exist (deleted, expired or a wrong id): {msg}")
    if "subscriber" in low or "logged" in low or "restricted" in low or "login" in low:
        return KlipError(f"Twitch VOD {vod_id} is sub-only: set download.cookies to a cookies.txt of an account "
                         f"that can watch it ({msg})")
    return KlipError(f"cannot download Twitch VOD {vod_id}: {msg}")


def _iso(ts: Any) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(float(ts), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _metadata(vod_id: str, info: dict, backend: str) -> dict[str, Any]:
    return {"vod_id": vod_id, "url": vod_url(vod_id), "title": info.get("title") or "",
            "streamer": info.get("uploader") or info.get("streamer") or "",
            "streamer_login": info.get("uploader_id") or info.get("streamer_login") or "",
            "duration": float(info.get("duration") or 0), "created_at": info.get("created_at") or _iso(info.get("timestamp")),
            "view_count": info.get("view_count"), "backend": backend, "format": info.get("format_id"),
            "height": info.get("height")}


def _ydl_opts(vod_id: str, work: Path, selector: str, retries: int, timeout: float, fragments: int,
              cookies: str | None, extra: dict | None) -> dict[str, Any]:
    opts = {
        "format": selector,
        "outtmpl": {"default": str(work / "download.%(ext)s")},
        "merge_output_format": "mp4",
        "retries": retries, "fragment_retries": retries, "extractor_retries": min(retries, 3),
        "retry_sleep_functions": {"http": lambda n: min(30.0, 2 ** n), "fragment": lambda n: min(30.0, 2 ** n)},
        "continuedl": True, "nopart": False, "overwrites": False,
        "skip_unavailable_fragments": False,  # a missing fragment must fail the job, not leave a gap in the video
        "socket_timeout": timeout, "concurrent_fragment_downloads": max(1, fragments),
        "noplaylist": True, "quiet": True, "no_warnings": False, "noprogress": True,
        "logger": _YtLogger(), "progress_hooks": [_ProgressLog(vod_id)],
        "ffmpeg_location": ffmpeg_exe(),
        "postprocessors": [{"key": "FFmpegVideoRemuxer", "preferedformat": "mp4"}],
    }
    if cookies:
        if not Path(cookies).is_file():
            raise KlipError(f"download.cookies file not found: {cookies}")
        opts["cookiefile"] = str(cookies)
    opts.update(extra or {})
    return opts


def _ytdlp_download(vod_id: str, dst: Path, quality: str, *, retries: int, timeout: float, fragments: int,
                    cookies: str | None, ydl_options: dict | None) -> dict[str, Any]:
    import yt_dlp

    work = dst.parent / f".{dst.name}.partial"  # stable name: yt-dlp resumes from it after a failed run
    work.mkdir(parents=True, exist_ok=True)
    opts = _ydl_opts(vod_id, work, format_selector(quality), retries, timeout, fragments, cookies, ydl_options)
    log.info("Downloading VOD %s at %s with yt-dlp into %s", vod_id, quality, dst)
    try:
        with yt_dlp.YoutubeDL(opts) as ydl:
            info = ydl.extract_info(vod_url(vod_id), download=True)
    except yt_dlp.utils.DownloadError as exc:
        raise _explain(vod_id, exc) from exc
    except (OSError, ValueError) as exc:  # e.g. yt-dlp closing its stream after a fatal fragment error
        raise KlipError(f"cannot download Twitch VOD {vod_id}: {type(exc).__name__}: {exc} "
                        f"(re-run to resume from {work})") from exc
    info = info or {}
    files = [d.get("filepath") for d in info.get("requested_downloads") or [] if d.get("filepath")]
    got = Path(files[0]) if files else None
    if got is None or not got.is_file():
        raise KlipError(f"yt-dlp reported no file for Twitch VOD {vod_id}")
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


# ------------------------------------------------------------------ TwitchDownloaderCLI

def find_twitchdownloader(bin_dir: str | os.PathLike | None = "bin") -> str | None:
    from .chat.twitch_gql import find_twitchdownloader as _find

    return _find(bin_dir)


def _td_quality(quality: str) -> str:
    q = str(quality).strip().lower()
    if q in ("source", "best", "chunked"):
        return "Source"
    if q in ("audio", "audio_only", "audio-only"):
        return "Audio"
    return q


def _td_download(exe: str, vod_id: str, dst: Path, quality: str, fragments: int, gql_url: str | None) -> dict:
    from .chat.twitch_gql import GQL_URL, GqlClient, fetch_video_info

    client = GqlClient(gql_url or GQL_URL)
    try:
        meta = fetch_video_info(client, vod_id)
    finally:
        client.close()
    work = dst.parent / f".{dst.name}.partial"
    work.mkdir(parents=True, exist_ok=True)
    out = work / "download.mp4"
    out.unlink(missing_ok=True)  # the CLI would otherwise wait at its "file exists, overwrite?" prompt
    cmd = [exe, "videodownload", "--id", vod_id, "-o", str(out), "-q", _td_quality(quality)]
    if fragments > 1:  # otherwise keep the CLI's own default (10 threads)
        cmd += ["--threads", str(fragments)]
    log.info("Downloading VOD %s at %s with %s", vod_id, quality, exe)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            text=True)
    tail: list[str] = []
    last = 0.0
    for line in proc.stdout:
        line = line.strip()
        if line:
            tail = (tail + [line])[-5:]
            if time.monotonic() - last > 10:
                last = time.monotonic()
                log.info("Downloading VOD %s: %s", vod_id, line)
    if proc.wait() != 0 or not out.is_file():
        raise KlipError(f"TwitchDownloaderCLI failed for Twitch VOD {vod_id}: {tail[-1] if tail else proc.returncode}")
    return {"file": out, "info": {"title": meta["title"], "streamer": meta["streamer"], "duration": meta["duration"],
                                  "created_at": meta["created_at"], "view_count": meta.get("view_count"),
                                  "format_id": _td_quality(quality)}, "work": work}


# ------------------------------------------------------------------ entry points

def download_twitch_video(vod_id: str, dst_mp4: str | os.PathLike, metadata_json: str | os.PathLike | None = None,
                          quality: str = "720p", backend: str = "auto", *, retries: int = 10, timeout: float = 30.0,
                          concurrent_fragments: int = 1, cookies: str | None = None,
                          bin_dir: str | os.PathLike | None = "bin", gql_url: str | None = None,
                          ydl_options: dict | None = None) -> dict[str, Any]:
    """Download Twitch VOD `vod_id` (URL or id) to `dst_mp4` and write its metadata JSON.

    backend: `auto` (TwitchDownloaderCLI if found in bin_dir/PATH, else yt-dlp), `yt-dlp`, `twitchdownloader`.
    Returns the metadata dict (vod_id, url, title, streamer, streamer_login, duration, created_at, ...)."""
    vod_id = parse_vod_id(vod_id)
    dst = Path(dst_mp4)
    if backend not in BACKENDS:
        raise KlipError(f"download.backend must be one of {', '.join(BACKENDS)}, not {backend!r}")
    exe = find_twitchdownloader(bin_dir) if backend != "yt-dlp" else None
    if backend == "twitchdownloader" and not exe:
        raise KlipError(f"download.backend is twitchdownloader but TwitchDownloaderCLI is not in {bin_dir}/ or on PATH")
    if exe:
        res, used = _td_download(exe, vod_id, dst, quality, concurrent_fragments, gql_url), "twitchdownloader"
    else:
        res, used = _ytdlp_download(vod_id, dst, quality, retries=retries, timeout=timeout,
                                    fragments=concurrent_fragments, cookies=cookies,
                                    ydl_options=ydl_options), "yt-dlp"
    _finish(res["file"], dst, res["work"])
    meta = _metadata(vod_id, res["info"], used)
    if metadata_json:
        write_json(metadata_json, meta)
    log.info("Downloaded VOD %s (%s, %.0f s, %s) to %s", vod_id, meta["title"], meta["duration"],
             meta.get("format"), dst)
    return meta


def download_audio_only(vod_id: str, dst: str | os.PathLike, metadata_json: str | os.PathLike | None = None, *,
                        retries: int = 10, timeout: float = 30.0, concurrent_fragments: int = 1,
                        cookies: str | None = None, ydl_options: dict | None = None) -> dict[str, Any]:
    """Fast path for audio analysis: fetch only Twitch's `audio_only` rendition (about 1/20 of a 720p
    download) with yt-dlp. A `.wav` dst gets 16 kHz mono PCM (klipstream.media.extract_audio), any other
    extension the AAC audio remuxed as is (e.g. `.m4a`)."""
    from .media import extract_audio

    vod_id = parse_vod_id(vod_id)
    dst = Path(dst)
    res = _ytdlp_download(vod_id, dst, "audio_only", retries=retries, timeout=timeout,
                          fragments=concurrent_fragments, cookies=cookies,
                          ydl_options={"postprocessors": [], **(ydl_options or {})})
    got = res["file"]
    if dst.suffix.lower() == ".wav":
        extract_audio(got, dst)
    else:
        with atomic_path(dst) as tmp:
            run_ffmpeg(["-i", str(got), "-vn", "-map", "0:a:0", "-c:a", "copy", str(tmp)], what=str(got))
    shutil.rmtree(res["work"], ignore_errors=True)
    meta = _metadata(vod_id, res["info"], "yt-dlp")
    if metadata_json:
        write_json(metadata_json, meta)
    log.info("Downloaded audio of VOD %s (%s) to %s", vod_id, meta.get("format"), dst)
    return meta


def write_local_metadata(vod_id: str, metadata_json: str | os.PathLike, *, title: str = "", streamer: str = "",
                         duration: float = 0.0, created_at: str | None = None, source: str = "",
                         height: int | None = None) -> dict[str, Any]:
    """Metadata JSON for a VOD made from local files (same keys as a download)."""
    meta = {"vod_id": str(vod_id), "url": vod_url(vod_id) if re.fullmatch(r"[1-9]\d*", str(vod_id)) else None,
            "title": title, "streamer": streamer, "streamer_login": streamer.lower(), "duration": float(duration),
            "created_at": created_at, "view_count": None, "backend": "local", "format": None, "height": height,
            "source": source}
    write_json(metadata_json, meta)
    return meta


__all__ = ["import_local_video", "probe_duration", "download_twitch_video", "download_audio_only", "format_selector", "probe_codecs",
           "write_local_metadata", "find_twitchdownloader"]
