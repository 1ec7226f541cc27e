"""Where klipstream reaches Twitch: the GQL API (chat, VOD metadata, playback tokens) and the usher host that
serves the HLS playlists (whose segment URLs then come from the playlist itself).

Each endpoint is set, in order of precedence, by an environment variable (a deployment or a test points a whole
workflow run elsewhere without editing files), the `twitch` section of the config, or the real host."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

GQL_URL = "https://gql.twitch.tv/gql"
USHER_URL = "https://usher.ttvnw.net"
ENV = {"gql_url": "KLIPSTREAM_TWITCH_GQL_URL", "usher_url": "KLIPSTREAM_TWITCH_USHER_URL"}


@dataclass(frozen=True)
class TwitchEndpoints:
    gql_url: str = GQL_URL
    usher_url: str = USHER_URL

    @classmethod
    def resolve(
        cls, settings: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None
    ) -> TwitchEndpoints:
        """Endpoints from the environment, else the `twitch` config section, else Twitch's own hosts."""
        env = os.environ if env is None else env
        settings = settings or {}
        chosen = {key: (env.get(var) or "").strip() or str(settings.get(key) or "").strip() for key, var in ENV.items()}
        return cls(**{key: value.rstrip("/") for key, value in chosen.items() if value})

    @property
    def is_twitch(self) -> bool:
        """True when every endpoint is Twitch's own (tools that cannot be redirected may then be used)."""
        return (self.gql_url, self.usher_url) == (GQL_URL, USHER_URL)

    @property
    def gql_host(self) -> str:
        return urlsplit(self.gql_url).netloc or self.gql_url
