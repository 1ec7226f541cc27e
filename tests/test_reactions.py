"""The learned chat highlight engine: reaction features from the chat itself (klipstream.highlights.reactions), the
skops model (highlights.chat_model), and that the ranking the benchmarks measure is the one the workflow writes."""

import importlib.util
import json
import sys

import numpy as np
import pandas as pd
import pytest

from klipstream.errors import KlipError
from klipstream.highlights import chat_model, reactions
from klipstream.highlights.chat import annotate, chat_score
from klipstream.highlights.params import ScoreParams
from klipstream.highlights.readers import ChatTable
from tests.helpers.workflow import ROOT, SHARED_DATA, run_snakemake, write_table


def table(rows, named=True):
    df = pd.DataFrame(rows, columns=["time", "user", "message"])
    if not named:
        df["user"] = ""
    df = df.sort_values("time", kind="stable").reset_index(drop=True)
    return annotate(ChatTable(df, np.zeros(0), df["time"].to_numpy(dtype=float)))


def test_runs_of_one_character_fold_to_two_in_any_script():
    got = reactions.fold_runs(pd.Series(["LOOOOL", "7777777", "哈哈哈哈哈", "ㅋㅋㅋㅋ", "wwww", " Pog "]))
    assert got.tolist() == ["lool", "77", "哈哈", "ㅋㅋ", "ww", "pog"]


def test_an_echo_is_someone_else_saying_the_same_thing_within_ten_seconds():
    keys = np.array(["77", "77", "77", "77", "hi"])
    users = np.array(["a", "b", "b", "c", "d"])
    t = np.array([0.0, 3.0, 5.0, 16.0, 17.0])
    # b after a: echo; b after b: the same chatter; c 11 s after b: too late; hi: first of its text
    assert reactions.echo_flags(keys, users, t, named=True).tolist() == [False, True, False, False, False]
    # without user names every message is its own chatter
    assert reactions.echo_flags(keys, users, t, named=False).tolist() == [False, True, True, False, False]


def test_vocab_lift_is_the_tokens_burst_share_shrunk_towards_one():
    folded = pd.Series(["77 77", "77", "77", "77", "hi", "hi", "hi", "hi", "hi", "hi"])
    in_burst = np.array([True, True, True, True, False, False, False, False, False, False])
    w = reactions.vocab_weights(folded, in_burst)
    p0 = 0.4  # 4 of 10 messages in bursts; tokens are counted where they occur ("77 77" twice)
    lift_77 = (5 + reactions.VOCAB_PRIOR * p0) / (5 + reactions.VOCAB_PRIOR) / p0  # 13 / 25 / 0.4 = 1.3
    lift_hi = (0 + reactions.VOCAB_PRIOR * p0) / (6 + reactions.VOCAB_PRIOR) / p0  # 8 / 26 / 0.4
    assert w[:4] == pytest.approx([lift_77] * 4)
    assert w[4:] == pytest.approx([lift_hi] * 6)


def test_series_count_each_chatter_once_per_slot():
    chat = table([(0.2, "a", "777"), (0.5, "a", "777"), (1.0, "b", "777"), (3.0, "c", "hello there friend")])
    sp = ScoreParams(chat_window=15)
    s = reactions.series(chat, 5, np.ones(5, dtype=bool), sp)
    assert s["all"].tolist() == [1, 1, 0, 1, 0]  # a's second 777 is in the same slot
    assert s["short"].tolist() == [1, 1, 0, 0, 0]
    assert s["echo"].tolist() == [0, 1, 0, 0, 0]


def crowd_chat(seed=0, seconds=1800, bursts=(400, 900, 1400), text="7777777"):
    """Steady chatter of 40 people in a language the cue table does not know, and `bursts` where 30 people type
    the same thing within 15 s."""
    rng = np.random.default_rng(seed)
    words = ["今天", "吃飯", "這隻", "角色", "好玩", "等等", "主播", "聊天", "遊戲", "然後"]
    rows = [
        (float(t), f"u{rng.integers(40)}", " ".join(rng.choice(words, rng.integers(1, 4))))
        for t in np.sort(rng.uniform(0, seconds, seconds // 2))
    ]
    for b in bursts:
        rows += [(b + float(rng.uniform(0, 15)), f"r{i}", text) for i in range(30)]
    return rows


def test_a_crowd_reaction_in_any_language_ranks_first():
    """7777777 is in no cue table: it weighs as a reaction because this chat says it in its own bursts."""
    chat = table(crowd_chat())
    tl = pd.DataFrame({"time": np.arange(1801, dtype=float), "messages": 0})
    learned = chat_score(tl, chat, ScoreParams())["burst_z"].to_numpy()
    table_only = chat_score(tl, chat, ScoreParams(chat_weight_learned=0))["burst_z"].to_numpy()
    for b in (400, 900, 1400):
        assert learned[b : b + 20].max() > 3 * table_only[b : b + 20].max()  # 30 x 0.05 -> 30 x about 0.3
        assert learned[b : b + 20].max() > 2 * np.r_[learned[100:350], learned[500:850]].max()


def test_the_shipped_model_loads_and_names_its_features():
    model, cols = chat_model.load(str(chat_model.resolve("esports")))
    assert cols and all("@" in c for c in cols)
    assert model.n_features_in_ == len(cols)


def test_a_missing_or_foreign_model_is_one_line_naming_it(tmp_path):
    with pytest.raises(KlipError, match="not found: .*nope.skops"):
        chat_model.load(str(tmp_path / "nope.skops"))
    bad = tmp_path / "bad.skops"
    bad.write_bytes(b"not a zip")
    with pytest.raises(KlipError, match="bad.skops cannot be read"):
        chat_model.load(str(bad))


@pytest.mark.slow
@pytest.mark.workflow
@pytest.mark.skipif(not (SHARED_DATA / "chat").is_dir(), reason="../shared/data/chat not present")
def test_the_benchmarks_ranking_is_the_workflows_own(tmp_path):
    """What is shipped is what is measured: bench/highlight_cv.py ranks through the same functions as the
    workflow, so its moments equal the integrated analysis the workflow writes for the same chat."""
    spec = importlib.util.spec_from_file_location("highlight_cv", ROOT / "bench" / "highlight_cv.py")
    cv = importlib.util.module_from_spec(spec)
    sys.modules["highlight_cv"] = cv
    spec.loader.exec_module(cv)
    src = SHARED_DATA / "chat" / "twitch_v5_1087079172.json"
    vods = tmp_path / "vods.tsv"
    write_table(vods, [("fallguys", "", "", str(src), "fallguys")])
    target = "output/analysis/fallguys_integrated_analysis.json"
    run_snakemake(tmp_path, target, "--config", f"vods={vods}")
    doc = json.loads((tmp_path / target).read_text(encoding="utf-8"))
    chat = cv.load_chat(src, "fallguys")
    moments, _ = cv.rank(("fallguys", chat, cv.timeline_of(chat), None), {})
    got = [(h["peak"], h["start"], h["end"]) for h in sorted(doc["highlights"], key=lambda h: h["rank"])]
    want = [(round(m["peak"], 3), round(m["start"], 3), round(m["end"], 3)) for m in moments]
    assert got == want
