"""Typed Twitch failures. Each is a KlipError (one line, naming the VOD or host) so the job glue reports it as is;
callers branch on the type, never on the message text."""

from __future__ import annotations

from ..errors import KlipError

LOCAL_HINT = "check the network or use a local video/chat file"


class TwitchError(KlipError):
    """Something Twitch (or the way to it) did; retrying the same request will not help."""


class TwitchUnreachable(TwitchError):
    """No connection to a Twitch host: name resolution failed, connection refused, no route."""


class TwitchRefused(TwitchError):
    """Twitch answered but refused the request (401/403, failed integrity check, unknown persisted query)."""


class VodNotFound(TwitchError):
    """The VOD does not exist (deleted, expired, private or a wrong id)."""


class VodSubOnly(TwitchError):
    """The VOD is for subscribers only and no cookies of an account that may watch it were given."""
