"""Shared test fixtures: the shared real-data folder and the GCS emulator. Helpers live in tests/helpers/."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.workflow import SHARED_DATA

# Modules whose tests take seconds each without running the whole workflow: a real browser, real speech decoding,
# rendered clips, a service under load. With the `workflow` and `slurm` tests they make up the `slow` set.
SLOW_MODULES = {
    "test_report_browser",
    "test_report_play",
    "test_exports",
    "test_transcribe_offline",
    "test_service_load",
    "test_cluster_plugins",
    "test_twitch_video",
    "test_twitch_gql",
    "test_clips",
    "test_emotions_llm",
    "test_transcribe_deepgram",
    "test_demo_data",
}


def pytest_collection_modifyitems(items):
    """Mark the slow tests, so `pytest -m "not slow"` is a quick subset (under a minute) for the edit-test loop."""
    for item in items:
        module = item.module.__name__.rsplit(".", 1)[-1]
        if module in SLOW_MODULES or item.get_closest_marker("workflow") or item.get_closest_marker("slurm"):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real chat logs, emotes and speech beside the repo; tests using it skip on a user's fresh clone."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present")
    return SHARED_DATA


@pytest.fixture(scope="module")
def emulator():
    """gcp-storage-emulator on 127.0.0.1 for one test module (publish and storage-plugin tests)."""
    from tests.helpers.publish_stubs import Emulator

    emu = Emulator()
    yield emu
    emu.stop()
