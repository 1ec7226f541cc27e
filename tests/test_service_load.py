"""A small run of bench/service_limits.py: `klipstream serve` on 127.0.0.1 under oversized, chunked, malformed and
unauthorised bodies keeps its memory flat, answers each with the right status and never echoes the input."""

import importlib.util
import tempfile
from pathlib import Path

import pytest

from tests.helpers.workflow import ROOT

spec = importlib.util.spec_from_file_location("service_limits", ROOT / "bench" / "service_limits.py")
limits = importlib.util.module_from_spec(spec)
spec.loader.exec_module(limits)


@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="reads the server's RSS from /proc")
def test_memory_stays_flat_under_hostile_bodies():
    with tempfile.TemporaryDirectory() as tmp:
        port = limits.free_port()
        proc = limits.start_server(Path(tmp), port)
        try:
            for _ in range(20):
                limits.request(port, "POST", "/api/v1/analysis", b"{}", {"Authorization": f"Bearer {limits.TOKEN}"})
            result = limits.run(port, proc.pid, requests=270, concurrency=4, seconds=60, body_mb=10)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    codes = result["status_codes"]
    assert result["requests"] == 270, result
    assert codes["big, no token"] == codes["big, wrong token"] == codes["read, no token"] == {401: 30}
    assert codes["big, token"] == codes["big chunked, token"] == {413: 30}
    assert codes["malformed json"] == codes["extra keys"] == codes["bad reference"] == {422: 30}
    assert codes["deep json"] == {400: 30}
    assert result["echoed_input"] == {}
    assert result["rss_mb"]["peak"] - result["rss_mb"]["before"] < 25, result  # 270 x 10 MB sent
    assert result["health_ms"]["max"] < 2000, result
