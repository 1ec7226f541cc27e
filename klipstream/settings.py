"""Environment settings for publishing and status: `.env` reading, the older tool's variables, secret redaction.

Precedence for every value: process environment (after `.env`) > the workflow config passed as `config` > the
default. The environment wins because deployments (Cloud Run,
Batch jobs) set it per job while the config file is shared. Secrets (keys, tokens) are read only from
the environment / `.env`, never from the config file, and `redact()` removes their values from any text
before it is logged, written or raised."""

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

log = logging.getLogger(__name__)

# Defaults come from the config schema (klipstream/schemas/config.schema.yaml), the one place they are written.
_PUBLISH, _CONVEX = config_schema.default("publish"), config_schema.default("convex")
DEFAULT_BUCKETS = dict(_PUBLISH["buckets"])  # raw: video, audio, waveforms; analysis: analysis, report, clips
# The older tool's environment variable for each bucket role.
BUCKET_ENV = {
    "raw": "GCS_VOD_BUCKET",
    "transcripts": "GCS_TRANSCRIPT_BUCKET",
    "chatlogs": "GCS_CHATLOG_BUCKET",
    "analysis": "GCS_ANALYSIS_BUCKET",
}

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
    """Resolve settings from `env` (default: os.environ after `.env`), then the workflow `config` (default: none)."""
    if env is None:
        load_env_files()
        env = os.environ
    cfg = config or {}

    def pick(env_name: str | None, dotted: str, default: Any) -> Any:
        if env_name and env.get(env_name, "").strip():
            return env[env_name].strip()
        return _get(cfg, dotted, default)

    in_cloud = bool(env.get("K_SERVICE"))  # Cloud Run / Functions: only /tmp is writable (older tool's rule)
    backend = str(_get(cfg, "publish.backend", _PUBLISH["backend"])).lower()
    use_gcs_raw = pick("USE_GCS", "publish.use_gcs", False)
    use_gcs = backend == "gcs" or (backend == "auto" and _truthy(use_gcs_raw))
    buckets = {
        role: str(pick(BUCKET_ENV[role], f"publish.buckets.{role}", name)) for role, name in DEFAULT_BUCKETS.items()
    }
    if not _get(cfg, "publish.buckets.raw") and _get(cfg, "publish.buckets.vods") and not env.get("GCS_VOD_BUCKET"):
        buckets["raw"] = str(_get(cfg, "publish.buckets.vods"))  # alias of the raw bucket's role
    return Settings(
        use_gcs=use_gcs,
        base_dir=Path(str(pick("BASE_DIR", "base_dir", "/tmp" if in_cloud else "."))),
        gcs_project=str(pick("GCS_PROJECT", "publish.gcs_project", "klipstream")),
        gcp_service_account_path=pick("GCP_SERVICE_ACCOUNT_PATH", "publish.service_account_path", None),
        storage_emulator_host=env.get("STORAGE_EMULATOR_HOST") or None,
        buckets=buckets,
        convex_url=(pick("CONVEX_URL", "convex.url", None) or None),
        convex_api_key=env.get("CONVEX_API_KEY") or None,
        convex_status_function=str(
            pick("CONVEX_STATUS_FUNCTION", "convex.status_function", _CONVEX["status_function"])
        ),
        convex_urls_function=str(pick("CONVEX_URLS_FUNCTION", "convex.urls_function", _CONVEX["urls_function"])),
        convex_auth_scheme=str(pick("CONVEX_AUTH_SCHEME", "convex.auth_scheme", _CONVEX["auth_scheme"])),
        convex_timeout_s=float(pick("CONVEX_TIMEOUT", "convex.timeout", _CONVEX["timeout"])),
        convex_attempts=max(1, int(pick("CONVEX_ATTEMPTS", "convex.attempts", _CONVEX["attempts"]))),
        convex_backoff_s=float(pick("CONVEX_BACKOFF", "convex.backoff_s", _CONVEX["backoff_s"])),
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
