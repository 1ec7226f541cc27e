"""Twitch's comment pages: the `VideoCommentsByOffsetOrCursor` request TwitchDownloader sends (its persisted query
hash), one page fetched through the GQL client, and a comment node converted to our chat JSON's comment."""

from __future__ import annotations

import re
from typing import Any

from ..chat.io import EPOCH_ISO, make_comment
from .errors import VodNotFound
from .gql import GqlClient

COMMENTS_HASH = "b70a3591ff0f4e0313d126c6a1502d79a1c02baebb288227c582044aa76adf6a"
_BITS = re.compile(
    r"(?:^|\s)(?:Cheer|BibleThump|cheerwhal|Corgo|Scoops|uni|ShowLove|Party|SeemsGood|Pride|Kappa|"
    r"FrankerZ|HeyGuys|DansGame|EleGiggle|TriHard|Kreygasm|4Head|SwiftRage|NotLikeThis|FailFish|"
    r"VoHiYo|PJSalt|MrDestructoid|bday|RIPCheer|Shamrock|BitBoss|Streamlabs|Muxy|HolidayCheer|"
    r"Goal|Anon|Charity)(\d+)(?=\s|$)"
)


def comments_request(vod_id: str, offset: int | None, cursor: str | None) -> list[dict]:
    variables: dict[str, Any] = {"videoID": vod_id}
    if cursor is not None:
        variables["cursor"] = cursor
    else:
        variables["contentOffsetSeconds"] = int(offset or 0)
    return [
        {
            "operationName": "VideoCommentsByOffsetOrCursor",
            "variables": variables,
            "extensions": {"persistedQuery": {"version": 1, "sha256Hash": COMMENTS_HASH}},
        }
    ]


def convert_node(node: dict, video: dict, vod_id: str) -> dict | None:
    """A GQL comment node -> contract comment (what TwitchDownloader's ConvertComments keeps)."""
    commenter = node.get("commenter")
    if not commenter:  # deleted accounts come back without a commenter; TwitchDownloader skips them too
        return None
    msg = node.get("message") or {}
    frags, emoticons, body = [], [], []
    for f in msg.get("fragments") or []:
        text = f.get("text")
        if text is None:
            continue
        body.append(text)
        emote = f.get("emote")
        if emote:
            eid = str(emote.get("emoteID") or emote.get("id") or "")
            begin = int(emote.get("from") or 0)
            frags.append({"text": text, "emoticon": {"emoticon_id": eid}})
            emoticons.append({"_id": eid, "begin": begin, "end": begin + max(len(text) - 1, 0)})
        else:
            frags.append({"text": text, "emoticon": None})
    text = "".join(body)
    badges = [
        {"_id": b.get("setID") or "", "version": b.get("version") or ""}
        for b in msg.get("userBadges") or []
        if b and (b.get("setID") or b.get("version"))
    ]
    bits = _BITS.search(text)
    return make_comment(
        node.get("id", ""),
        float(node.get("contentOffsetSeconds") or 0),
        (commenter.get("displayName") or "").strip(),
        text,
        vod_id=vod_id,
        created_at=node.get("createdAt") or EPOCH_ISO,
        user_id=commenter.get("id") or "",
        login=commenter.get("login") or "",
        channel_id=((video.get("creator") or {}).get("id") or ""),
        fragments=frags,
        emoticons=emoticons,
        badges=badges,
        color=msg.get("userColor"),
        bits=int(bits.group(1)) if bits else 0,
    )


def fetch_page_raw(
    client: GqlClient, vod_id: str, *, offset: int | None = None, cursor: str | None = None
) -> tuple[dict, list[dict], str | None, bool]:
    """One page as Twitch sent it: (video object, edges, cursor of the last edge, hasNextPage)."""
    what = f"VOD {vod_id} chat at " + (f"{offset}s" if cursor is None else "cursor")
    data = client.post(comments_request(vod_id, offset, cursor), what)
    item = data[0] if isinstance(data, list) and data else data
    video = ((item or {}).get("data") or {}).get("video")
    if video is None:
        raise VodNotFound(f"Twitch VOD {vod_id} not found while fetching chat (deleted, expired or private)")
    comments = video.get("comments")
    if comments is None:  # Twitch sometimes answers null comments; an empty page means "nothing here"
        return video, [], None, False
    edges = comments.get("edges") or []
    last_cursor = edges[-1].get("cursor") if edges else None
    return video, edges, last_cursor, bool((comments.get("pageInfo") or {}).get("hasNextPage"))
