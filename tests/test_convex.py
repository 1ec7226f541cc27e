"""Convex HTTP client against a recording stub on 127.0.0.1: body shape, auth header, retries, bounded time."""

from __future__ import annotations

import logging
import time

import pytest

from klipstream.convex import ConvexClient, ConvexError, client_from_settings
from klipstream.settings import get_settings
from tests.helpers.publish_stubs import SECRET, ConvexStub, clean_env


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path):
    clean_env(monkeypatch, tmp_path)


def test_mutation_body_path_and_deploy_key_header():
    with ConvexStub() as stub:
        client = ConvexClient(stub.url, SECRET)
        assert client.update_status("2434635255", "Transcribing") is None
        client.update_urls("2434635255", {"chatUrl": "https://x/chat.json"})
    assert [r["path"] for r in stub.requests] == ["/api/mutation", "/api/mutation"]
    assert stub.requests[0]["body"] == {
        "path": "video:updateStatusByTwitchId",
        "args": {"twitchId": "2434635255", "status": "Transcribing"},
        "format": "json",
    }
    assert stub.requests[1]["body"] == {
        "path": "video:updateUrls",
        "format": "json",
        "args": {"twitchId": "2434635255", "urls": {"chatUrl": "https://x/chat.json"}},
    }
    # a deploy key (`name|secret`) is an admin key: `Convex <key>`
    assert stub.requests[0]["auth"] == f"Convex {SECRET}"


@pytest.mark.parametrize(
    "key, scheme, expected",
    [
        ("eyJhbGciOiJSUzI1NiJ9.user-token", "auto", "Bearer eyJhbGciOiJSUzI1NiJ9.user-token"),
        (SECRET, "bearer", f"Bearer {SECRET}"),
        (None, "auto", None),
        (SECRET, "none", None),
    ],
)
def test_auth_header_schemes(key, scheme, expected):
    with ConvexStub() as stub:
        ConvexClient(stub.url, key, auth_scheme=scheme).update_status("1", "Queued")
    assert stub.requests[0]["auth"] == expected


def test_function_error_is_not_retried_and_names_the_function():
    with ConvexStub(mode="error") as stub:
        client = ConvexClient(stub.url, SECRET, attempts=3, backoff_s=0.01)
        with pytest.raises(ConvexError) as info:
            client.update_status("77", "Queued")
    assert len(stub.requests) == 1
    assert info.value.retryable is False
    assert "video:updateStatusByTwitchId failed: no video 77" in str(info.value)


def test_500_is_retried_a_bounded_number_of_times():
    with ConvexStub(mode="500") as stub:
        client = ConvexClient(stub.url, SECRET, attempts=3, backoff_s=0.01)
        with pytest.raises(ConvexError, match="after 3 attempts: HTTP 500"):
            client.update_status("1", "Queued")
    assert len(stub.requests) == 3


def test_429_then_success_returns_value():
    with ConvexStub(mode=["429", "500"]) as stub:
        client = ConvexClient(stub.url, None, attempts=3, backoff_s=0.01)
        client.update_status("1", "Analyzing")
    assert len(stub.requests) == 3
    assert [r["body"]["args"]["status"] for r in stub.requests] == ["Analyzing"] * 3


def test_hanging_server_is_bounded_and_breaker_fails_fast():
    with ConvexStub(mode="hang", hang_s=3.0) as stub:
        client = ConvexClient(
            stub.url, SECRET, timeout_s=0.3, attempts=2, backoff_s=0.01, breaker_after=2, breaker_seconds=60
        )
        t0 = time.monotonic()
        for _ in range(2):
            with pytest.raises(ConvexError, match="after 2 attempts: ReadTimeout"):
                client.update_status("1", "Queued")
        first_two = time.monotonic() - t0
        n = len(stub.requests)
        t1 = time.monotonic()
        with pytest.raises(ConvexError, match="skipped, Convex unreachable"):
            client.update_status("1", "Downloading")
        assert time.monotonic() - t1 < 0.05
    assert n == 4 and len(stub.requests) == 4  # the open breaker sent nothing
    assert first_two < 2.5  # 4 timeouts of 0.3 s plus tiny backoffs, far below the 3 s hang


def test_secret_never_in_errors_or_logs(caplog, monkeypatch):
    monkeypatch.setenv("CONVEX_API_KEY", SECRET)
    caplog.set_level(logging.DEBUG)
    with ConvexStub(mode="500") as stub:
        client = ConvexClient(stub.url + "/", SECRET, attempts=2, backoff_s=0.01)
        with pytest.raises(ConvexError) as info:
            client.update_status("1", "Queued")
    text = str(info.value) + repr(client) + caplog.text
    assert "s3cr3tTok3nValue" not in text
    assert "retry 1/1" in caplog.text  # the retry was logged, without the key


def test_client_from_settings_uses_env_and_config(monkeypatch):
    assert client_from_settings(get_settings({})) is None
    monkeypatch.setenv("CONVEX_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("CONVEX_API_KEY", SECRET)
    cfg = {"convex": {"urls_function": "videos:setUrls", "timeout": 1.5, "attempts": 2}}
    client = client_from_settings(get_settings(cfg))
    assert (client.url, client.urls_function, client.status_function) == (
        "http://127.0.0.1:9",
        "videos:setUrls",
        "video:updateStatusByTwitchId",
    )
    assert (client.timeout_s, client.attempts, client.auth_scheme) == (1.5, 2, "convex")
    assert client_from_settings(get_settings(cfg)) is client  # one client per process: shared breaker
