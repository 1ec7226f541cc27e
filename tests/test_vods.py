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
    with pytest.raises(KlipError, match="VOD a: chat file not found: nope.json"):
        vods.load(table, SCHEMA, check_files=True)
