"""Publish one VOD's artifacts to the four buckets (Cloud Storage, or the local folder laid out like them),
push each file's URL to Convex right after it lands, and write `output/publish/{vod}_manifest.json`
only when every object is stored and verified.

Entry point for the publish rule: `publish_vod(vod, files, manifest_json, ...)`."""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import config
from .. import status as status_store
from ..artifacts import ARTIFACTS, content_type
from ..errors import KlipError
from ..io import write_json
from ..retry import backoff_delay
from ..settings import Settings, get_settings, redact
from .checksums import Checksums, file_checksums
from .local import ChecksumMismatch, LocalStore

log = logging.getLogger(__name__)

# kind -> (bucket role, Convex URL field): the artifact registry's published files. The URL field names are what
# `video:updateUrls` receives in `urls`; a kind without one (the plots) is uploaded but not pushed.
KINDS: dict[str, tuple[str, str | None]] = {
    key: (a.bucket, a.url_field) for key, a in ARTIFACTS.items() if a.bucket and not a.folder
}
# Folder kinds: every (non-hidden) file in the folder is published as {vod}/{folder}/{file}; its one JSON index
# (clips.json, captions.json, vertical.json) gets the folder's URL field.
DIR_KINDS: dict[str, str | None] = {key: a.url_field for key, a in ARTIFACTS.items() if a.bucket and a.folder}
# Kinds that take a list of files or a folder, by object-name prefix.
LIST_KINDS: dict[str, tuple[str, str]] = {
    **{key: (a.bucket, f"{a.folder}/") for key, a in ARTIFACTS.items() if a.bucket and a.folder},
    "clips": (ARTIFACTS["clips_dir"].bucket, "clips/"),
    "plots": ("analysis", ""),
}
OTHER_OPTIONS = {"buckets", "use_gcs", "gcs_project", "service_account_path", "local_root"}
# publish.* defaults from the config schema (the one place they are written), but for the keys handled elsewhere
DEFAULTS = {k: v for k, v in config.default("publish").items() if k not in OTHER_OPTIONS}


@dataclass(frozen=True)
class Item:
    kind: str
    path: Path
    role: str
    bucket: str
    name: str
    url_field: str | None


def plan(vod: str, files: Mapping[str, Any], buckets: Mapping[str, str]) -> list[Item]:
    """Turn kind -> path(s) into objects; absent/None kinds are skipped (chat-only or audio-only VODs)."""
    if not vod or "/" in vod or vod.strip() != vod:
        raise KlipError(f"publish: invalid VOD id {vod!r}")
    items: list[Item] = []
    for kind, value in files.items():
        if value is None or value == "" or value == []:
            continue
        if kind in KINDS:
            role, field = KINDS[kind]
            if not isinstance(value, (str, os.PathLike)):
                raise KlipError(f"publish {vod}: kind {kind} takes one path, got {type(value).__name__}")
            path = Path(value)
            items.append(Item(kind, path, role, buckets[role], f"{vod}/{path.name}", field))
        elif kind in LIST_KINDS:
            role, prefix = LIST_KINDS[kind]
            paths = [value] if isinstance(value, (str, os.PathLike)) else list(value)
            if kind in DIR_KINDS:
                folders, paths = paths, []
                for folder in map(Path, folders):
                    if not folder.is_dir():
                        raise KlipError(f"publish {vod}: {kind} folder {folder} does not exist")
                    paths += sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
            jsons = [Path(p) for p in paths if Path(p).suffix == ".json"]
            for p in paths:
                path = Path(p)
                # the one JSON index in a folder gets the folder's URL field
                field = DIR_KINDS.get(kind) if jsons == [path] else None
                items.append(Item(kind, path, role, buckets[role], f"{vod}/{prefix}{path.name}", field))
        else:
            known = ", ".join(sorted(KINDS) + sorted(LIST_KINDS))
            raise KlipError(f"publish {vod}: unknown file kind {kind!r} (known: {known})")
    seen: dict[tuple[str, str], str] = {}
    for item in items:
        key = (item.bucket, item.name)
        if key in seen:
            raise KlipError(f"publish {vod}: kinds {seen[key]} and {item.kind} both map to gs://{key[0]}/{key[1]}")
        seen[key] = item.kind
    return items


def prune_folders(store, vod: str, files: Mapping[str, Any], items: list[Item], buckets: Mapping[str, str]) -> int:
    """A published folder mirrors the folder as it is now: objects under `{vod}/{folder}/` that this run did not
    publish (clips of an earlier, larger `clips.top_k`) are deleted. Only the prefixes of the folder kinds given
    here: other VODs, other folders and single-file objects are never touched. Returns how many were removed."""
    removed = 0
    for kind in sorted(DIR_KINDS):
        if files.get(kind) in (None, "", []):
            continue  # not published this run (e.g. turned off): its objects are left as they are
        role, folder = LIST_KINDS[kind]
        bucket, prefix = buckets[role], f"{vod}/{folder}"
        keep = {item.name for item in items if item.bucket == bucket}
        for name in store.list_names(bucket, prefix):
            if name.startswith(prefix) and name not in keep:
                store.delete(bucket, name)
                removed += 1
                log.info("publish %s: removed %s, no longer in %s", vod, store.uri_for(bucket, name), kind)
    return removed


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, (KlipError, FileNotFoundError, IsADirectoryError, PermissionError)):
        return False
    try:
        from google.api_core import exceptions as gexc

        if isinstance(exc, (gexc.Forbidden, gexc.Unauthorized, gexc.NotFound, gexc.BadRequest)):
            return False
    except ImportError:  # pragma: no cover - google-cloud-storage is a dependency
        pass
    return True  # network errors, 429/5xx, checksum mismatches, interrupted resumable sessions


def _store(settings: Settings, opts: Mapping[str, Any], backend: str, local_root: str | os.PathLike):
    if backend == "gcs":
        from .gcs import GcsStore, make_client

        create = opts["create_buckets"]
        create = bool(settings.storage_emulator_host) if str(create).lower() == "auto" else bool(create)
        return GcsStore(
            make_client(settings),
            chunk_size_mb=float(opts["chunk_size_mb"]),
            resumable_threshold_mb=float(opts["resumable_threshold_mb"]),
            timeout_s=float(opts["timeout_s"]),
            public_base_url=str(opts["public_base_url"] or ""),
            create_buckets=create,
        )
    root = Path(local_root)
    if not root.is_absolute():
        root = settings.base_dir / root  # the older tool kept everything under BASE_DIR
    return LocalStore(root, public_base_url=str(opts["public_base_url"] or ""))


def publish_vod(
    vod: str,
    files: Mapping[str, Any],
    manifest_json: str | os.PathLike,
    *,
    local_root: str | os.PathLike | None = None,
    status_dir: str | os.PathLike = "output/status",
    config: Mapping[str, Any] | None = None,
    backend: str | None = None,
    report_completed: bool = True,
    convex: Any = "auto",
    **options: Any,
) -> dict[str, Any]:
    """Publish `files` (kind -> path, or list of paths for `clips`/`plots`) of `vod`; return the manifest.

    Objects go to `{bucket}/{vod}/{filename}`; an object whose size and checksums already match is skipped;
    each upload is verified against the local MD5/CRC32C. URLs are recorded in the status file and pushed
    to Convex as each object lands. The manifest is written (atomically) only when every object succeeded,
    then the VOD is reported Completed. Any failure raises KlipError after the other uploads finished,
    so a rerun only uploads what is missing. `config` is the workflow config (`publish.*`, `convex.*`; the job
    passes its own); `options` are `publish.*` keys that override it (the rule passes `config["publish"]` this
    way: backend, local_root, workers, buckets, ...)."""
    t0 = time.monotonic()
    base = dict(config or {})
    publish_cfg = {**(base.get("publish") or {}), **options}
    if backend:
        publish_cfg["backend"] = backend
    unknown = sorted(set(publish_cfg) - set(DEFAULTS) - OTHER_OPTIONS)
    if unknown:
        log.warning("publish: ignoring unknown publish options %s", ", ".join(unknown))
    settings = get_settings({**base, "publish": publish_cfg})
    opts = {**DEFAULTS, **{k: v for k, v in publish_cfg.items() if v is not None}}
    chosen = str(opts["backend"]).lower()
    if chosen not in ("auto", "gcs", "local"):
        raise KlipError(f"publish.backend must be auto, gcs or local, not {chosen!r}")
    chosen = "gcs" if settings.use_gcs else "local"
    local_root = local_root or publish_cfg.get("local_root") or "output/buckets"
    items = plan(vod, files, settings.buckets)
    if not items:
        raise KlipError(f"publish {vod}: no files to publish")
    store = _store(settings, opts, chosen, local_root)
    log.info("publish %s: %d objects to %s", vod, len(items), store.describe())
    store.prepare({item.bucket for item in items})
    if convex == "auto":
        from ..convex import client_from_settings

        convex = client_from_settings(settings)

    attempts = max(1, int(opts["attempts"]))
    backoff = float(opts["backoff_s"])

    def publish_one(item: Item) -> tuple[Item, Checksums, str, float]:
        start = time.monotonic()
        for attempt in range(1, attempts + 1):
            try:
                local = file_checksums(item.path)
                action = store.publish(item.bucket, item.name, item.path, content_type(item.path), local)
                return item, local, action, time.monotonic() - start
            except Exception as exc:  # noqa: BLE001 - classified, retried or re-raised
                if attempt == attempts or not _retryable(exc):
                    raise
                delay = backoff_delay(attempt - 1, backoff, 30.0)
                log.warning(
                    "publish %s: %s failed (%s); retry %d/%d in %.1f s",
                    vod,
                    item.name,
                    redact(f"{type(exc).__name__}: {exc}"),
                    attempt,
                    attempts - 1,
                    delay,
                )
                time.sleep(delay)
        raise AssertionError("unreachable")

    objects: list[dict[str, Any]] = []
    urls: dict[str, str] = {}
    failures: list[tuple[Item, BaseException]] = []
    done = uploaded = 0
    total_bytes = 0
    workers = max(1, min(int(opts["workers"]), len(items)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"publish-{vod}") as pool:
        futures = {pool.submit(publish_one, item): item for item in items}
        for future in as_completed(futures):
            item = futures[future]
            done += 1
            try:
                _, local, action, seconds = future.result()
            except Exception as exc:  # noqa: BLE001 - collected; the others go on
                failures.append((item, exc))
                log.error(
                    "publish %s: [%d/%d] %s failed: %s",
                    vod,
                    done,
                    len(items),
                    item.name,
                    redact(f"{type(exc).__name__}: {exc}"),
                )
                continue
            uri, url = store.uri_for(item.bucket, item.name), store.url_for(item.bucket, item.name)
            if action == "uploaded":
                uploaded += 1
                total_bytes += local.size
            log.info(
                "publish %s: [%d/%d] %s %s (%.1f MB, %.1f s)",
                vod,
                done,
                len(items),
                action,
                uri,
                local.size / 1e6,
                seconds,
            )
            objects.append(
                {
                    "kind": item.kind,
                    "bucket": item.bucket,
                    "name": item.name,
                    "size": local.size,
                    "md5": local.md5,
                    "md5_hex": local.md5_hex,
                    "crc32c": local.crc32c,
                    "content_type": content_type(item.path),
                    "uri": uri,
                    "url": url,
                    "url_field": item.url_field,
                    "source": str(item.path),
                }
            )
            if item.url_field:
                urls[item.url_field] = url
                # Pushed right after the upload; file:// URLs mean nothing to a web frontend, so only http(s).
                status_store.record_urls(
                    vod, {item.url_field: url}, status_dir, convex=convex, push=url.startswith(("http://", "https://"))
                )

    seconds = time.monotonic() - t0
    if failures:
        item, exc = failures[0]
        reason = str(exc) if isinstance(exc, KlipError) else f"{type(exc).__name__}: {exc}"
        if isinstance(exc, FileNotFoundError):
            reason = f"file not found: {item.path}"
        raise KlipError(
            f"publish {vod}: {len(failures)} of {len(items)} objects failed, manifest not written; "
            f"first: {item.kind} {item.path} -> {item.bucket}/{item.name}: {redact(reason)}"
        )

    removed = prune_folders(store, vod, files, items, settings.buckets)
    objects.sort(key=lambda o: (o["bucket"], o["name"]))
    manifest = {
        "vod_id": vod,
        "backend": store.backend,
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "root": str(store.root) if isinstance(store, LocalStore) else None,
        "buckets": dict(settings.buckets),
        "objects": objects,
        "urls": dict(sorted(urls.items())),
        "run": {
            "uploaded": uploaded,
            "skipped": len(items) - uploaded,
            "bytes_uploaded": total_bytes,
            "removed": removed,
            "seconds": round(seconds, 3),
        },
    }
    write_json(manifest_json, manifest)
    log.info(
        "publish %s: done, %d uploaded, %d already there, %d removed, %.1f MB in %.1f s; manifest %s",
        vod,
        uploaded,
        len(items) - uploaded,
        removed,
        total_bytes / 1e6,
        seconds,
        manifest_json,
    )
    status_store.update(
        vod, status_dir, publish={"backend": store.backend, "manifest": str(manifest_json), "objects": len(objects)}
    )
    if report_completed:
        status_store.report(vod, "Completed", step="publish", status_dir=status_dir, convex=convex)
    return manifest


__all__ = ["publish_vod", "plan", "KINDS", "LIST_KINDS", "content_type", "ChecksumMismatch"]
