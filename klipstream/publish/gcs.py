"""Google Cloud Storage store (google-cloud-storage): checksum-skip, verified, resumable uploads.

Credentials: GCP_SERVICE_ACCOUNT_PATH (a service-account key file), else Application Default Credentials;
with STORAGE_EMULATOR_HOST set (tests, CI) the client talks to the emulator with anonymous credentials."""

from __future__ import annotations

import logging
import os
import threading
from urllib.parse import quote

from ..errors import KlipError
from ..settings import Settings, redact
from .checksums import Checksums, Progress, ProgressReader, matches
from .local import ChecksumMismatch

log = logging.getLogger(__name__)

CHUNK_GRANULE = 256 * 1024  # GCS resumable chunks must be multiples of 256 KiB


def make_client(settings: Settings):
    from google.cloud import storage

    project = settings.gcs_project
    try:
        if settings.gcp_service_account_path:
            path = settings.gcp_service_account_path
            if not os.path.isfile(path):
                raise KlipError(
                    f"publish.service_account_path (GCP_SERVICE_ACCOUNT_PATH) points to {path}, which is not a file"
                )
            return storage.Client.from_service_account_json(path, project=project)
        if settings.storage_emulator_host:
            from google.auth.credentials import AnonymousCredentials

            return storage.Client(project=project, credentials=AnonymousCredentials())
        return storage.Client(project=project)  # Application Default Credentials
    except KlipError:
        raise
    except Exception as exc:  # noqa: BLE001 - turned into one redacted line naming the setting to fix
        raise KlipError(
            f"cannot create a Cloud Storage client for project {project}: {type(exc).__name__}: "
            f"{redact(exc)} (set publish.service_account_path or application default credentials)"
        ) from None


class GcsStore:
    backend = "gcs"

    def __init__(
        self,
        client,
        *,
        chunk_size_mb: float = 8,
        resumable_threshold_mb: float = 8,
        timeout_s: float = 120,
        public_base_url: str = "",
        create_buckets: bool = False,
    ):
        self.client = client
        granules = max(1, round(chunk_size_mb * 1024 * 1024 / CHUNK_GRANULE))
        self.chunk_size = granules * CHUNK_GRANULE
        self.resumable_threshold = int(resumable_threshold_mb * 1024 * 1024)
        self.timeout_s = timeout_s
        self.public_base_url = public_base_url.rstrip("/")
        self.create_buckets = create_buckets
        self._buckets: dict = {}
        self._lock = threading.Lock()

    def describe(self) -> str:
        host = os.environ.get("STORAGE_EMULATOR_HOST")
        return f"Cloud Storage{' emulator at ' + host if host else ''} (project {self.client.project})"

    def prepare(self, buckets: set[str]) -> None:
        from google.api_core import exceptions as gexc

        for name in sorted(buckets):
            try:
                bucket = self.client.lookup_bucket(name, timeout=self.timeout_s)
                if bucket is None:
                    if not self.create_buckets:
                        raise KlipError(
                            f"Cloud Storage bucket {name} does not exist (create it, or set "
                            f"publish.buckets to an existing one)"
                        )
                    bucket = self.client.create_bucket(name, timeout=self.timeout_s)
                    log.info("created bucket %s", name)
            except gexc.Forbidden as exc:
                raise KlipError(f"no access to Cloud Storage bucket {name}: {redact(exc)}") from None
            self._buckets[name] = bucket

    def _bucket(self, name: str):
        with self._lock:
            if name not in self._buckets:
                self._buckets[name] = self.client.bucket(name)
            return self._buckets[name]

    def uri_for(self, bucket: str, name: str) -> str:
        return f"gs://{bucket}/{name}"

    def url_for(self, bucket: str, name: str) -> str:
        if self.public_base_url:
            return f"{self.public_base_url}/{quote(bucket)}/{quote(name)}"
        return self._bucket(bucket).blob(name).public_url  # https://storage.googleapis.com/<bucket>/<name>

    def list_names(self, bucket: str, prefix: str) -> list[str]:
        """Names of the stored objects under `prefix`."""
        return sorted(b.name for b in self.client.list_blobs(bucket, prefix=prefix, timeout=self.timeout_s))

    def delete(self, bucket: str, name: str) -> None:
        from google.api_core import exceptions as gexc

        try:
            self._bucket(bucket).blob(name).delete(timeout=self.timeout_s)
        except gexc.NotFound:  # gone already: what we wanted
            pass

    def publish(self, bucket: str, name: str, path: str | os.PathLike, content_type: str, local: Checksums) -> str:
        """Upload unless an identical object exists; verify the stored checksums; return "uploaded"/"skipped"."""
        bkt = self._bucket(bucket)
        existing = bkt.get_blob(name, timeout=self.timeout_s)
        if existing is not None and matches(local, existing.size, existing.md5_hash, existing.crc32c):
            return "skipped"
        self._upload(bkt, name, path, content_type, local)
        stored = bkt.get_blob(name, timeout=self.timeout_s)
        if stored is None or not matches(local, stored.size, stored.md5_hash, stored.crc32c):
            got = "missing" if stored is None else f"size {stored.size}, md5 {stored.md5_hash}, crc32c {stored.crc32c}"
            raise ChecksumMismatch(
                f"gs://{bucket}/{name}: stored object ({got}) does not match the local file "
                f"(size {local.size}, md5 {local.md5}, crc32c {local.crc32c})"
            )
        return "uploaded"

    def _upload(self, bkt, name: str, path, content_type: str, local: Checksums) -> None:
        resumable = local.size > self.resumable_threshold
        blob = bkt.blob(name, chunk_size=self.chunk_size if resumable else None)
        with open(path, "rb") as fh:
            # size=None makes the library use a resumable session (chunked, constant memory) for big files;
            # retries are ours (bounded, with jitter), so the library's own are off.
            stream = (
                ProgressReader(fh, Progress(f"upload gs://{bkt.name}/{name}", local.size, log)) if resumable else fh
            )
            blob.upload_from_file(
                stream,
                size=None if resumable else local.size,
                content_type=content_type,
                checksum="crc32c" if resumable else "md5",
                timeout=self.timeout_s,
                retry=None,
            )
