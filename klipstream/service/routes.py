"""The service's routes: three FastAPI routers (open, jobs, report media) over one `Service`, the state they share
(the job store, the VOD table and status folder, the workdir), which create_app puts on `app.state.service`.

Every route that shows a job builds it with `job_view`, from the job's row and the VOD's status file."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections import deque
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, PlainTextResponse, StreamingResponse
from fastapi.security import HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, model_validator

from .. import __version__, workflow
from .. import status as status_store
from ..artifacts import content_type, target
from ..errors import BadVodReference, KlipError
from .media import inside_output, report_file, vod_of
from .store import TERMINAL, JobStore, QueueFull

log = logging.getLogger("klipstream.service")
API = "/api/v1/analysis"
RETRY_AFTER_SECONDS = 60  # what a client is told to wait when the queue is full
JOB_ID = PathParam(pattern=r"^[0-9a-f]{32}$", description="job id returned by POST /api/v1/analysis")
# What a job's VOD id may be: a Twitch id (12 digits at most) or an id of the VOD table; it names files.
_VOD_ID = re.compile(r"[A-Za-z0-9_-]{1,100}")
INVALID_VOD = "not a valid VOD id; submit the VOD again"


def usable_vod_id(vod: str) -> bool:
    """True when `vod` can name the job's files (a job stored by an older version may have one that cannot)."""
    return bool(_VOD_ID.fullmatch(vod))


class AnalysisRequest(BaseModel):
    """Exactly one of `url` and `vod_id`."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"url": "https://www.twitch.tv/videos/2345678901"}, {"vod_id": "demo", "stage": "analysis"}]
        },
    )
    url: str | None = Field(
        None, max_length=300, description="Twitch VOD URL, e.g. https://www.twitch.tv/videos/2345678901"
    )
    vod_id: str | None = Field(
        None, max_length=100, description="numeric Twitch VOD id, or a vod_id of the workflow's VOD table"
    )
    stage: Literal["all", "analysis", "raw"] = Field(
        "all", description="all: up to publishing; analysis: up to the integrated analysis and report; raw: raw files"
    )

    @model_validator(mode="after")
    def one_reference(self) -> AnalysisRequest:
        if (self.url is None) == (self.vod_id is None):
            raise ValueError("give exactly one of `url` and `vod_id`")
        return self


NOTHING_TO_DO = "nothing to do: every output of this stage was already up to date"


def job_view(job: dict[str, Any], vod_doc: dict[str, Any] | None) -> dict[str, Any]:
    """What a client sees of a job: its state and progress, the VOD's pipeline status, errors and result URLs.
    Every route that shows a job (status, list, stream, submit, cancel, resume) builds it here, from the job's row
    and the VOD's status file."""
    vod_doc = vod_doc or {}
    done, total = job["steps_done"], job["steps_total"]
    # Snakemake found nothing to build: 0 of 0 steps, and the job says so instead of leaving the counts to guess.
    note = NOTHING_TO_DO if job["state"] == "completed" and total == 0 else None
    progress = 1.0 if job["state"] == "completed" else round(done / total, 3) if total else 0.0
    results = {}
    if job["state"] == "completed" and job["stage"] != "raw":
        results = {"analysis": f"{API}/{job['id']}/result", "report": f"{API}/{job['id']}/report"}
    return {
        "job_id": job["id"],
        "vod_id": job["vod_id"],
        "source": job["source"],
        "stage": job["stage"],
        "status": job["state"],
        "progress": progress,
        "steps_done": done,
        "steps_total": total,
        "step": vod_doc.get("status"),
        "rule": vod_doc.get("step"),
        "running_rules": [r for r in job["running_rules"].split(",") if r],
        "attempts": job["attempts"],
        "resumed": job["attempts"] > 1,
        "error": job["error"],
        "note": note,
        "created_at": job["created_at"],
        "started_at": job["started_at"],
        "finished_at": job["finished_at"],
        "updated_at": job["updated_at"],
        "results": results,
        "urls": vod_doc.get("urls", {}),
        "log": f"{API}/{job['id']}/log",
    }


class Service:
    """What the routes share: the job store and where a job's files and its VOD's status are."""

    def __init__(
        self,
        *,
        store: JobStore,
        workdir: Path,
        table: Path,
        statuses: Path,
        max_queue: int,
        poll_seconds: float,
        keepalive_seconds: float,
    ):
        self.store, self.workdir, self.table, self.statuses = store, workdir, table, statuses
        self.max_queue, self.poll_seconds, self.keepalive_seconds = max_queue, poll_seconds, keepalive_seconds

    def vod_doc(self, vod: str) -> dict[str, Any] | None:
        """The VOD's status document; None when it has none or it cannot be read (one job's VOD never takes a
        route down: an unusable id, a status file cut short)."""
        if not usable_vod_id(vod):
            return None
        try:
            return status_store.read(vod, self.statuses)
        except (OSError, ValueError) as exc:
            log.warning("status of VOD %s unreadable: %s", vod, type(exc).__name__)
            return None

    def views(self, jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        docs: dict[str, dict[str, Any] | None] = {}  # one read of each VOD's status file
        for job in jobs:
            if job["vod_id"] not in docs:
                docs[job["vod_id"]] = self.vod_doc(job["vod_id"])
        return [job_view(job, docs[job["vod_id"]]) for job in jobs]

    def view(self, job_id: str) -> dict[str, Any]:
        job = self.store.get(job_id)
        if job is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no job {job_id}")
        return self.views([job])[0]

    def finished_file(self, job_id: str, key: str) -> Path:
        job = self.view(job_id)
        if job["status"] != "completed":
            raise HTTPException(status.HTTP_409_CONFLICT, f"job {job_id} is {job['status']}, not completed")
        path = self.workdir / target(key, job["vod_id"])
        real = inside_output(self.workdir, path) if job["stage"] != "raw" and usable_vod_id(job["vod_id"]) else None
        if real is None:  # not built, or a link out of output/
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"job {job_id} built no {path.name}")
        return real


def service_of(request: Request) -> Service:
    return request.app.state.service


# The token itself is checked by the Guard middleware for every /api/ path; this only puts the bearer scheme on the
# routes in the OpenAPI document.
bearer = HTTPBearer(auto_error=False, description="KLIPSTREAM_API_TOKEN, when the server has one")
auth = [Depends(bearer)]

open_routes = APIRouter()  # no token needed
job_routes = APIRouter(prefix=API, dependencies=auth)
media_routes = APIRouter(prefix=API, dependencies=auth)  # included last: its path catches what job_routes do not


@open_routes.get("/health", summary="liveness and queue size")
async def health(service: Service = Depends(service_of)) -> dict[str, Any]:
    return {
        "status": "ok",
        "version": __version__,
        "jobs": {state: service.store.count(state) for state in ("queued", "running", "interrupted")},
    }


@job_routes.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    summary="queue an analysis (or return the one already queued or running for that VOD)",
)
async def submit(
    request: AnalysisRequest, response: Response, http: Request, service: Service = Depends(service_of)
) -> dict[str, Any]:
    field = "url" if request.url is not None else "vod_id"
    ref = request.url if request.url is not None else request.vod_id
    try:
        vod = workflow.vod_id_of(ref, workflow.table_vod_ids(service.table))
    except BadVodReference as exc:  # named by its field: what the client sent is never echoed
        raise HTTPException(422, f"{field}: {exc.naming(f'`{field}`')}") from None
    except KlipError as exc:  # the VOD table itself is unreadable: the server's problem, named without the request
        raise HTTPException(500, str(exc)) from None
    if not usable_vod_id(vod):  # checked before anything is stored: the id names the job's files
        raise HTTPException(422, f"{field}: {INVALID_VOD.split(';')[0]}")
    try:
        job, created = service.store.submit(vod, ref, request.stage, max_queued=service.max_queue)
    except QueueFull as full:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            f"the queue is full ({full.waiting} jobs waiting); try again later",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        ) from None
    if created:
        log.info("job %s queued for VOD %s (%s)", job["id"], vod, request.stage)
        await http.app.state.runner.report_vod(vod, "Queued")
        http.app.state.runner.wake()
    else:
        response.status_code = status.HTTP_200_OK
    response.headers["Location"] = f"{API}/{job['id']}/status"
    return service.view(job["id"])


@job_routes.get("", summary="recent jobs, newest first (optionally of one VOD)")
async def jobs(
    limit: int = 50, vod_id: str | None = None, service: Service = Depends(service_of)
) -> list[dict[str, Any]]:
    return service.views(service.store.list(min(max(limit, 1), 500), vod_id))


@job_routes.get("/{job_id}/status", summary="status, progress, current step, errors and result URLs")
async def job_status(job_id: str = JOB_ID, service: Service = Depends(service_of)) -> dict[str, Any]:
    return service.view(job_id)


@job_routes.get(
    "/{job_id}/stream",
    summary="status changes as server-sent events until the job ends",
    response_class=StreamingResponse,
)
async def stream(http: Request, job_id: str = JOB_ID, service: Service = Depends(service_of)) -> StreamingResponse:
    service.view(job_id)  # 404 before the stream starts
    state = http.app.state

    async def events():
        last, quiet = None, 0.0
        while True:
            current = service.view(job_id)
            body = json.dumps(current, sort_keys=True)
            if body != last:
                yield f"event: status\ndata: {body}\n\n"
                last, quiet = body, 0.0
            elif quiet >= service.keepalive_seconds:
                yield ": keep-alive\n\n"
                quiet = 0.0
            if current["status"] in TERMINAL:
                return
            if state.stopping:  # the client reconnects (EventSource does) once the server is back
                yield "retry: 5000\nevent: shutdown\ndata: {}\n\n"
                return
            await asyncio.sleep(service.poll_seconds)
            quiet += service.poll_seconds

    return StreamingResponse(
        events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    )


@job_routes.get("/{job_id}/result", summary="the integrated analysis JSON of a completed job")
async def result(job_id: str = JOB_ID, service: Service = Depends(service_of)) -> FileResponse:
    return FileResponse(service.finished_file(job_id, "integrated_json"), media_type="application/json")


@job_routes.get("/{job_id}/report", summary="the HTML report of a completed job")
async def report(job_id: str = JOB_ID, service: Service = Depends(service_of)) -> FileResponse:
    return FileResponse(service.finished_file(job_id, "report_html"), media_type="text/html")


@job_routes.get("/{job_id}/log", summary="the last lines of the job's Snakemake log", response_class=PlainTextResponse)
async def job_log(http: Request, job_id: str = JOB_ID, lines: int = 200, service: Service = Depends(service_of)) -> str:
    service.view(job_id)
    path = http.app.state.runner.log_path(job_id)
    if not path.is_file():
        return ""
    with open(path, encoding="utf-8", errors="replace") as fh:  # streamed: only the tail is kept
        return "".join(deque(fh, maxlen=min(max(lines, 1), 100_000)))


@job_routes.delete(
    "/{job_id}", summary="cancel a job that has not finished (a running Snakemake is stopped; finished files stay)"
)
async def cancel(http: Request, job_id: str = JOB_ID, service: Service = Depends(service_of)) -> dict[str, Any]:
    job = service.view(job_id)
    if job["status"] in TERMINAL:
        raise HTTPException(status.HTTP_409_CONFLICT, f"job {job_id} is already {job['status']}")
    before = service.store.cancel_if_waiting(job_id)
    runner = http.app.state.runner
    if before in ("queued", "interrupted"):
        await runner.report_vod(job["vod_id"], "Failed", "cancelled by request")
    elif not runner.cancel(job_id):  # claimed a moment ago and not started yet
        raise HTTPException(status.HTTP_409_CONFLICT, f"job {job_id} is starting; try again")
    return service.view(job_id)


@job_routes.post(
    "/{job_id}/resume", summary="queue an interrupted or failed job again; Snakemake keeps what it finished"
)
async def resume_job(http: Request, job_id: str = JOB_ID, service: Service = Depends(service_of)) -> dict[str, Any]:
    if not usable_vod_id(service.view(job_id)["vod_id"]):  # 404 for an unknown job
        raise HTTPException(status.HTTP_409_CONFLICT, f"job {job_id} has no valid VOD id")
    refused = service.store.requeue(job_id)
    if refused:
        raise HTTPException(status.HTTP_409_CONFLICT, refused)
    http.app.state.runner.wake()
    return service.view(job_id)


# The report's relative links (../clips/{vod}/{file}, ../raw/videos/...) land here, one level below the API prefix
# as the files are one level below output/; only what a completed job's report links is served.
@media_routes.get(
    "/{media:path}",
    summary="a file the VOD's report plays (its clips, the full video), at the path its relative link leads to",
)
async def report_media(media: str, service: Service = Depends(service_of)) -> FileResponse:
    vod = vod_of(media)
    path = report_file(service.workdir, vod, media) if vod is not None and service.store.has_report(vod) else None
    if path is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such file in a report")
    return FileResponse(path, media_type=content_type(path.name))  # answers Range requests (206)


media_routes.add_api_route("/{media:path}", report_media, methods=["HEAD"], include_in_schema=False)
