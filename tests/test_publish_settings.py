"""Settings: .env reading, the older tool's USE_GCS / BASE_DIR / bucket variables, precedence, redaction."""

from __future__ import annotations

import io
import logging
import os
from pathlib import Path

import pytest

from klipstream import settings
from klipstream.settings import RedactingFilter, get_settings, load_env_files, redact
from tests.helpers.publish_stubs import SECRET, clean_env


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path):
    clean_env(monkeypatch, tmp_path)


def test_dotenv_is_read_and_real_environment_wins(tmp_path, monkeypatch):
    (tmp_path / ".env").write_text(
        f"CONVEX_URL=https://happy-otter-123.convex.cloud\nCONVEX_API_KEY={SECRET}\n"
        "USE_GCS=true\nGCS_ANALYSIS_BUCKET=from-dotenv\n"
    )
    monkeypatch.setenv("GCS_ANALYSIS_BUCKET", "from-env")
    for name in ("CONVEX_URL", "CONVEX_API_KEY", "USE_GCS"):
        monkeypatch.setenv(name, "")  # registered with monkeypatch so the test restores them...
        monkeypatch.delenv(name)  # ...then absent, for .env to fill
    load_env_files((tmp_path / ".env",))
    s = get_settings({})
    assert s.convex_url == "https://happy-otter-123.convex.cloud" and s.convex_api_key == SECRET
    assert s.use_gcs is True
    assert s.buckets["analysis"] == "from-env" and s.buckets["raw"] == "klipstream-vods-raw"
    assert SECRET not in repr(s) and "***" in repr(s)


def test_env_yaml_like_the_older_tool(tmp_path, monkeypatch):
    (tmp_path / ".env.yaml").write_text('USE_GCS: "true"\nGCS_PROJECT: "klip-prod"\nGCS_VOD_BUCKET: vods-x\n')
    for name in ("USE_GCS", "GCS_PROJECT", "GCS_VOD_BUCKET"):
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    load_env_files((tmp_path / ".env.yaml",))
    s = get_settings({})
    assert (s.use_gcs, s.gcs_project, s.buckets["raw"]) == (True, "klip-prod", "vods-x")


@pytest.mark.parametrize(
    "env, cfg, use_gcs",
    [
        ({}, {}, False),  # the embedded default: local folder
        ({"USE_GCS": "true"}, {}, True),
        ({"USE_GCS": "false"}, {"publish": {"use_gcs": True}}, True),  # the config given is resolved already
        ({}, {"publish": {"use_gcs": True}}, True),
        ({"USE_GCS": "true"}, {"publish": {"backend": "local"}}, False),  # an explicit backend beats USE_GCS
        ({}, {"publish": {"backend": "gcs"}}, True),
    ],
)
def test_use_gcs(env, cfg, use_gcs):
    assert get_settings(cfg, env=env).use_gcs is use_gcs


def test_base_dir_like_the_older_tool():
    assert get_settings({}, env={}).base_dir == Path(".")
    assert get_settings({}, env={"K_SERVICE": "klipstream"}).base_dir == Path("/tmp")  # Cloud Run
    assert get_settings({}, env={"BASE_DIR": "/data/klip", "K_SERVICE": "x"}).base_dir == Path("/data/klip")


def test_settings_come_from_the_config_given_not_from_a_process_global():
    s = get_settings({"convex": {"status_function": "videos:setStatus"}, "publish": {"workers": 2}}, env={})
    assert s.convex_status_function == "videos:setStatus" and s.publish["workers"] == 2
    assert get_settings(env={}).convex_status_function == "video:updateStatusByTwitchId"  # nothing leaked
    assert not hasattr(settings, "configure")


def test_redact_known_secrets_and_credential_shapes(monkeypatch):
    monkeypatch.setenv("CONVEX_API_KEY", SECRET)
    monkeypatch.setenv("DEEPGRAM_API_KEY", "dg_0123456789abcdef")
    tail = SECRET.split("|", 1)[1]
    text = (
        f"key {SECRET} tail {tail} dg dg_0123456789abcdef auth Authorization: Bearer abc.def.ghi123 "
        "url https://user:pa55word@host/x?key=AIzaSyA-123&x=1"
    )
    out = redact(text)
    for secret in (SECRET, tail, "dg_0123456789abcdef", "abc.def.ghi123", "pa55word", "AIzaSyA-123"):
        assert secret not in out
    assert out.startswith("key *** tail *** dg *** auth Authorization: Bearer ***")
    assert out.endswith("url https://***@host/x?key=***&x=1")
    # ordinary messages are left alone
    plain = "convex mutation video:updateUrls failed after 3 attempts: HTTP 500 for VOD 2434635255"
    assert redact(plain) == plain


def test_redacting_filter_on_a_handler(monkeypatch):
    monkeypatch.setenv("CONVEX_API_KEY", SECRET)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("test_redacting_filter")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("calling with %s", SECRET)
        try:
            raise RuntimeError(f"boom {SECRET}")
        except RuntimeError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    assert "s3cr3tTok3nValue" not in stream.getvalue()
    assert "calling with ***" in stream.getvalue() and "RuntimeError: boom ***" in stream.getvalue()
    assert os.environ["CONVEX_API_KEY"] == SECRET


def test_bucket_roles_and_aliases():
    assert get_settings({"publish": {"buckets": {"vods": "old-name"}}}, env={}).buckets["raw"] == "old-name"
    s = get_settings({"publish": {"buckets": {"raw": "r", "analysis": "a"}}}, env={"GCS_VOD_BUCKET": "env-r"})
    assert s.buckets["raw"] == "r"  # the config given wins (the workflow folded the environment into it)
    s = get_settings({"publish": {"buckets": {"analysis": "a"}}}, env={"GCS_VOD_BUCKET": "env-r"})
    assert s.buckets == {
        "raw": "env-r",
        "transcripts": "klipstream-transcripts",
        "chatlogs": "klipstream-chatlogs",
        "analysis": "a",
    }
    assert get_settings({"convex": {"timeout": 2.5}}, env={}).convex_timeout_s == 2.5


def test_missing_service_account_file_is_a_one_line_error(tmp_path):
    from klipstream.errors import KlipError
    from klipstream.publish.gcs import make_client

    s = get_settings({}, env={"USE_GCS": "true", "GCP_SERVICE_ACCOUNT_PATH": str(tmp_path / "nope.json")})
    with pytest.raises(
        KlipError, match=rf"GCP_SERVICE_ACCOUNT_PATH\) points to {tmp_path / 'nope.json'}, which is not a file"
    ):
        make_client(s)
    bad = tmp_path / "bad.json"
    bad.write_text(
        '{"type": "service_account", "private_key": "-----BEGIN PRIVATE KEY-----\\nAAA\\n-----END PRIVATE KEY-----"}'
    )
    s = get_settings({}, env={"GCP_SERVICE_ACCOUNT_PATH": str(bad)})
    with pytest.raises(KlipError, match="cannot create a Cloud Storage client for project klipstream") as info:
        make_client(s)
    assert "\n" not in str(info.value) and "AAA" not in str(info.value)


def test_apply_environment_folds_overrides_unless_config_set_them():
    """Where a workflow starts: --config > environment > config.yaml (the schema's defaults come after)."""
    from klipstream.errors import KlipError
    from klipstream.settings import ENV_OVERRIDES, apply_environment

    env = {"USE_GCS": "yes", "BASE_DIR": "/srv/env", "GCS_PROJECT": "env-proj", "GCS_VOD_BUCKET": "env-raw"}
    config = {"publish": {"buckets": {"raw": "yaml-raw"}, "gcs_project": "cli-proj"}, "base_dir": "/yaml"}
    given = {"publish": {"gcs_project": "cli-proj"}}  # what --config set
    apply_environment(config, given=given, env=env)
    assert config == {
        "publish": {"buckets": {"raw": "env-raw"}, "gcs_project": "cli-proj", "use_gcs": True},
        "base_dir": "/srv/env",
    }
    assert set(ENV_OVERRIDES) == {
        "USE_GCS",
        "GCS_PROJECT",
        "GCP_SERVICE_ACCOUNT_PATH",
        "GCS_VOD_BUCKET",
        "GCS_TRANSCRIPT_BUCKET",
        "GCS_CHATLOG_BUCKET",
        "GCS_ANALYSIS_BUCKET",
        "BASE_DIR",
        "CONVEX_URL",
    }
    with pytest.raises(KlipError, match="^environment variable USE_GCS must be true or false, not 'maybe'$"):
        apply_environment({}, env={"USE_GCS": "maybe"})


def test_every_key_the_settings_read_is_in_the_schema():
    """The five keys the schema used to reject, and convex.url, validate; a typo still fails in one line."""
    from klipstream.config import validate_workflow_config
    from klipstream.errors import KlipError

    config = {
        "vods": "config/vods.tsv",
        "base_dir": "/srv/klip",
        "publish": {
            "use_gcs": True,
            "gcs_project": "p",
            "service_account_path": "/k.json",
            "buckets": {"vods": "old-raw"},
        },
        "convex": {"url": "https://happy-otter-123.convex.cloud"},
    }
    validate_workflow_config(config)
    s = get_settings(config, env={})
    assert (s.use_gcs, s.base_dir, s.gcs_project, s.gcp_service_account_path) == (
        True,
        Path("/srv/klip"),
        "p",
        "/k.json",
    )
    assert s.buckets["raw"] == "old-raw" and s.convex_url == "https://happy-otter-123.convex.cloud"
    with pytest.raises(KlipError, match=r"^unknown config key publish\.use_gcp \(did you mean publish\.use_gcs\?\)$"):
        validate_workflow_config({"vods": "v.tsv", "publish": {"use_gcp": True}})
