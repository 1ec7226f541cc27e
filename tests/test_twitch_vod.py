"""VOD id parsing and Twitch links."""

import pytest

from klipstream.errors import KlipError
from klipstream.twitch.ids import format_offset, is_vod_id, parse_vod_id, vod_url


@pytest.mark.parametrize(
    "value",
    [
        "2345678901",
        2345678901,
        "v2345678901",
        " https://www.twitch.tv/videos/2345678901 ",
        "https://www.twitch.tv/videos/2345678901?t=1h2m3s",
        "twitch.tv/videos/2345678901/",
        "http://m.twitch.tv/videos/2345678901",
        "https://www.twitch.tv/somebody/v/2345678901",
        "https://player.twitch.tv/?video=v2345678901&parent=x",
        "https://www.twitch.tv/x/schedule?vodID=2345678901",
    ],
)
def test_parse_vod_id(value):
    assert parse_vod_id(value) == "2345678901"


@pytest.mark.parametrize(
    "value",
    [
        "https://www.youtube.com/watch?v=123",
        "https://www.twitch.tv/somebody",
        "https://clips.twitch.tv/Abc",
        "https://evil.example/videos/123",
        "abc",
        "",
        "0",
        "https://www.twitch.tv/videos/abc",
    ],
)
def test_rejects_non_vods(value):
    with pytest.raises(KlipError, match="Twitch VOD") as e:
        parse_vod_id(value)
    assert "\n" not in str(e.value)


def test_links():
    assert format_offset(3723.9) == "1h2m3s" and format_offset(59) == "59s" and format_offset(60) == "1m0s"
    assert format_offset(7200) == "2h0m0s" and format_offset(-5) == "0s"
    assert vod_url("v42") == "https://www.twitch.tv/videos/42"
    assert vod_url(42, 3723.2) == "https://www.twitch.tv/videos/42?t=1h2m3s"
    assert is_vod_id("42") and not is_vod_id("042") and not is_vod_id("https://www.twitch.tv/videos/42")
