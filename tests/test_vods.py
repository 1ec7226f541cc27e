"""The VOD table reader (klipstream/vods.py): read without pandas, with the semantics the workflow had with it."""

import pytest

from klipstream import vods
from klipstream.errors import KlipError
from tests.helpers.workflow import ROOT

SCHEMA = ROOT / "config" / "vods.schema.yaml"
HEADER = "vod_id\turl\tvideo\tchat\ttitle\n"


def test_rows_are_strings_with_comments_and_blank_lines_dropped(tmp_path):
    table = tmp_path / "vods.tsv"
    table.write_text(
        "# my VODs\n" + HEADER + "a\thttps://www.twitch.tv/videos/123\t\t\tFirst  # inline comment\n"
        "\n"
        'b\t\tv.mp4\tc.json\t"quoted title"\n'
        "007\t\t\tc.json\t\n"
    )
    rows = vods.load(table, SCHEMA)
    assert list(rows) == ["a", "b", "007"]  # ids stay strings, leading zeros kept
    assert rows["a"] == {
        "vod_id": "a",
        "url": "https://www.twitch.tv/videos/123",
        "video": "",
        "chat": "",
        "title": "First  ",
    }
    assert rows["b"]["title"] == "quoted title" and rows["007"]["title"] == ""


def test_missing_table_is_empty_and_bad_tables_are_one_line(tmp_path):
    assert vods.load(tmp_path / "none.tsv", SCHEMA) == {}
    table = tmp_path / "vods.tsv"
    table.write_text("vod_id\turl\tvideo\n")
    with pytest.raises(KlipError, match=r"lacks column\(s\) chat, title"):
        vods.load(table, SCHEMA)
    table.write_text(HEADER + "x y\t\t\tc.json\tbad id\n")
    with pytest.raises(KlipError, match=r"line 2: vod_id: 'x y' does not match"):
        vods.load(table, SCHEMA)
    table.write_text(HEADER + "a\t\t\tc.json\t\na\t\t\tc.json\t\n")
    with pytest.raises(KlipError, match="lists vod_id a more than once"):
        vods.load(table, SCHEMA)
    table.write_text(HEADER + "a\t\t\tnope.json\t\n")
    assert vods.missing_files(vods.load(table, SCHEMA), table) == {
        ("a", "chat"): f"VOD a: chat file not found: nope.json (see {table})"
    }


def test_add_row_creates_the_table_then_appends_keeping_what_is_there(tmp_path):
    table = tmp_path / "config" / "vods.tsv"
    assert vods.add_row(table, {"vod_id": "a", "chat": "/x/c.json", "title": "A"}, SCHEMA) is True
    assert table.read_text() == HEADER + "a\t\t\t/x/c.json\tA\n"
    # an existing table: comments, a missing final newline and its own column order are kept
    table.write_text("# mine\ntitle\tvod_id\tchat\turl\tvideo\nT\tb\tc.json\t\t")
    assert vods.add_row(table, {"vod_id": "c", "video": "/v.mp4", "url": "https://www.twitch.tv/videos/9"}) is True
    assert table.read_text() == (
        "# mine\ntitle\tvod_id\tchat\turl\tvideo\nT\tb\tc.json\t\t\n\tc\t\thttps://www.twitch.tv/videos/9\t/v.mp4\n"
    )
    assert vods.load(table, SCHEMA)["c"]["video"] == "/v.mp4"


def test_add_row_is_idempotent_and_refuses_to_change_a_listed_vod(tmp_path):
    table = tmp_path / "vods.tsv"
    vods.add_row(table, {"vod_id": "a", "chat": "/x/c.json"})
    before = table.read_text()
    assert vods.add_row(table, {"vod_id": "a", "chat": "/x/c.json"}) is False
    with pytest.raises(KlipError, match="already lists a with other inputs"):
        vods.add_row(table, {"vod_id": "a", "chat": "/x/other.json"})
    with pytest.raises(KlipError, match=r"VOD b: chat '/x/#1.json' cannot go into the VOD table"):
        vods.add_row(table, {"vod_id": "b", "chat": "/x/#1.json"})
    with pytest.raises(KlipError, match="VOD x y: vod_id: 'x y' does not match"):
        vods.add_row(table, {"vod_id": "x y", "chat": "/x/c.json"}, SCHEMA)
    assert table.read_text() == before
