"""A VOD's raw inputs: the local files its VOD-table row names, else Twitch. One entry point per fetch rule;
each takes whole config sections (completed from the schema), so a rule never hands its script loose keys."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from . import config
from .twitch.endpoints import TwitchEndpoints

Section = Mapping[str, Any] | None


def _twitch(twitch: Section) -> tuple[dict[str, Any], TwitchEndpoints]:
    settings = config.section("twitch", twitch)
    return settings, TwitchEndpoints.resolve(settings)


def _hls_options(download: Section, twitch: Section) -> dict[str, Any]:
    """What every yt-dlp download from Twitch takes from the download and twitch sections."""
    dl = config.section("download", download)
    tw, endpoints = _twitch(twitch)
    return {
        "endpoints": endpoints,
        "retries": dl["retries"],
        "timeout": tw["timeout"],
        "concurrent_fragments": dl["concurrent_fragments"],
        "cookies": dl["cookies"] or None,
    }


def fetch_video(
    vod_id: str,
    local: Sequence[str],
    video_out: str | os.PathLike,
    metadata_out: str | os.PathLike,
    *,
    url: str = "",
    title: str = "",
    download: Section = None,
    twitch: Section = None,
) -> dict[str, Any]:
    """`video_{vod}.mp4` + metadata: import the local video if the VOD has one, else download it from `url`."""
    if local:
        from .video import import_local_video

        return import_local_video(local[0], video_out, metadata_out, vod_id=vod_id, title=title)
    from .twitch.video import download_twitch_video

    dl = config.section("download", download)
    return download_twitch_video(
        url or vod_id,
        video_out,
        metadata_out,
        quality=dl["quality"],
        backend=dl["backend"],
        **_hls_options(dl, twitch),
    )


def fetch_audio(
    vod_id: str,
    video: str | None,
    wav_out: str | os.PathLike,
    *,
    url: str = "",
    download: Section = None,
    twitch: Section = None,
) -> None:
    """16 kHz mono WAV: from the VOD's video when there is one, else from Twitch's audio-only rendition."""
    if video:
        from .media import extract_audio

        return extract_audio(video, wav_out)
    from .twitch.video import download_audio_only

    download_audio_only(url or vod_id, wav_out, **_hls_options(download, twitch))


def fetch_chat(
    vod_id: str,
    local: Sequence[str],
    chat_out: str | os.PathLike,
    *,
    url: str = "",
    title: str = "",
    chat: Section = None,
    twitch: Section = None,
) -> dict[str, Any]:
    """The chat JSON: import the local chat log if the VOD has one, else download the chat from Twitch."""
    if local:
        from .chat.importers import import_chat

        return import_chat(local[0], chat_out, vod_id=vod_id, title=title)
    from .twitch.chat import download_chat

    ch = config.section("chat", chat)
    tw, endpoints = _twitch(twitch)
    return download_chat(
        url or vod_id,
        chat_out,
        workers=ch["workers"],
        backend=ch["backend"],
        paging=ch["paging"],
        gql_url=endpoints.gql_url,
        timeout=tw["timeout"],
        allow_cli=endpoints.is_twitch,
    )
