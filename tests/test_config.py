"""Settings come from one schema: defaults filled from it, unknown keys at any depth and wrong values stopped with
one line naming the key path (and the nearest valid key), through the library and through Snakemake."""

from __future__ import annotations

import pytest

from klipstream import config
from klipstream.errors import KlipError
from tests.helpers.workflow import run_snakemake


@pytest.mark.parametrize(
    "given, message",
    [
        ({"vod": "my.tsv"}, "unknown config key vod (did you mean vods?)"),
        ({"clip": {"top_k": 3}}, "unknown config key clip (did you mean clips?)"),
        ({"clips": {"topk": 3}}, "unknown config key clips.topk (did you mean clips.top_k?)"),
        ({"fusion": {"top_m": 1}}, "unknown config key fusion.top_m (did you mean fusion.top_n?)"),
        (
            {"publish": {"buckets": {"rwa": "x"}}},
            "unknown config key publish.buckets.rwa (did you mean publish.buckets.raw?)",
        ),
        ({"clips": {"top_k": "many"}}, "config clips.top_k: 'many' is not of type 'integer'"),
        ({"download": {"quality": "ultra"}}, "config download.quality: 'ultra' does not match '^[0-9]+p$'"),
    ],
)
def test_workflow_config_errors_are_one_line_naming_the_key(given, message):
    with pytest.raises(KlipError) as err:
        config.validate_workflow_config({"vods": "config/vods.tsv", **given})
    assert str(err.value) == message


def test_cli_strings_are_typed_before_checking():
    cfg = {"vods": "v.tsv", "clips": {"top_k": "3"}, "download": {"video": "false"}}
    config.validate_workflow_config(cfg)
    assert cfg["clips"]["top_k"] == 3 and cfg["download"]["video"] is False


def test_section_fills_schema_defaults_and_checks_values():
    assert config.section("download", {"quality": "480p"}) == {
        "backend": "auto",
        "quality": "480p",
        "video": True,
        "retries": 10,
        "concurrent_fragments": 1,
        "cookies": "",
    }
    assert config.default("twitch")["usher_url"] == "https://usher.ttvnw.net"
    with pytest.raises(KlipError, match=r"^unknown config key chat.worker \(did you mean chat.workers\?\)$"):
        config.section("chat", {"worker": 2})


def test_a_misspelt_top_level_key_stops_snakemake_with_one_line(tmp_path):
    proc = run_snakemake(tmp_path, "-n", "--config", "vod=my.tsv", check=False)
    assert proc.returncode != 0
    assert "unknown config key vod (did you mean vods?)" in (proc.stdout + proc.stderr).splitlines()


def test_upload_formats_are_one_list():
    """The schema's enum is static YAML: it must name the formats the code has files and codecs for, in order."""
    from klipstream.artifacts import UPLOAD_FORMATS, target, upload_key
    from klipstream.transcribe.upload import FORMATS

    enum = config.schema()["properties"]["transcription"]["properties"]["upload"]["properties"]["format"]["enum"]
    assert enum == list(UPLOAD_FORMATS) == list(FORMATS) == ["opus", "flac"]
    assert target(upload_key("flac"), "7") == "output/raw/audio/audio_7.flac" and FORMATS["flac"].suffix == ".flac"
