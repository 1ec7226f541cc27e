"""Many VODs in one invocation: 20 chat-only VODs (short cuts of a real Twitch chat) run in parallel; one VOD whose
chat file passes the VOD table's check but cannot be read fails alone, with its step and reason in its status,
while the other 19 go on past it to their scored chat (--keep-going).

The targets stop at the chat sentiment table (2 jobs per VOD): each job is a fresh Python process, so the whole
chain for 20 VODs (96 jobs) takes minutes on 2 cores - measured in README, "Many VODs", not repeated here."""

from __future__ import annotations

import json

import pytest

from tests.helpers.scale_helpers import REAL_CHAT, cut_chat, max_concurrent_jobs, snakemake_log, write_table
from tests.helpers.workflow import run_snakemake

pytestmark = pytest.mark.workflow
SENTIMENT = "output/analysis/chat/{vod}_chat_sentiment.csv"

N_VODS = 20
CUT_SECONDS = 60
BROKEN = "m07"


@pytest.fixture(scope="module")
def many(tmp_path_factory):
    if not REAL_CHAT.is_file():
        pytest.skip("../shared/data is not present")
    work = tmp_path_factory.mktemp("many")
    (work / "in").mkdir()
    rows, comments = [], {}
    for i in range(N_VODS):
        vod = f"m{i:02d}"
        path = work / "in" / f"{vod}.json"
        if vod == BROKEN:
            # Exists (so the table check passes) but is no chat log: only its chat_fetch job can tell.
            path.write_bytes(b"\x00\x01\x02 not a chat log \xff\xfe")
        else:
            # A different 90 s of the real 49-minute stream for each VOD.
            cut_chat(path, i * 140, CUT_SECONDS)
            comments[vod] = len(json.loads(path.read_text())["comments"])
        rows.append((vod, "", "", path, f"many {i}"))
    table = write_table(work / "vods.tsv", rows)
    targets = [SENTIMENT.format(vod=f"m{i:02d}") for i in range(N_VODS)]
    proc = run_snakemake(work, *targets, "--keep-going", "--config", f"vods={table}", check=False)
    return work, proc, comments


def test_one_broken_vod_does_not_stop_the_others(many):
    work, proc, comments = many
    assert proc.returncode != 0, "the broken VOD's failure is reported in the exit code"
    done = sorted(p.name.split("_")[0] for p in (work / "output/analysis/chat").glob("*_chat_sentiment.csv"))
    assert done == sorted(comments), "every VOD but the broken one has its scored chat"
    for vod, n in comments.items():
        rows = (work / SENTIMENT.format(vod=vod)).read_text().strip().splitlines()
        assert len(rows) - 1 == n, f"{vod}: one sentiment row per comment"
        status = json.loads((work / f"output/status/{vod}.json").read_text())
        assert status["status"] != "Failed"


def test_broken_vod_status_names_step_and_reason(many):
    work, proc, _ = many
    status = json.loads((work / f"output/status/{BROKEN}.json").read_text())
    assert status["status"] == "Failed"
    assert status["step"] == "chat_fetch"
    assert status["reason"] and "\n" not in status["reason"]
    assert f"{BROKEN}.json" in status["reason"], status["reason"]
    assert not (work / f"output/raw/chat/{BROKEN}_chat.json").exists()


def test_vods_ran_in_parallel(many):
    work, _, _ = many
    # With --cores 2, independent jobs of different VODs overlap.
    assert max_concurrent_jobs(snakemake_log(work)) >= 2
