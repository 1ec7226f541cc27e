"""Settings of publishing and status: `.env` reading, the deployment overrides of the environment, secret redaction.

Precedence for every setting (docs/reference.md, "Settings"): `--config` > environment > config/config.yaml > the
schema's default. The workflow applies it once, where it starts (`apply_environment` in rules/common.smk): each
deployment override of `ENV_OVERRIDES` that is set replaces its config key unless `--config` set that key. Everything
after reads the config it is given; `get_settings` falls back to the environment only for keys that config lacks (a
library caller without a workflow config). Secrets (keys, tokens) are read only from the environment / `.env`, never
from the config file, and `redact()` removes their values from any text before it is logged, written or raised."""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import config as config_schema
from .errors import KlipError

log = logging.getLogger(__name__)

# Defaults come from the config schema (klipstream/schemas/config.schema.yaml), the one place they are written.
_PUBLISH, _CONVEX = config_schema.default("publish"), config_schema.default("convex")
# raw: video, audio, waveforms; analysis: analysis, report, clips (`vods` is the older name of raw, not a role)
DEFAULT_BUCKETS = {role: name for role, name in _PUBLISH["buckets"].items() if role != "vods"}
# The older tool's environment variable for each bucket role.
BUCKET_ENV = {
    "raw": "GCS_VOD_BUCKET",
    "transcripts": "GCS_TRANSCRIPT_BUCKET",
    "chatlogs": "GCS_CHATLOG_BUCKET",
    "analysis": "GCS_ANALYSIS_BUCKET",
}
# The deployment overrides: the only non-secret environment variables that set a config key (the environment of a
# Cloud Run service or a Batch job is set per deployment while the config file is shared). Variable -> config key.
ENV_OVERRIDES = {
    "USE_GCS": "publish.use_gcs",
    "GCS_PROJECT": "publish.gcs_project",
    "GCP_SERVICE_ACCOUNT_PATH": "publish.service_account_path",
    **{var: f"publish.buckets.{role}" for role, var in BUCKET_ENV.items()},
    "BASE_DIR": "base_dir",
    "CONVEX_URL": "convex.url",
}
_BOOLEAN_KEYS = {"publish.use_gcs"}

_SECRET_NAME = re.compile(r"(API_KEY|_KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL_JSON|PRIVATE)", re.I)
# Values that look like credentials even when we do not know them by name.
_SECRET_PATTERNS = [
    (re.compile(r"(?i)(authorization\s*[:=]\s*)(bearer|convex|basic)?\s*[^\s,;'\"}]+"), r"\1\2 ***"),
    (re.compile(r"(?i)\b(bearer|convex)\s+(?=\S*[0-9|])[A-Za-z0-9_\-.|:+/=]{12,}"), r"\1 ***"),
    (re.compile(r"(?i)([?&](?:key|api_key|apikey|token|access_token|sig|signature)=)[^&\s]+"), r"\1***"),
    (re.compile(r"(?i)(https?://)[^/\s:@]+:[^/\s@]+@"), r"\1***@"),
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.S), "***"),
]

_dotenv_loaded = False
_lock = threading.Lock()


def load_env_files(paths: tuple[str | os.PathLike, ...] | None = None) -> None:
    """Read `.env` (and the older tool's `.env.yaml`) once; existing environment variables win."""
    global _dotenv_loaded
    with _lock:
        if _dotenv_loaded and paths is None:
            return
        _dotenv_loaded = True
    from dotenv import load_dotenv

    for path in paths or (".env", ".env.yaml"):
        path = Path(path)
        if not path.is_file():
            continue
        if path.suffix in (".yaml", ".yml"):
            import yaml

            try:
                data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            except yaml.YAMLError as exc:
                log.warning("ignoring %s: not valid YAML (%s)", path, type(exc).__name__)
                continue
            for key, value in data.items() if isinstance(data, dict) else ():
                if value is not None:
                    os.environ.setdefault(str(key), str(value))
        else:
            load_dotenv(path, override=False)


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def _get(cfg: Mapping[str, Any], dotted: str, default: Any = None) -> Any:
    node: Any = cfg
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return default
        node = node[part]
    return default if node is None else node


_ABSENT = object()


def _env_value(var: str, raw: str) -> Any:
    value = raw.strip()
    if ENV_OVERRIDES[var] in _BOOLEAN_KEYS:
        if value.lower() not in ("1", "true", "yes", "on", "0", "false", "no", "off"):
            raise KlipError(f"environment variable {var} must be true or false, not {value[:40]!r}")
        return _truthy(value)
    return value


def environment_overrides(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The deployment overrides set in `env` (default: os.environ after `.env`): config key -> typed value."""
    if env is None:
        load_env_files()
        env = os.environ
    return {key: _env_value(var, env[var]) for var, key in ENV_OVERRIDES.items() if env.get(var, "").strip()}


def apply_environment(
    config: dict[str, Any], given: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """In place, where a workflow starts: each deployment override set in `env` replaces its key in `config` unless
    `given` (the `--config` values) sets that key. Returns `config`."""
    given = given or {}
    for dotted, value in environment_overrides(env).items():
        if _get(given, dotted, _ABSENT) is not _ABSENT:
            continue  # --config wins over the environment
        *parents, leaf = dotted.split(".")
        node = config
        for part in parents:
            if not isinstance(node.get(part), dict):
                node[part] = {}
            node = node[part]
        node[leaf] = value
    return config


@dataclass(frozen=True)
class Settings:
    use_gcs: bool = False
    base_dir: Path = Path(".")
    gcs_project: str = "klipstream"
    gcp_service_account_path: str | None = None
    storage_emulator_host: str | None = None
    buckets: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_BUCKETS))
    convex_url: str | None = None
    convex_api_key: str | None = field(default=None, repr=False)
    convex_status_function: str = _CONVEX["status_function"]
    convex_urls_function: str = _CONVEX["urls_function"]
    convex_auth_scheme: str = _CONVEX["auth_scheme"]
    convex_timeout_s: float = _CONVEX["timeout"]
    convex_attempts: int = _CONVEX["attempts"]
    convex_backoff_s: float = _CONVEX["backoff_s"]
    publish: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:  # never show the key, even in a debugger or a traceback
        return (
            f"Settings(use_gcs={self.use_gcs}, base_dir={str(self.base_dir)!r}, "
            f"convex_url={redact(self.convex_url or '')!r}, convex_api_key={'***' if self.convex_api_key else None})"
        )


def get_settings(config: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Settings from the workflow `config` (where the workflow folded the environment in already), else, for a key
    it lacks, the deployment override in `env` (default: os.environ after `.env`), else the schema's default.
    Secrets come from `env` only."""
    if env is None:
        load_env_files()
        env = os.environ
    overrides = environment_overrides(env)
    cfg = config or {}

    def pick(dotted: str, default: Any) -> Any:
        value = _get(cfg, dotted, _ABSENT)
        if value is _ABSENT or value == "":
            value = overrides.get(dotted, default)
        return value

    in_cloud = bool(env.get("K_SERVICE"))  # Cloud Run / Functions: only /tmp is writable (older tool's rule)
    backend = str(_get(cfg, "publish.backend", _PUBLISH["backend"])).lower()
    use_gcs = backend == "gcs" or (backend == "auto" and _truthy(pick("publish.use_gcs", False)))
    buckets = {role: str(pick(f"publish.buckets.{role}", name)) for role, name in DEFAULT_BUCKETS.items()}
    if _get(cfg, "publish.buckets.vods"):
        buckets["raw"] = str(_get(cfg, "publish.buckets.vods"))  # the older name of the raw bucket's role
    return Settings(
        use_gcs=use_gcs,
        base_dir=Path(str(pick("base_dir", "") or ("/tmp" if in_cloud else "."))),
        gcs_project=str(pick("publish.gcs_project", _PUBLISH["gcs_project"])),
        gcp_service_account_path=pick("publish.service_account_path", None) or None,
        storage_emulator_host=env.get("STORAGE_EMULATOR_HOST") or None,
        buckets=buckets,
        convex_url=(pick("convex.url", None) or None),
        convex_api_key=env.get("CONVEX_API_KEY") or None,
        convex_status_function=str(pick("convex.status_function", _CONVEX["status_function"])),
        convex_urls_function=str(pick("convex.urls_function", _CONVEX["urls_function"])),
        convex_auth_scheme=str(pick("convex.auth_scheme", _CONVEX["auth_scheme"])),
        convex_timeout_s=float(pick("convex.timeout", _CONVEX["timeout"])),
        convex_attempts=max(1, int(pick("convex.attempts", _CONVEX["attempts"]))),
        convex_backoff_s=float(pick("convex.backoff_s", _CONVEX["backoff_s"])),
        publish=dict(_get(cfg, "publish", {}) or {}),
    )


def secret_values(env: Mapping[str, str] | None = None) -> list[str]:
    """Values of environment variables whose names say they are secrets (long enough to be unambiguous)."""
    env = os.environ if env is None else env
    values = {v.strip() for k, v in env.items() if _SECRET_NAME.search(k) and v and len(v.strip()) >= 6}
    return sorted(values, key=len, reverse=True)  # longest first, so a key containing another is fully hidden


def redact(text: Any, secrets: list[str] | tuple[str, ...] | None = None) -> str:
    """Return `text` with secret values (env secrets + `secrets`) and credential-looking tokens replaced by ***."""
    out = str(text)
    for value in list(secrets or []) + secret_values():
        if value and len(value) >= 4:
            out = out.replace(value, "***")
            if "|" in value:  # Convex deploy keys are `name|secret`; hide the secret half wherever it shows alone
                tail = value.split("|", 1)[1]
                if len(tail) >= 6:
                    out = out.replace(tail, "***")
    for pattern, repl in _SECRET_PATTERNS:
        out = pattern.sub(repl, out)
    return out


class RedactingFilter(logging.Filter):
    """Logging filter that redacts the formatted message (attach it to handlers)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken record is logged as is
            return True
        clean = redact(message)
        if clean != message:
            if isinstance(record.args, tuple):  # masked in place: formatters that read the args (uvicorn's) still work
                record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
            if record.getMessage() != clean:
                record.msg, record.args = clean, None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


def install_redaction(logger: logging.Logger | None = None) -> None:
    """Attach a RedactingFilter to every handler of `logger` (default: root), once."""
    logger = logger or logging.getLogger()
    for handler in logger.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())


# The job glue (klipstream.smk) logs failures through the "klipstream" logger itself; a logger-level filter
# redacts those records whatever handlers a script installs. Child loggers are covered by install_redaction().
if not any(isinstance(f, RedactingFilter) for f in logging.getLogger("klipstream").filters):
    logging.getLogger("klipstream").addFilter(RedactingFilter())
