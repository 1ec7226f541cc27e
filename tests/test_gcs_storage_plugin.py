"""The cloud profiles' storage path for real: Snakemake's GCS storage plugin as default storage, against
gcp-storage-emulator on 127.0.0.1 (started here). A chat-only VOD's inputs are read from the bucket and every
output (and log) lands in it; a second run finds nothing to do from the bucket's state alone."""

from __future__ import annotations

import importlib.util
import json
import os

import pandas as pd
import pytest

from tests.helpers.publish_stubs import emulator_command
from tests.helpers.scale_helpers import REAL_CHAT, cut_chat, write_table
from tests.helpers.workflow import planned_jobs, run_snakemake

pytestmark = [
    pytest.mark.workflow,
    pytest.mark.skipif(emulator_command() is None, reason="gcp-storage-emulator not installed"),
    pytest.mark.skipif(
        importlib.util.find_spec("snakemake_storage_plugin_gcs") is None,
        reason="snakemake-storage-plugin-gcs not installed",
    ),
]

VOD = "gcschat"
BUCKET = "klip-scale-test"
PREFIX = "run1"


def gcs_client(emulator):
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    os.environ["STORAGE_EMULATOR_HOST"] = emulator.host  # read by the client at construction
    try:
        return storage.Client(project="test", credentials=AnonymousCredentials())
    finally:
        del os.environ["STORAGE_EMULATOR_HOST"]


def test_chat_only_vod_outputs_land_in_the_bucket(tmp_path, emulator):
    if not REAL_CHAT.is_file():
        pytest.skip("../shared/data is not present")
    client = gcs_client(emulator)
    bucket = client.create_bucket(BUCKET)

    # The VOD table names the chat file relative to the work directory; default storage maps it to
    # gs://BUCKET/PREFIX/in/..., where a cloud user uploads it. (The local copy satisfies the table check.)
    (tmp_path / "in").mkdir()
    chat = cut_chat(tmp_path / "in" / f"{VOD}_chat.json", 0, 600)
    comments = len(json.loads(chat.read_text())["comments"])
    bucket.blob(f"{PREFIX}/in/{chat.name}").upload_from_filename(chat)
    table = write_table(tmp_path / "vods.tsv", [(VOD, "", "", f"in/{chat.name}", "gcs chat")])

    storage_args = [
        "--default-storage-provider",
        "gcs",
        "--default-storage-prefix",
        f"gs://{BUCKET}/{PREFIX}",
        "--storage-gcs-project",
        "test",
        "--config",
        f"vods={table}",
    ]
    env = {"STORAGE_EMULATOR_HOST": emulator.host, "USE_GCS": "false"}
    run_snakemake(tmp_path, *storage_args, env=env)

    names = {b.name for b in client.list_blobs(BUCKET, prefix=f"{PREFIX}/")}
    for rel in [
        f"output/raw/chat/{VOD}_chat.json",
        f"output/analysis/chat/{VOD}_chat_sentiment.csv",
        f"output/analysis/chat/{VOD}_chat_timeline.csv",
        f"output/analysis/chat/{VOD}_highlight_analysis.csv",
        f"output/analysis/chat/{VOD}_chat_activity.png",
        f"output/analysis/{VOD}_integrated_analysis.json",
        f"output/report/{VOD}.html",
        f"output/publish/{VOD}_manifest.json",
        f"logs/chat_sentiment_score/{VOD}.log",
        f"benchmarks/chat_sentiment_score/{VOD}.tsv",
    ]:
        assert f"{PREFIX}/{rel}" in names, f"{rel} not in the bucket: {sorted(names)}"
    # The outputs live in the bucket, not in the work directory.
    assert not (tmp_path / "output" / "analysis").exists()

    # What is in the bucket is the real analysis of that chat: one sentiment row per comment, chat highlights.
    sentiment = bucket.blob(f"{PREFIX}/output/analysis/chat/{VOD}_chat_sentiment.csv").download_as_bytes()
    (tmp_path / "sentiment.csv").write_bytes(sentiment)
    assert len(pd.read_csv(tmp_path / "sentiment.csv")) == comments
    doc = json.loads(bucket.blob(f"{PREFIX}/output/analysis/{VOD}_integrated_analysis.json").download_as_bytes())
    assert doc["vod_id"] == VOD and doc["highlights"]
    assert "chat" in doc["signals_used"] and not {"audio", "speech"} & set(doc["signals_used"])

    # A second run decides from the bucket's objects alone that everything is up to date.
    proc = run_snakemake(tmp_path, "--dry-run", *storage_args, env=env)
    assert proc.returncode == 0 and planned_jobs(proc) == set()
