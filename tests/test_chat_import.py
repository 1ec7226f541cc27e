"""Chat JSON writer/reader and the content-detected importers."""

from __future__ import annotations

import gzip
import json
import logging
from pathlib import Path

import pytest

from klipstream.chat.importers import detect_format, import_chat
from klipstream.chat.io import ChatWriter, make_comment, read_chat_frame, read_chat_meta
from klipstream.errors import KlipError
from tests.helpers.workflow import ROOT

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "chat"


def _v5(cid, t, user, body, emote=None):
    frags = [{"text": body, "emoticon": {"emoticon_id": "25", "emoticon_set_id": ""} if emote else None}]
    return {
        "_id": cid,
        "created_at": "2021-07-15T02:00:00Z",
        "content_offset_seconds": t,
        "commenter": {"display_name": user, "_id": "7", "name": user.lower()},
        "message": {"body": body, "fragments": frags, "emoticons": [], "user_badges": [], "user_color": None},
    }


def test_writer_layout_is_valid_json_one_comment_per_line(tmp_path):
    dst = tmp_path / "c.json"
    with ChatWriter(dst, vod_id="5", title="T", streamer="S", streamer_id=9, length=61.4) as w:
        w.write(
            make_comment(
                "a",
                1.5,
                "Ann",
                "hi Kappa",
                vod_id="5",
                fragments=[{"text": "hi ", "emoticon": None}, {"text": "Kappa", "emoticon": {"emoticon_id": "25"}}],
            )
        )
        w.write(make_comment("b", 2.0, "Bob", "yo", vod_id="5"))
    lines = dst.read_text().splitlines()
    assert len(lines) == 4 and lines[0].endswith('"comments": [') and lines[-1] == '], "embeddedData": null}'
    doc = json.loads(dst.read_text())
    assert doc["video"]["length"] == 61 and doc["streamer"] == {"name": "S", "id": 9}
    assert [c["_id"] for c in doc["comments"]] == ["a", "b"]
    assert read_chat_meta(dst)["video"]["title"] == "T"
    frame = read_chat_frame(dst)
    assert list(frame.columns) == ["comment_id", "time", "user", "message", "emotes"]
    assert frame["emotes"].tolist() == ["Kappa", ""] and frame["time"].tolist() == [1.5, 2.0]


def test_failed_write_leaves_no_file(tmp_path):
    dst = tmp_path / "c.json"
    with pytest.raises(RuntimeError):
        with ChatWriter(dst, vod_id="5") as w:
            w.write(make_comment("a", 1.0, "A", "x", vod_id="5"))
            raise RuntimeError("boom")
    assert not dst.exists() and list(tmp_path.iterdir()) == []


def test_twitchdownloader_json_new_gz_sorted_and_deduplicated(tmp_path):
    doc = {
        "FileInfo": {"Version": {"Major": 1, "Minor": 3, "Patch": 0}},
        "streamer": {"name": "Strm", "id": 11},
        "video": {"title": "Vid", "length": 100, "created_at": "X"},
        "comments": [
            _v5("b", 20, "Bob", "Kappa", emote=True),
            _v5("a", 10, "Ann", "hello"),
            _v5("b", 20, "Bob", "Kappa", emote=True),
        ],
    }
    src = tmp_path / "td.json.gz"
    with gzip.open(src, "wt", encoding="utf-8") as fh:
        json.dump(doc, fh)
    out = tmp_path / "o.json"
    assert import_chat(src, out, "77") == {"format": "twitchdownloader_json", "comments": 2, "dropped_out_of_range": 0}
    frame = read_chat_frame(out)
    assert frame["comment_id"].tolist() == ["a", "b"] and frame["emotes"].tolist() == ["", "Kappa"]
    meta = read_chat_meta(out)
    assert meta["streamer"] == {"name": "Strm", "id": 11} and meta["video"]["id"] == "77"


def test_twitchdownloader_json_old_and_v5_list(tmp_path):
    old = tmp_path / "old.json"
    old.write_text(
        json.dumps(
            {
                "streamer": {"name": "S", "id": 1},
                "video": {"start": 0, "end": 50},
                "comments": [_v5("x", 3.25, "Zed", "hey")],
            }
        )
    )
    assert detect_format(old) == "twitchdownloader_json_old"
    bare = tmp_path / "bare.json"
    bare.write_text(json.dumps([_v5("y", 4, "Yan", "yo")]))
    assert import_chat(bare, tmp_path / "o.json", "1")["format"] == "twitch_v5"
    out = tmp_path / "o2.json"
    import_chat(old, out, "1")
    f = read_chat_frame(out)
    assert f.loc[0, "time"] == 3.25 and f.loc[0, "user"] == "Zed"


def test_chat_downloader_json_and_jsonl(tmp_path):
    items = [
        {
            "message_id": "m2",
            "message": "LUL so good",
            "time_in_seconds": 9.5,
            "timestamp": 1_600_000_000_000_000,
            "author": {"id": "3", "name": "carl", "display_name": "Carl"},
            "emotes": [{"id": "425618", "name": "LUL"}],
        },
        {"message_id": "m1", "message": "first", "time_in_seconds": 1.0, "author": {"name": "dan"}},
    ]
    src = tmp_path / "cd.json"
    src.write_text(json.dumps(items))
    out = tmp_path / "o.json"
    assert import_chat(src, out, "9")["format"] == "chat_downloader"
    f = read_chat_frame(out)
    assert f["comment_id"].tolist() == ["m1", "m2"] and f["user"].tolist() == ["dan", "Carl"]
    assert f["emotes"].tolist() == ["", "LUL"]
    c = json.loads(out.read_text())["comments"][1]
    assert c["message"]["fragments"][0] == {"text": "LUL", "emoticon": {"emoticon_id": "425618"}}
    assert c["created_at"].startswith("2020-09-13T12:26:40")
    jl = tmp_path / "cd.jsonl"
    jl.write_text("\n".join(json.dumps(i) for i in items))
    assert import_chat(jl, tmp_path / "o3.json", "9")["comments"] == 2


def test_text_formats(tmp_path):
    td = tmp_path / "td.txt"
    td.write_text("[0:00:05] Ann: hello there\n[1:02:03] Bob: time: 3723\nnot a chat line\n")
    out = tmp_path / "o.json"
    assert import_chat(td, out, "3") == {"format": "twitchdownloader_txt", "comments": 2, "dropped_out_of_range": 0}
    f = read_chat_frame(out)
    assert f["time"].tolist() == [5.0, 3723.0] and f["message"].tolist() == ["hello there", "time: 3723"]
    assert f["user"].tolist() == ["Ann", "Bob"]

    irc = tmp_path / "irc.log"
    irc.write_text("[23:59:50] <ann> gn\n[23:59:58] <@bob> Kappa\n[00:00:10] <ann> past midnight\n")
    import_chat(irc, out, "3")
    f = read_chat_frame(out)
    assert detect_format(irc) == "irc"
    assert f["time"].tolist() == [0.0, 8.0, 20.0] and f["user"].tolist() == ["ann", "bob", "ann"]

    hms = tmp_path / "h.txt"
    hms.write_text("0:00:02 b\n0:00:01 a\n1:00:00 c\n")
    import_chat(hms, out, "3")
    f = read_chat_frame(out)
    assert f["message"].tolist() == ["a", "b", "c"] and f["time"].tolist() == [1.0, 2.0, 3600.0]

    utc = tmp_path / "u.txt"
    utc.write_text("[2021-07-15 02:00:00 UTC] Ann: a\n[2021-07-15 02:01:30 UTC] Bob: b\n")
    import_chat(utc, out, "3", created_at="2021-07-15T01:59:00Z")
    assert read_chat_frame(out)["time"].tolist() == [60.0, 150.0]


def test_empty_unknown_missing(tmp_path, caplog):
    empty = tmp_path / "e.txt"
    empty.write_text("\n\n")
    out = tmp_path / "o.json"
    caplog.set_level(logging.INFO, logger="klipstream")
    assert import_chat(empty, out, "4")["comments"] == 0
    assert json.loads(out.read_text())["comments"] == [] and read_chat_frame(out).empty
    (tmp_path / "e.json").write_text('{"comments": []}')
    assert import_chat(tmp_path / "e.json", out, "4")["comments"] == 0
    # an empty log is no error (the VOD may have a video), but the user is told which file was empty
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == 2 and all("has no chat messages" in w for w in warned)
    assert str(empty) in warned[0] and str(tmp_path / "e.json") in warned[1]

    weird = tmp_path / "w.csv"
    weird.write_text("a,b,c\n1,2,3\n")
    with pytest.raises(KlipError, match=r"unrecognised chat format in .*w\.csv; supported: TwitchDownloader") as e:
        import_chat(weird, out, "4")
    assert "\n" not in str(e.value) and "IRC" in str(e.value)
    with pytest.raises(KlipError, match="chat file not found: .*nope.json"):
        import_chat(tmp_path / "nope.json", out, "4")
    with pytest.raises(KlipError, match="chat file not found"):
        read_chat_frame(tmp_path / "nope.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{"comments": [')
    with pytest.raises(KlipError, match="bad.json looks like JSON"):
        import_chat(bad, out, "4")


@pytest.mark.skipif(not DATA.is_dir(), reason="shared data not present")
def test_real_v5_dump_and_fuslie_text(tmp_path):
    out = tmp_path / "v5.json"
    assert import_chat(DATA / "twitch_v5_1087079172.json", out, "1087079172") == {
        "format": "twitch_v5",
        "comments": 3090,
        "dropped_out_of_range": 0,
    }
    f = read_chat_frame(out)
    assert f["time"].is_monotonic_increasing and f["time"].max() <= 2938
    assert f.loc[0, ["comment_id", "user", "message", "emotes"]].tolist() == ["9FTR2m3UkRaSkQ", "DunkoPop", "<3", "<3"]
    assert read_chat_meta(out)["streamer"] == {"name": "Northernlion", "id": 14371185}
    out2 = tmp_path / "f.json"
    assert import_chat(DATA / "fuslie_4h.txt", out2, "1") == {
        "format": "hms_text",
        "comments": 37953,
        "dropped_out_of_range": 0,
    }
    f2 = read_chat_frame(out2)
    assert f2.loc[0, ["time", "message"]].tolist() == [6.0, "live POGGERS"]


def test_corrupt_comment_line_names_file_and_line(tmp_path):
    dst = tmp_path / "c.json"
    with ChatWriter(dst, vod_id="5") as w:
        w.write(make_comment("a", 1.0, "A", "x", vod_id="5"))
        w.write(make_comment("b", 2.0, "B", "y", vod_id="5"))
    lines = dst.read_text().splitlines()
    lines[2] = lines[2][:20]
    dst.write_text("\n".join(lines) + "\n")
    with pytest.raises(KlipError, match=r"corrupt chat file .*c\.json at line 3"):
        read_chat_frame(dst)


def test_json_import_streams_skips_embedded_data_and_handles_bom(tmp_path):
    """TwitchDownloader's layout: FileInfo, streamer, video, comments, then embeddedData (emote images)."""
    comments = [_v5(f"id{i}", 100.0 - i * 10, f"U{i}", f"m{i}") for i in range(6)] + [_v5("id2", 80.0, "U2", "m2")]
    doc = {
        "FileInfo": {"Version": {"Major": 1, "Minor": 3, "Patch": 0}},
        "streamer": {"name": "somestreamer", "id": 42},
        "video": {"title": "Big stream", "id": "9", "created_at": "2021-07-15T02:00:00Z", "length": 3600},
        "comments": comments,
        "embeddedData": {"firstParty": [{"name": "Kappa", "data": "A" * 100_000}], "broken": [1, {"x": [2]}]},
    }
    src = tmp_path / "td.json"
    src.write_bytes(b"\xef\xbb\xbf" + json.dumps(doc).encode())
    assert detect_format(src) == "twitchdownloader_json"
    result = import_chat(src, tmp_path / "out.json", "9")
    out = json.loads((tmp_path / "out.json").read_text())
    assert result == {
        "format": "twitchdownloader_json",
        "comments": 6,
        "dropped_out_of_range": 0,
    }  # id2 twice: kept once
    assert [c["content_offset_seconds"] for c in out["comments"]] == [50.0, 60.0, 70.0, 80.0, 90.0, 100.0]
    assert [c["_id"] for c in out["comments"]] == ["id5", "id4", "id3", "id2", "id1", "id0"]
    assert out["streamer"] == {"name": "somestreamer", "id": 42}
    assert out["video"]["title"] == "Big stream" and out["video"]["length"] == 3600
    assert "A" * 100 not in (tmp_path / "out.json").read_text()


def test_truncated_json_is_one_line_error_naming_file_and_position(tmp_path):
    body = ",".join(json.dumps(_v5(f"c{i}", float(i), "A", "hi")) for i in range(120))
    src = tmp_path / "cut.json"
    src.write_text('{"FileInfo": {}, "comments": [' + body + ', {"_id": "c120", "content_off')
    with pytest.raises(KlipError) as err:
        import_chat(src, tmp_path / "out.json", "1")
    message = str(err.value)
    assert message.startswith(f"chat file {src} is not valid JSON after 120 comments")
    assert "\n" not in message and not (tmp_path / "out.json").exists()
    # Broken inside the first entries: the same one line, from the format check.
    src.write_text('{"comments": [{"_id": "a", "content_offset_seconds": 1,}]}')
    with pytest.raises(KlipError, match=r"looks like JSON but does not parse: parse error"):
        import_chat(src, tmp_path / "out.json", "1")
    src.write_text('{"comments": {"a": 1}}')
    with pytest.raises(KlipError, match="unrecognised chat format"):
        import_chat(src, tmp_path / "out.json", "1")


def test_text_logs_parse_the_same_in_small_batches(tmp_path, monkeypatch):
    """Batches carry the IRC clock (first message, midnights) and the UTC origin; the spool sorts across them."""
    from klipstream.chat import text_logs

    logs = {
        "irc.log": "[23:59:50] <ann> gn\n[23:59:58] <@bob> Kappa\n\n[00:00:10] <ann> past midnight\n"
        "[00:00:05] <cy> late line\n[23:59:59] <ann> next night\n[00:00:01] <bob> day three\n",
        "h.txt": "0:00:09 c\n0:00:02 b\n0:00:01 a\n1:00:00 d\njunk\n0:00:05 e\n",
        "u.txt": "[2021-07-15 02:00:30 UTC] Ann: a\n[2021-07-15 02:00:00 UTC] Bob: b\n[2021-07-15 02:01:30 UTC] Cy: c\n",  # noqa: E501
    }
    results = {}
    for batch in (100_000, 2, 1):
        monkeypatch.setattr(text_logs, "TEXT_BATCH", batch)
        for name, text in logs.items():
            (tmp_path / name).write_text(text)
            import_chat(tmp_path / name, tmp_path / "o.json", "3")
            frame = read_chat_frame(tmp_path / "o.json")
            results.setdefault(name, []).append(frame.to_dict("list"))
    for name, runs in results.items():
        assert runs[0] == runs[1] == runs[2], name
    irc = results["irc.log"][0]
    # 23:59:50 is 0; past midnight +20 s; the 00:00:05 line (5 s back) stays on day 2; then a second midnight.
    assert irc["time"] == [0.0, 8.0, 15.0, 20.0, 86409.0, 86411.0]
    assert irc["message"] == ["gn", "Kappa", "late line", "past midnight", "next night", "day three"]
    assert irc["comment_id"][:2] == ["3-1", "3-2"] and "3-4" in irc["comment_id"]  # line numbers across batches
    assert results["h.txt"][0]["message"] == ["a", "b", "e", "c", "d"]
    assert results["u.txt"][0]["time"] == [0.0, 30.0, 90.0]  # second 0: the earliest stamp in the file


def test_a_text_log_is_sniffed_once(tmp_path, monkeypatch):
    """A text log that starts like JSON (`[0:00:05] ...`) is recognised as text once, not again for parsing."""
    from klipstream.chat import text_logs

    calls = []
    detect = text_logs.detect_text
    monkeypatch.setattr(text_logs, "detect_text", lambda lines: calls.append(1) or detect(lines))
    td = tmp_path / "td.txt"
    td.write_text("[0:00:05] Ann: hello there\n[0:00:07] Bob: yo\n")
    assert import_chat(td, tmp_path / "o.json", "3")["format"] == "twitchdownloader_txt"
    assert len(calls) == 1
    calls.clear()
    irc = tmp_path / "irc.log"
    irc.write_text("[23:59:50] <ann> gn\n")
    assert import_chat(irc, tmp_path / "o.json", "3")["format"] == "irc" and len(calls) == 1


def test_messages_outside_the_vod_are_dropped_and_counted(tmp_path):
    """One line at 99999:00:00 or an offset of 1e12 s must not sink the VOD: dropped at import, counted."""
    td = tmp_path / "chat.txt"
    td.write_text("[0:00:05] ann: hi\n[0:00:07] bob: yo\n[99999:00:00] zed: broken stamp\n")
    out = tmp_path / "o.json"
    assert import_chat(td, out, "3")["dropped_out_of_range"] == 1
    assert read_chat_frame(out)["time"].tolist() == [5.0, 7.0]
    doc = {
        "video": {"title": "T", "length": 100},
        "comments": [
            _v5("a", 10, "Ann", "hi"),
            _v5("b", 1e12, "Bob", "late"),
            _v5("c", -5, "Cy", "early"),
            _v5("d", 100.5, "Di", "at the end"),
            _v5("e", 150, "Ed", "after the VOD"),
        ],
    }
    src = tmp_path / "td.json"
    src.write_text(json.dumps(doc))
    result = import_chat(src, out, "4")
    assert result["comments"] == 2 and result["dropped_out_of_range"] == 3
    assert read_chat_frame(out)["comment_id"].tolist() == ["a", "d"]


def test_out_of_range_chat_still_builds_the_timeline(tmp_path):
    """Through the workflow's own steps: import, sentiment, timeline."""
    from klipstream.emotions.chat import score_chat
    from klipstream.signals.chat_timeline import build_chat_timeline

    src = tmp_path / "chat.txt"
    src.write_text("".join(f"[0:00:{s:02d}] u{s}: hello there\n" for s in range(1, 30)) + "[99999:00:00] x: boom\n")
    import_chat(src, tmp_path / "c.json", "5")
    score_chat(
        tmp_path / "c.json", tmp_path / "s.csv", models=sorted(str(p) for p in (ROOT / "models").glob("*.skops"))
    )
    frame = build_chat_timeline(tmp_path / "s.csv", tmp_path / "t.csv")
    assert frame["messages"].sum() == 29 and len(frame) == 30
