"""Live mode: IRC parsing, the causal detector, and whole live runs against the IRC/GQL stand-in (tests/helpers/
irc_stub.py) replaying the real chat of ../shared/data at 30-60x (30x where every message must be kept: at 60x the
detector of a busy machine falls behind the replay, and the test would measure the machine)."""

from __future__ import annotations

import json
import re
import threading

import numpy as np
import pytest

from klipstream.chat.io import read_chat_frame, read_chat_meta
from klipstream.live.detector import DetectorParams, LiveDetector
from klipstream.live.irc import chat_line, fragments_of, parse_line
from klipstream.live.session import LiveSession, journal_to_chat
from tests.helpers.irc_stub import IrcStub, Msg, load_v5
from tests.helpers.workflow import SHARED_DATA

REAL_CHAT = SHARED_DATA / "chat" / "twitch_v5_1087079172.json"
needs_real = pytest.mark.skipif(not REAL_CHAT.is_file(), reason="../shared/data is not here")

# From Twitch's IRC documentation (dev.twitch.tv/docs/chat/irc), with an escaped tag value added.
DOC_LINE = (
    "@badge-info=;badges=turbo/1;color=#0D4200;display-name=ronni;emotes=25:0-4,12-16/1902:6-10;"
    "id=b34ccfc7-4977-403a-8a94-33c6bac34fb8;mod=0;room-id=1337;subscriber=0;tmi-sent-ts=1507246572675;turbo=1;"
    "user-id=1337;user-type=global_mod;system-msg=a\\sb\\:c :ronni!ronni@ronni.tmi.twitch.tv PRIVMSG #ronni "
    ":Kappa Keepo Kappa"
)


def test_a_privmsg_is_read_from_its_tags():
    msg = parse_line(DOC_LINE)
    assert (msg.command, msg.params, msg.nick) == ("PRIVMSG", ["#ronni", "Kappa Keepo Kappa"], "ronni")
    assert msg.tags["system-msg"] == "a b;c" and msg.tags["badge-info"] == ""
    line = chat_line(msg, received_ms=0)
    assert (line.id, line.sent_ms, line.display_name, line.user_id, line.room_id) == (
        "b34ccfc7-4977-403a-8a94-33c6bac34fb8",
        1507246572675,
        "ronni",
        "1337",
        "1337",
    )
    assert line.emotes == [("25", 0, 4), ("1902", 6, 10), ("25", 12, 16)]
    assert line.badges == [{"_id": "turbo", "version": "1"}] and line.emote_names == "Kappa Keepo Kappa"
    assert fragments_of(line.body, line.emotes) == [
        {"text": "Kappa", "emoticon": {"emoticon_id": "25"}},
        {"text": " ", "emoticon": None},
        {"text": "Keepo", "emoticon": {"emoticon_id": "1902"}},
        {"text": " ", "emoticon": None},
        {"text": "Kappa", "emoticon": {"emoticon_id": "25"}},
    ]
    assert parse_line("PING :tmi.twitch.tv").command == "PING" and parse_line(":tmi.twitch.tv RECONNECT").command == (
        "RECONNECT"
    )
    assert chat_line(parse_line(":tmi.twitch.tv 001 justinfan1 :Welcome"), 0) is None


def burst_chat(duration=720, rate=2.0, bursts=(240, 420, 600), seed=3):
    """Calm talk at `rate` msg/s from 300 users, plus 12 s of laughter from 60 other chatters at each burst."""
    rng = np.random.default_rng(seed)
    rows = []
    n = rng.poisson(rate * duration)
    for t, u in zip(np.sort(rng.random(n) * duration), rng.integers(0, 300, n)):
        rows.append((float(t), f"u{u}", ["what rank is he", "nice", "is this ranked", "ok"][int(t) % 4]))
    for b in bursts:
        for k in range(60):
            rows.append((b + rng.random() * 12, f"fan{k}", "KEKW"))
    rows.sort()
    return rows


def test_planted_bursts_are_announced_within_10_s_and_nothing_else():
    det = LiveDetector()
    ann = []
    for t, u, m in burst_chat():
        ann += det.add(t, u, m)
    ann += det.flush(720)
    assert ann, "nothing announced"
    assert max(a["latency"] for a in ann) <= 10.0  # every revision, within 10 s of its own peak
    final = {a["id"]: a for a in ann}
    assert len(final) == 3
    for b, m in zip((240, 420, 600), sorted(final.values(), key=lambda m: m["peak"])):
        assert b - 8 <= m["peak"] <= b + 12 and m["start"] <= b + 6 <= m["end"] and m["tier"] == "high"
        assert m["announced_at"] - m["peak"] <= 10.0


def test_the_buffer_stays_bounded():
    p = DetectorParams(buffer_seconds=120, step_seconds=8, delay_seconds=6, min_score=2.5)
    det = LiveDetector(p)
    sizes = []
    for t, u, m in burst_chat(duration=800, rate=5.0):
        det.add(t, u, m)
        if det.ticks and det.ticks % 10 == 0:
            sizes.append(sum(len(b[1].get("time", [])) for b in det._batches))
    assert det.buffered > 3900 and max(sizes) < 5.0 * 150 + 60 * 3  # 120 s (+ a step or two) of chat at most


def test_a_crashed_journal_still_makes_the_chat_json(tmp_path):
    journal = tmp_path / "s_chat.jsonl"
    from klipstream.chat.io import make_comment

    lines = [json.dumps(make_comment(f"c{i}", t, "u", "hi", vod_id="s")) for i, t in enumerate([1.0, 3.0, 2.0])]
    journal.write_text("\n".join(lines) + '\n{"_id": "c9", "content_off')  # cut mid-line by a crash
    journal_to_chat(journal, tmp_path / "s_chat.json", stream="s", channel="ch", start_ms=None)
    frame = read_chat_frame(tmp_path / "s_chat.json")
    assert frame["comment_id"].tolist() == ["c0", "c2", "c1"] and frame["time"].tolist() == [1.0, 2.0, 3.0]


def live_settings(stub, **extra):
    return {
        "irc_host": "127.0.0.1",
        "irc_port": stub.port,
        "tls": False,
        "stream_poll_seconds": 0.5,
        "backoff_s": 0.2,
        "flush_seconds": 0.5,
        **extra,
    }


def run_live(stub, tmp_path, timeout=180, **extra):
    session = LiveSession(
        "northernlion",
        live_settings(stub, **extra),
        twitch={"gql_url": stub.gql_url},
        workdir=tmp_path,
        clock_rate=stub.speed,
    )
    out = {}
    t = threading.Thread(target=lambda: out.setdefault("r", session.run()), daemon=True)
    t.start()
    t.join(timeout)
    assert not t.is_alive(), "live run did not end"
    return session, out["r"]


@needs_real
def test_a_replayed_real_chat_is_saved_whole_and_in_order(tmp_path, monkeypatch):
    from tests.helpers.publish_stubs import ConvexStub, clean_env

    clean_env(monkeypatch, tmp_path)
    msgs = load_v5(REAL_CHAT, until=600)
    with IrcStub(msgs, speed=30, ping_every=2) as stub, ConvexStub() as convex:
        monkeypatch.setenv("CONVEX_URL", convex.url)
        session, r = run_live(stub, tmp_path)
        pushed = convex.calls("live:addMoment")
    assert r.reason == "offline" and r.stream == "42424242" and not r.gaps
    assert stub.missed == [] and stub.sent == [m.id for m in msgs]
    frame = read_chat_frame(r.chat_json)
    assert frame["comment_id"].tolist() == stub.sent and len(frame) == len(msgs) == r.messages
    # offsets on the stream's clock (tmi-sent-ts - createdAt), user names and emotes as the VOD path reads them
    assert np.allclose(frame["time"], [round(m.offset, 3) for m in msgs], atol=1e-3)
    assert frame["user"].tolist() == [m.display_name for m in msgs]
    assert (frame["emotes"] != "").sum() == sum(bool(m.emotes) for m in msgs) > 0
    caps, nick, chan = stub.logins[0]
    assert "twitch.tv/tags" in caps and re.fullmatch(r"justinfan\d+", nick) and chan == "northernlion"
    assert stub.pongs >= 1  # the server's PINGs were answered
    meta = read_chat_meta(r.chat_json)
    assert meta["video"]["id"] == "42424242" and meta["video"]["created_at"].startswith("2021-07-15T01:59:24")
    record = json.loads((r.folder / "42424242_live.json").read_text())
    assert record["state"] == "ended" and record["messages"] == len(msgs) and record["end_reason"] == "offline"
    lines = [json.loads(x) for x in r.moments_path.read_text().splitlines()]
    assert lines and all(m["latency"] <= 10 for m in lines) and {m["stream"] for m in lines} == {"42424242"}
    # every announcement pushed to Convex, in order, as the moments file has it
    assert [c["args"] for c in pushed] == [
        {"channel": m.pop("channel"), "stream": m.pop("stream"), "moment": m} for m in lines
    ]
    assert record["convex"] == {"sent": len(lines), "failed": 0, "dropped": 0}


@needs_real
def test_a_dropped_connection_and_a_reconnect_request_are_gaps(tmp_path):
    msgs = load_v5(REAL_CHAT, until=600)
    with IrcStub(msgs, speed=30, drop_at=100, reconnect_at=300) as stub:
        session, r = run_live(stub, tmp_path)
    assert stub.connections == 3 and len(r.gaps) == 2
    assert "closed" in r.gaps[0]["reason"] and r.gaps[1]["reason"] == "RECONNECT"
    saved = read_chat_frame(r.chat_json)["comment_id"].tolist()
    offset = {m.id: m.offset for m in msgs}
    lost = [m.id for m in msgs if m.id not in set(saved)]
    assert saved == [m.id for m in msgs if m.id in set(saved)]  # in order
    assert lost and set(stub.missed) <= set(lost)
    for cid in lost:  # nothing lost outside a recorded gap
        assert any(g["from_offset"] <= offset[cid] <= g["to_offset"] for g in r.gaps), cid
    record = json.loads((r.folder / f"{r.stream}_live.json").read_text())
    assert record["gaps"] == r.gaps and record["messages"] == len(saved)


@pytest.mark.slow
@needs_real
def test_live_announcements_cover_the_vod_engines_top_10(tmp_path):
    """The whole real chat fed causally: the VOD engine's top 10 chat moments are (>= 80 %) announced live."""
    from klipstream.chat.importers import import_chat
    from klipstream.emotions.chat import score_chat
    from klipstream.highlights import chat_highlights
    from klipstream.signals.chat_timeline import build_chat_timeline

    chat = tmp_path / "c.json"
    import_chat(REAL_CHAT, chat, "x")
    score_chat(chat, tmp_path / "s.csv")
    build_chat_timeline(tmp_path / "s.csv", tmp_path / "t.csv")
    top = chat_highlights(tmp_path / "t.csv", tmp_path / "s.csv", tmp_path / "h.csv").head(10)
    frame = read_chat_frame(chat)
    det = LiveDetector()
    ann = []
    for t, u, m, e in zip(frame["time"].to_numpy(), frame["user"], frame["message"], frame["emotes"]):
        ann += det.add(t, u, m, e)
    ann += det.flush(float(frame["time"].max()))
    assert max(a["latency"] for a in ann) <= 10.0
    peaks = np.array([a["peak"] for a in {a["id"]: a for a in ann}.values()])
    found = [((peaks >= r.start_time) & (peaks <= r.end_time)).any() for r in top.itertuples()]
    assert sum(found) >= 8, (sum(found), top[["peak_time", "start_time", "end_time"]].to_dict("records"), peaks)


def test_a_channel_name_is_checked():
    from klipstream.errors import KlipError
    from klipstream.live.irc import IrcChat

    with pytest.raises(KlipError, match="not a Twitch channel name"):
        IrcChat("bad name", {})


def test_stub_messages_escape_their_tags():
    stub = IrcStub([], channel="c")
    line = stub.privmsg(Msg(1.5, "x;1", "a", "A b", "7", "hi there"))
    got = chat_line(parse_line(line), 0)
    assert (got.id, got.display_name, got.sent_ms - stub.start_ms, got.body) == ("x;1", "A b", 1500, "hi there")


@pytest.mark.slow
@pytest.mark.workflow
@needs_real
def test_klipstream_live_hands_the_stream_to_the_workflow(tmp_path, capsys):
    """`klipstream live` against the stand-in until the stream ends, then --then-run analysis: the stream is a VOD
    row, the workflow builds its integrated analysis, and the offline highlights are marked found_live."""
    from klipstream.cli import main
    from klipstream.vods import load

    work = tmp_path / "w"
    cfg = tmp_path / "live.yaml"
    cfg.write_text("vods: config/vods.tsv\nlive:\n  stream_poll_seconds: 0.5\n  backoff_s: 0.2\n")
    msgs = load_v5(REAL_CHAT, until=900)
    with IrcStub(msgs, speed=30) as stub:
        argv = ["live", "NorthernLion", "--irc-host", "127.0.0.1", "--irc-port", str(stub.port), "--no-tls"]
        code = main(
            [
                *argv,
                "--gql-url",
                stub.gql_url,
                "--workdir",
                str(work),
                "--configfile",
                str(cfg),
                "--then-run",
                "analysis",
            ]
        )
    out = capsys.readouterr().out
    assert code == 0, out
    vod = "live-northernlion-42424242"
    folder = work / "output" / "live" / "northernlion"
    row = load(work / "config" / "vods.tsv")[vod]
    assert row["chat"] == str((folder / "42424242_chat.json").resolve()) and row["url"] == row["video"] == ""
    doc = json.loads((work / "output" / "analysis" / f"{vod}_integrated_analysis.json").read_text())
    assert doc["vod_id"] == vod and "chat" in doc["signals_used"] and doc["highlights"]
    assert doc["inputs"] and read_chat_frame(folder / "42424242_chat.json")["comment_id"].tolist() == stub.sent
    hand = json.loads((folder / "42424242_handover.json").read_text())
    assert [h["rank"] for h in hand["highlights"]] == [h["rank"] for h in doc["highlights"]]
    live_ids = {m["id"] for m in hand["live"]}
    for h in hand["highlights"]:
        assert h["found_live"] == (h["live_id"] is not None) and (h["live_id"] is None or h["live_id"] in live_ids)
    assert hand["top_found_live"] >= 1 and f"of the top {hand['top_n']} offline moments were found live" in out


@needs_real
def test_klipstream_live_stops_at_until_and_adds_the_vod_row(tmp_path, capsys):
    from klipstream.cli import main
    from klipstream.vods import load

    cfg = tmp_path / "live.yaml"
    cfg.write_text("vods: config/vods.tsv\nlive:\n  stream_poll_seconds: 30\n")
    assert main(["live", "northernlion", "--until", "soon", "--configfile", str(cfg)]) == 2
    assert (
        capsys.readouterr().err == "klipstream: error: --until: 'soon' is not a duration (e.g. 90, 1:30:00, 2h, 45m)\n"
    )
    with IrcStub(load_v5(REAL_CHAT), speed=20) as stub:
        argv = ["live", "northernlion", "--irc-host", "127.0.0.1", "--irc-port", str(stub.port), "--no-tls"]
        code = main(
            [*argv, "--gql-url", stub.gql_url, "--workdir", str(tmp_path), "--configfile", str(cfg), "--until", "3"]
        )
        sent = list(stub.sent)
    out = capsys.readouterr().out
    assert code == 0 and "stream 42424242 ended (until)" in out and "klipstream run live-northernlion-42424242" in out
    saved = read_chat_frame(tmp_path / "output/live/northernlion/42424242_chat.json")["comment_id"].tolist()
    assert saved and saved == sent[: len(saved)]  # what came before the stop, all of it, in order
    assert load(tmp_path / "config" / "vods.tsv")["live-northernlion-42424242"]["title"] == "northernlion live 42424242"


def test_live_settings_are_checked_against_the_schema():
    from klipstream.config import section
    from klipstream.errors import KlipError

    assert section("live")["irc_port"] == 6697 and section("live")["tls"] is True
    with pytest.raises(KlipError, match=r"unknown config key live.irc_prot \(did you mean live.irc_port\?\)"):
        LiveSession("northernlion", {"irc_prot": 6667})


def test_a_channel_twitch_does_not_know_is_one_line(tmp_path):
    from klipstream.errors import KlipError

    with IrcStub([], channel="someoneelse") as stub:
        session = LiveSession("northernlion", live_settings(stub), twitch={"gql_url": stub.gql_url}, workdir=tmp_path)
        with pytest.raises(KlipError, match="^live: Twitch has no channel 'northernlion'$"):
            session.run()


@needs_real
def test_chat_over_tls_verifies_the_server(tmp_path):
    import subprocess

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    msgs = load_v5(REAL_CHAT, until=120)
    with IrcStub(msgs, speed=60, tls=(str(cert), str(key))) as stub:
        session, r = run_live(stub, tmp_path / "ok", tls=True, ca_file=str(cert))
        assert read_chat_frame(r.chat_json)["comment_id"].tolist() == [m.id for m in msgs] == stub.sent
    from klipstream.errors import KlipError

    with IrcStub(msgs, speed=60, tls=(str(cert), str(key))) as stub:  # the system's CAs do not trust it
        session = LiveSession("northernlion", live_settings(stub, tls=True, max_attempts=1), workdir=tmp_path / "no",
                              twitch={"gql_url": stub.gql_url})  # fmt: skip
        with pytest.raises(KlipError, match="cannot reach chat at 127.0.0.1:.*CERTIFICATE_VERIFY_FAILED"):
            session.run()
