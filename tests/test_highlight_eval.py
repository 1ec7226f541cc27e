"""bench/highlight_eval.py: the P@K / recall@K metric, the message-rate baseline and the random reference on tiny
hand-computed inputs (no Snakemake), and the shape of the highlight dev set in bench/devsets/."""

import importlib.util
import json
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.helpers.workflow import ROOT

spec = importlib.util.spec_from_file_location("highlight_eval", ROOT / "bench" / "highlight_eval.py")
he = importlib.util.module_from_spec(spec)
sys.modules["highlight_eval"] = he  # dataclasses look their module up while the file runs
spec.loader.exec_module(he)

DEVSET = ROOT / "bench" / "devsets" / "highlights.csv"
PASS2 = ROOT / "bench" / "devsets" / "highlights_pass2.csv"
ANNOTATOR_B = ROOT / "bench" / "devsets" / "highlights_annotator_b.csv"
CHATS = {"twitch_v5_1087079172": "twitch_v5_1087079172.json", "fuslie_4h": "fuslie_4h.txt"}
KINDS = {"play", "fail", "funny", "scare", "reveal", "emotional", "donation"}


def labels(*spans):
    return pd.DataFrame({"vod_id": "v", "start": [s for s, _ in spans], "end": [e for _, e in spans]})


# ----------------------------------------------------------------------------------------------- metric


def test_hit_is_inside_the_label_widened_by_the_tolerance_on_both_sides():
    lab = labels((100, 120))
    assert he.hit_mask([89.9, 90, 110, 130, 130.1], lab).tolist() == [False, True, True, True, False]
    assert he.hit_mask([95], lab, tol=0).tolist() == [False]


def test_precision_counts_every_hit_recall_counts_labels_found():
    lab = labels((100, 120), (200, 210))  # K = 2
    # both top-2 predictions hit the first label: P = 2/2, but only 1 of 2 labels is found
    r = he.score([95, 125, 205, 500], lab)
    assert (r["k"], r["hits"], r["precision_at_k"], r["recall_at_k"]) == (2, 2, 1.0, 0.5)
    # ranked order matters: only the top K are looked at
    r = he.score([500, 205, 95], lab)
    assert (r["hits"], r["precision_at_k"], r["recall_at_k"]) == (1, 0.5, 0.5)


def test_fewer_predictions_than_k_count_as_misses():
    lab = labels((100, 120), (200, 210), (300, 310), (400, 410))  # K = 4
    r = he.score([110], lab)
    assert (r["predicted"], r["precision_at_k"], r["recall_at_k"]) == (1, 0.25, 0.25)
    assert he.score([], lab)["precision_at_k"] == 0.0


def test_explicit_k():
    lab = labels((100, 120), (200, 210))
    r = he.score([110, 205, 999], lab, k=3)
    assert (r["hits"], r["precision_at_k"], r["recall_at_k"]) == (2, 2 / 3, 1.0)


def test_engine_peaks_are_read_in_rank_order():
    doc = {"highlights": [{"rank": 2, "peak": 50.0}, {"rank": 1, "peak": 300.0}, {"rank": 3, "peak": 10.0}]}
    assert he.engine_peaks(doc) == [300.0, 50.0, 10.0]


# ----------------------------------------------------------------------------------------------- baseline


def test_window_counts_are_centred_25_s_windows():
    c = he.window_counts([0, 1, 2, 10, 30])
    # t=0: [-12.5, 12.5) -> 0,1,2,10; t=20: [7.5, 32.5) -> 10,30; t=30: [17.5, 42.5) -> 30
    assert (c[0], c[20], c[30], len(c)) == (4, 2, 1, 31)


def test_baseline_peaks_are_60_s_apart_moved_back_15_s_by_count():
    times = [100.0] * 10 + [130.0] * 6 + [300.0] * 5
    # 10 at 100 s: every window centred in 88..112 s holds them -> one peak at the centre, 100 s -> 85 s.
    # 6 at 130 s: its peak (130 s) is 30 s from 100 s -> dropped. 5 at 300 s -> 285 s. Nothing else is left.
    assert he.baseline_moments(times, 2, duration=1000) == [85.0, 285.0]
    assert he.baseline_moments(times, 5, duration=1000) == [85.0, 285.0]
    assert he.baseline_moments(times, 1, duration=1000) == [85.0]
    # by default the seconds end with the last message: the 300 s plateau is cut to 288..300 s, centre 294 s
    assert he.baseline_moments(times, 2) == [85.0, 279.0]


def test_baseline_ranks_by_count_not_by_time():
    times = [50.0] * 3 + [500.0] * 8
    assert he.baseline_moments(times, 2, duration=1000) == [485.0, 35.0]


def test_baseline_never_goes_before_zero_and_handles_no_chat():
    assert he.baseline_moments([5.0] * 3, 1) == [0.0]  # plateau 0..17 s, centre 8 s, minus 15 s
    assert he.baseline_moments([], 3) == []


def test_random_reference_is_reproducible_and_in_range():
    a, b = he.random_moments(5, 100.0, 3), he.random_moments(5, 100.0, 3)
    assert a == b and all(0 <= x <= 100 for x in a)
    lab = labels((0, 100))  # covers everything: every random moment hits
    r = he.random_score(lab, 100.0, seeds=4)
    assert (r["precision_at_k"], r["recall_at_k"], r["seeds"]) == (1.0, 1.0, 4)


def test_chat_arguments_name_their_vod():
    assert he.parse_chat_arg("abc=some/where/chat.txt") == ("abc", Path("some/where/chat.txt"))
    assert he.parse_chat_arg("data/fuslie_4h.txt") == ("fuslie_4h", Path("data/fuslie_4h.txt"))
    with pytest.raises(SystemExit):
        he.parse_chat_arg("data/bad id.txt")


def test_run_engine_refuses_bad_ids(tmp_path):
    with pytest.raises(ValueError):
        he.run_engine(tmp_path / "c.txt", "no/slash", tmp_path)


def test_frame_scores_are_seconds_of_the_union_of_spans_against_the_union_of_labels():
    lab = labels((100, 120), (110, 130), (300, 310))  # truth: 100-130 and 300-310 = 40 s
    got = he.frame_prf([(90, 110), (105, 115), (500, 510)], lab)  # prediction: 90-115 and 500-510 = 35 s
    # overlap 100-115 = 15 s: precision 15/35, recall 15/40
    assert got["frame_precision"] == pytest.approx(15 / 35) and got["frame_recall"] == pytest.approx(15 / 40)
    p, r = 15 / 35, 15 / 40
    assert got["frame_f"] == pytest.approx(2 * p * r / (p + r))
    assert he.frame_prf([], lab)["frame_f"] == 0.0


def test_table_has_a_mean_row():
    r = {
        "k": 2,
        "engine": {"predicted": 1, "precision_at_k": 0.5, "recall_at_k": 0.5},
        "baseline": {"predicted": 2, "precision_at_k": 1.0, "recall_at_k": 1.0},
        "random": {"predicted": 2, "precision_at_k": 0.0, "recall_at_k": 0.0},
    }
    for m, f in (("engine", 0.25), ("baseline", 0.5), ("random", 0.0)):
        r[m].update(frame_precision=f, frame_recall=f, frame_f=f)
    out = he.table({"a": r, "b": json.loads(json.dumps(r))})
    assert "MEAN" in out and "engine" in out and " 0.500" in out


# ----------------------------------------------------------------------------------------------- dev set


@pytest.mark.parametrize("path", [DEVSET, PASS2, ANNOTATOR_B], ids=["pass1", "pass2", "annotator_b"])
def test_devset_is_well_formed(path):
    d = pd.read_csv(path)
    assert list(d.columns) == ["vod_id", "start", "end", "kind", "note"]
    assert d[["vod_id", "start", "end", "kind", "note"]].notna().all().all()
    assert set(d["vod_id"]) <= set(CHATS)
    assert (d["start"] >= 0).all() and (d["start"] < d["end"]).all()
    assert set(d["kind"]) <= KINDS
    assert not d.duplicated(["vod_id", "start", "end"]).any()


def test_devset_covers_both_vods_and_pass2_is_fuslies_first_hour():
    d, p2 = pd.read_csv(DEVSET), pd.read_csv(PASS2)
    n = d.groupby("vod_id").size()
    assert 15 <= n["twitch_v5_1087079172"] <= 60 and 40 <= n["fuslie_4h"] <= 120
    assert set(p2["vod_id"]) == {"fuslie_4h"} and p2["start"].max() < 3600
    b = pd.read_csv(ANNOTATOR_B).groupby("vod_id")["start"]
    # the second annotator labelled both chats whole (2,922 s and 15,284 s): labels in the first and last 10 minutes
    assert set(b.groups) == set(CHATS) and (b.min() < 600).all()
    assert b.max()["twitch_v5_1087079172"] > 2922 - 600 and b.max()["fuslie_4h"] > 15284 - 600


def test_devset_times_lie_inside_each_chat(shared_data, tmp_path):
    from klipstream.chat.importers import import_chat
    from klipstream.chat.io import read_chat_frame

    d = pd.concat([pd.read_csv(DEVSET), pd.read_csv(PASS2), pd.read_csv(ANNOTATOR_B)])
    for vod, name in CHATS.items():
        out = tmp_path / f"{vod}.json"
        import_chat(shared_data / "chat" / name, out, vod)
        t = read_chat_frame(out)["time"]
        lab = d[d["vod_id"] == vod]
        assert (lab["start"] >= t.min()).all() and (lab["end"] <= t.max()).all(), vod


# ----------------------------------------------------------------------------------------------- agreement


def test_interval_matching_is_one_to_one_within_the_tolerance():
    a = labels((100, 120), (200, 210), (500, 520))
    b = labels((125, 140), (128, 129), (221, 230), (900, 910))
    # (100,120)~(125,140): gap 5; (128,129) would also fit but a is used; (200,210)~(221,230): gap 11 > 10
    assert he.match_intervals(a, b) == [(0, 0)]
    assert sorted(he.match_intervals(a, b, tol=11)) == [(0, 0), (1, 2)]


def test_agreement_f1():
    a = labels((100, 120), (200, 210)).assign(kind=["funny", "fail"])
    b = labels((105, 115), (205, 215), (600, 610)).assign(kind=["funny", "play", "funny"])
    g = he.agreement(a, b)
    assert (g["matched"], g["precision"], g["recall"], g["same_kind"]) == (2, 2 / 3, 1.0, 1)
    assert g["f1"] == pytest.approx(0.8)


# ----------------------------------------------------------------------------------------------- overlay stress set


def test_overlay_stacks_layers_and_shifts_labels_with_them(tmp_path):
    spec = importlib.util.spec_from_file_location("overlay_chat", ROOT / "bench" / "overlay_chat.py")
    oc = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(oc)
    log = tmp_path / "chat.txt"  # one message at 10 s, 110 s, 210 s, 250 s: layers of 100 s
    log.write_text(
        "".join(
            f"[0:{m:02d}:{s:02d}] user{i}: msg{i}\n" for i, (m, s) in enumerate([(0, 10), (1, 50), (3, 30), (4, 10)])
        )
    )
    lab = pd.DataFrame(
        {"vod_id": ["v", "v", "v", "w"], "start": [5.0, 105.0, 230.0, 5.0], "end": [15.0, 120.0, 240.0, 9.0]}
    )
    chat, out_labels = oc.overlay(log, "v", lab, 100.0, 2, tmp_path / "out")
    rows = [json.loads(line.rstrip(",\n")) for line in chat.read_text().splitlines()[1:] if line.startswith("{")]
    assert [(r["_id"].rsplit("-", 1)[1], r["content_offset_seconds"]) for r in rows] == [("L0", 10.0), ("L1", 10.0)]
    got = pd.read_csv(out_labels)
    assert got.to_dict("list") == {"vod_id": ["v_x2", "v_x2"], "start": [5.0, 5.0], "end": [15.0, 20.0]}


def test_span_ranks_and_scores_only_inside_the_labelled_stretch(tmp_path):
    from klipstream.chat.io import make_comment, write_chat

    times = [100.0] * 10 + [1130.0] * 6 + [2300.0] * 5
    chat = tmp_path / "chat.json"
    write_chat(chat, [make_comment(f"c{i}", t, f"u{i}", "KEKW", vod_id="v") for i, t in enumerate(times)], vod_id="v")
    doc = tmp_path / "doc.json"
    doc.write_text(
        json.dumps(
            {
                "highlights": [
                    {"rank": r, "peak": p, "start": p - 10, "end": p + 10}
                    for r, p in ((1, 90.0), (2, 1120.0), (3, 2290.0))
                ],
                "reaction_lag": {"seconds": 15, "method": "default"},
            }
        )
    )
    run = he.EngineRun("v", tmp_path, doc, chat, 1.0)
    lab = labels((1100, 1140))  # K = 1, inside 1000-2000 s
    whole = he.evaluate_vod(run, lab, seeds=3, tol=10)
    # over the whole VOD both top-1 picks are the 100 s burst (engine 90 s, baseline 85 s): misses
    assert (whole["engine"]["hits"], whole["baseline"]["hits"]) == (0, 0)
    cut = he.evaluate_vod(run, lab, seeds=3, tol=10, span=(1000.0, 2000.0))
    # inside the span: engine 1120 s, baseline 1130 - 15 = 1115 s, both hits
    assert (cut["engine"]["peaks"], cut["baseline"]["peaks"]) == ([1120.0], [1115.0])
    assert (cut["engine"]["hits"], cut["baseline"]["hits"], cut["span"]) == (1, 1, [1000.0, 2000.0])
    assert all(1000 <= t <= 2000 for s in range(3) for t in he.random_moments(5, 2000.0, s, start=1000.0))
    assert he.parse_span("v=1000:2000") == ("v", (1000.0, 2000.0))
    with pytest.raises(SystemExit):
        he.parse_span("v=2000:1000")
