"""The chat dev set (bench/devsets/chat_messages*.csv) is well formed and every id resolves to a real message."""

import pandas as pd
import pytest

from bench.devsets.chat_source import (  # noqa: E402
    DATA_DIR,
    DEVSET,
    DEVSET_COLUMNS,
    EMOTIONS,
    PASS2,
    SENTIMENTS,
    SOURCES,
    read_labels,
    read_source,
)
from tests.helpers.workflow import ROOT

STRATA = {"random", "emote_only", "short_text", "long_text", "question", "command", "copypasta", "non_english"}


@pytest.fixture(scope="module")
def devset():
    return read_labels(DEVSET)


@pytest.fixture(scope="module")
def pass2():
    return read_labels(PASS2)


def check_labels(frame):
    assert list(frame.columns) == DEVSET_COLUMNS
    assert set(frame["source"]) <= set(SOURCES)
    assert set(frame["stratum"]) <= STRATA
    assert set(frame["sentiment"]) <= set(SENTIMENTS)
    assert set(frame["emotion"]) <= set(EMOTIONS)
    assert (frame["message_id"] != "").all()
    assert not frame.duplicated(["source", "message_id"]).any()


def test_devset_is_well_formed(devset):
    assert len(devset) >= 1000
    check_labels(devset)
    assert set(devset["sentiment"]) == set(SENTIMENTS) and set(devset["emotion"]) == set(EMOTIONS)
    # fuslie ids are 1-based line numbers
    assert devset.loc[devset["source"] == "fuslie_4h.txt", "message_id"].str.fullmatch(r"[1-9]\d*").all()
    sampled = pd.read_csv(ROOT / "bench" / "devsets" / "chat_sample_ids.csv", dtype=str, keep_default_na=False)
    assert (
        sampled.sort_values(["source", "message_id"]).values.tolist()
        == devset[["source", "message_id", "stratum"]].sort_values(["source", "message_id"]).values.tolist()
    )


def test_second_pass_is_200_ids_of_the_devset(devset, pass2):
    assert len(pass2) == 200
    check_labels(pass2)
    keys = set(zip(devset["source"], devset["message_id"]))
    assert set(zip(pass2["source"], pass2["message_id"])) <= keys


@pytest.mark.skipif(not DATA_DIR.is_dir(), reason=f"{DATA_DIR} (shared chat data) not present")
def test_every_id_resolves_to_a_message(devset):
    for source in SOURCES:
        chat = read_source(source, DATA_DIR)
        text = dict(zip(chat["message_id"], chat["message"]))
        ids = devset.loc[devset["source"] == source, "message_id"]
        assert len(ids) > 0
        missing = [i for i in ids if i not in text]
        assert missing == []
        assert all(text[i].strip() for i in ids)


def test_evaluate_takes_any_score_fn():
    from bench import chat_sentiment_eval as ev

    dev = pd.DataFrame(
        {
            "source": "x",
            "message_id": ["1", "2", "3", "4"],
            "stratum": "random",
            "sentiment": ["positive", "neutral", "negative", "neutral"],
            "emotion": ["funny", "neutral", "anger", "neutral"],
            "time": [0.0, 1, 2, 3],
            "user": "u",
            "message": ["KEKW", "hi", "ugh", "!uptime"],
            "emotes": "",
        }
    )

    def perfect(texts):
        s = {"KEKW": 0.9, "hi": 0.0, "ugh": -0.9, "!uptime": 0.01}
        e = {"KEKW": "funny", "hi": "neutral", "ugh": "anger", "!uptime": "neutral"}
        return pd.DataFrame(
            [{"sentiment_score": s[m], **{c: float(c == e[m]) for c in ev.EMOTIONS}} for m in texts["message"]]
        )

    result = ev.evaluate({"perfect": perfect}, dev, pass2=dev[["source", "message_id", "sentiment", "emotion"]])
    assert result["scorers"]["perfect"]["sentiment"]["macro_f1"] == 1.0
    assert result["scorers"]["perfect"]["emotion"]["accuracy"] == 1.0
    assert result["scorers"]["majority"]["sentiment"]["per_class"]["neutral"]["recall"] == 1.0
    assert result["agreement"]["sentiment"]["percent_agreement"] == 100.0
    assert result["kept_by_workflow_filter"] == 3  # the command is filtered
    assert "perfect" in ev.report(result)


@pytest.mark.slow
@pytest.mark.workflow
def test_devset_scores_are_the_workflows_own_output(shared_data, tmp_path):
    """What is shipped is what is measured: the 'shipped' scorer of bench/chat_sentiment_eval.py gives, for every
    dev-set message, exactly what chat_sentiment.csv says when the workflow imports and scores the whole real chat."""
    from bench import chat_sentiment_eval as ev
    from bench.devsets.chat_source import load_devset
    from tests.helpers.workflow import run_snakemake, write_table

    dev = load_devset(data_dir=shared_data / "chat")
    vods = {"twitch_v5_1087079172.json": "nl", "fuslie_4h.txt": "fuslie"}  # comment ids: `_id`; `<vod>-<line>`
    write_table(tmp_path / "vods.tsv", [(vod, "", "", shared_data / "chat" / src, vod) for src, vod in vods.items()])
    targets = [f"output/analysis/chat/{vod}_chat_sentiment.csv" for vod in vods.values()]
    run_snakemake(tmp_path, *targets, "--config", f"vods={tmp_path / 'vods.tsv'}")
    written = []
    for src, vod in vods.items():
        csv = pd.read_csv(tmp_path / f"output/analysis/chat/{vod}_chat_sentiment.csv", dtype={"comment_id": str})
        ids = dev.loc[dev["source"] == src, "message_id"].astype(str)
        ids = ids if src.endswith(".json") else f"{vod}-" + ids
        rows = csv.set_index("comment_id").reindex(ids)
        assert rows["message"].notna().all(), f"dev-set ids of {src} missing from the workflow's output"
        written.append(rows[ev.SCORE_COLUMNS].set_axis(ids.index))
    workflow = pd.concat(written).sort_index()
    texts = dev[["message_id", "time", "user", "message", "emotes"]].rename(columns={"message_id": "comment_id"})
    shipped = ev.shipped_scorer()(texts.fillna(""))
    pd.testing.assert_frame_equal(shipped.reset_index(drop=True), workflow.reset_index(drop=True), check_exact=True)
