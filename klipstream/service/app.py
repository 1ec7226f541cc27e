"""`klipstream serve`: the HTTP entry point a frontend calls to start an analysis and follow it.

POST /api/v1/analysis queues a job (one Snakemake run for one VOD); the status, a server-sent event stream and
the results are read per job. OpenAPI docs are served at /docs. With a token, every /api/ route needs it (checked,
like the body's size, before the body is read: see guard.py); a full queue answers 429 with Retry-After."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections import deque
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Literal

from fastapi import Depends, FastAPI, HTTPException, Request, Response, status
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse, StreamingResponse
from fastapi.security import HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, model_validator

from .. import __version__, workflow
from .. import status as status_store
from ..artifacts import content_type, target
from ..errors import BadVodReference, KlipError
from .guard import BODY_TIMEOUT_SECONDS, LOOPBACK_HOSTS, MAX_BODY_BYTES, Guard
from .media import inside_output, report_file, vod_of
from .runner import JobRunner, status_dir
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


BODY_FIELDS = tuple(AnalysisRequest.model_fields)
# The names a validation error's location may show: the body's fields and the routes' parameters. Any other name
# came from the client (an unknown key of the body) and is never repeated.
_KNOWN_NAMES = {*BODY_FIELDS, "query", "path", "header", "limit", "lines", "job_id", "media"}


def validation_detail(exc: RequestValidationError) -> str:
    """The first validation error on one line: where and what, never the value nor a key the client sent."""
    errors = exc.errors()
    err = (errors or [{}])[0]
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    if err.get("type") == "extra_forbidden":
        return f"body: unexpected field (the body takes only {', '.join(BODY_FIELDS[:-1])} and {BODY_FIELDS[-1]}){more}"
    parts = [part for part in err.get("loc", ()) if part != "body"]
    where = ".".join(str(part) if isinstance(part, int) or part in _KNOWN_NAMES else "?" for part in parts)
    return f"{where or 'body'}: {' '.join(str(err.get('msg', 'invalid')).split())[:200]}{more}"


def create_app(
    *,
    workdir: str | Path = ".",
    cores: int = 2,
    max_jobs: int = 1,
    options: list[str] | None = None,
    config: list[str] | None = None,
    token: str | None = None,
    resume: bool = True,
    db: str | Path | None = None,
    cors_origins: list[str] | None = None,
    poll_seconds: float = 0.5,
    keepalive_seconds: float = 15.0,
    max_queue: int = 100,
    max_body: int = MAX_BODY_BYTES,
    body_timeout: float = BODY_TIMEOUT_SECONDS,
    allowed_hosts: list[str] | None = None,
) -> FastAPI:
    """The service's app. Without a `token`, the /api/ routes answer only requests whose Host is a loopback name or
    one of `allowed_hosts`, and that no other web page sent (an Origin other than the server's own or
    `cors_origins`): see guard.py."""
    workdir = Path(workdir).resolve()
    config = list(config or [])
    table = workdir / workflow.config_value(config, "vods")
    statuses = status_dir(workdir, config)
    store = JobStore(db or workdir / "output" / "service" / "jobs.sqlite")

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        for job in store.fail_unfinished(lambda job: not usable_vod_id(job["vod_id"]), INVALID_VOD):
            log.warning(
                "job %s failed: its VOD id (%d characters) is not a valid VOD id", job["id"], len(job["vod_id"])
            )
        runner = JobRunner(store, workdir=workdir, cores=cores, max_jobs=max_jobs, options=options, config=config)
        app.state.runner = runner
        await runner.start(resume=resume)
        yield
        await runner.stop()
        store.close()

    app = FastAPI(
        title="klipstream",
        version=__version__,
        lifespan=lifespan,
        description="Start a klipstream analysis of a Twitch VOD and follow it to its results.",
    )
    app.state.stopping = False
    app.add_middleware(  # inside CORS: its 401/403/413 carry CORS headers
        Guard,
        token=token,
        max_body=max_body,
        body_timeout=body_timeout,
        allowed_hosts=[*LOOPBACK_HOSTS, *(allowed_hosts or [])],
        allowed_origins=cors_origins or [],
    )
    if cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=cors_origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
        )
    bearer = HTTPBearer(auto_error=False, description="KLIPSTREAM_API_TOKEN, when the server has one")

    @app.exception_handler(RequestValidationError)
    async def one_line_422(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": validation_detail(exc)}, status_code=422)

    # The token itself is checked by the Guard middleware for every /api/ path; this only puts the bearer scheme
    # on the routes in the OpenAPI document.
    auth = [Depends(bearer)]

    def vod_doc(vod: str) -> dict[str, Any] | None:
        """The VOD's status document; None when it has none or it cannot be read (one job's VOD never takes a
        route down: an unusable id, a status file cut short)."""
        if not usable_vod_id(vod):
            return None
        try:
            return status_store.read(vod, statuses)
        except (OSError, ValueError) as exc:
            log.warning("status of VOD %s unreadable: %s", vod, type(exc).__name__)
            return None

    def views(jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        docs: dict[str, dict[str, Any] | None] = {}  # one read of each VOD's status file
        for job in jobs:
            if job["vod_id"] not in docs:
                docs[job["vod_id"]] = vod_doc(job["vod_id"])
        return [job_view(job, docs[job["vod_id"]]) for job in jobs]

    def view(job_id: str) -> dict[str, Any]:
        job = store.get(job_id)
        if job is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no job {job_id}")
        return views([job])[0]

    def finished_file(job_id: str, key: str) -> Path:
        job = view(job_id)
        if job["status"] != "completed":
            raise HTTPException(status.HTTP_409_CONFLICT, f"job {job_id} is {job['status']}, not completed")
        path = workdir / target(key, job["vod_id"])
        real = inside_output(workdir, path) if job["stage"] != "raw" and usable_vod_id(job["vod_id"]) else None
        if real is None:  # not built, or a link out of output/
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"job {job_id} built no {path.name}")
        return real

    @app.get("/health", summary="liveness and queue size")
    async def health() -> dict[str, Any]:
        return {
            "status": "ok",
            "version": __version__,
            "jobs": {state: store.count(state) for state in ("queued", "running", "interrupted")},
        }

    @app.post(
        API,
        status_code=status.HTTP_202_ACCEPTED,
        dependencies=auth,
        summary="queue an analysis (or return the one already queued or running for that VOD)",
    )
    async def submit(request: AnalysisRequest, response: Response) -> dict[str, Any]:
        field = "url" if request.url is not None else "vod_id"
        ref = request.url if request.url is not None else request.vod_id
        try:
            vod = workflow.vod_id_of(ref, workflow.table_vod_ids(table))
        except BadVodReference as exc:  # named by its field: what the client sent is never echoed
            raise HTTPException(422, f"{field}: {exc.naming(f'`{field}`')}") from None
        except KlipError as exc:  # the VOD table itself is unreadable: the server's problem, named without the request
            raise HTTPException(500, str(exc)) from None
        if not usable_vod_id(vod):  # checked before anything is stored: the id names the job's files
            raise HTTPException(422, f"{field}: {INVALID_VOD.split(';')[0]}")
        try:
            job, created = store.submit(vod, ref, request.stage, max_queued=max_queue)
        except QueueFull as full:
            raise HTTPException(
                status.HTTP_429_TOO_MANY_REQUESTS,
                f"the queue is full ({full.waiting} jobs waiting); try again later",
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            ) from None
        if created:
            log.info("job %s queued for VOD %s (%s)", job["id"], vod, request.stage)
            await app.state.runner.report_vod(vod, "Queued")
            app.state.runner.wake()
        else:
            response.status_code = status.HTTP_200_OK
        response.headers["Location"] = f"{API}/{job['id']}/status"
        return view(job["id"])

    @app.get(API, dependencies=auth, summary="recent jobs, newest first (optionally of one VOD)")
    async def jobs(limit: int = 50, vod_id: str | None = None) -> list[dict[str, Any]]:
        return views(store.list(min(max(limit, 1), 500), vod_id))

    @app.get(
        API + "/{job_id}/status", dependencies=auth, summary="status, progress, current step, errors and result URLs"
    )
    async def job_status(job_id: str = JOB_ID) -> dict[str, Any]:
        return view(job_id)

    @app.get(
        API + "/{job_id}/stream",
        dependencies=auth,
        summary="status changes as server-sent events until the job ends",
        response_class=StreamingResponse,
    )
    async def stream(job_id: str = JOB_ID) -> StreamingResponse:
        view(job_id)  # 404 before the stream starts

        async def events():
            last, quiet = None, 0.0
            while True:
                current = view(job_id)
                body = json.dumps(current, sort_keys=True)
                if body != last:
                    yield f"event: status\ndata: {body}\n\n"
                    last, quiet = body, 0.0
                elif quiet >= keepalive_seconds:
                    yield ": keep-alive\n\n"
                    quiet = 0.0
                if current["status"] in TERMINAL:
                    return
                if app.state.stopping:  # the client reconnects (EventSource does) once the server is back
                    yield "retry: 5000\nevent: shutdown\ndata: {}\n\n"
                    return
                await asyncio.sleep(poll_seconds)
                quiet += poll_seconds

        return StreamingResponse(
            events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        )

    @app.get(API + "/{job_id}/result", dependencies=auth, summary="the integrated analysis JSON of a completed job")
    async def result(job_id: str = JOB_ID) -> FileResponse:
        return FileResponse(finished_file(job_id, "integrated_json"), media_type="application/json")

    @app.get(API + "/{job_id}/report", dependencies=auth, summary="the HTML report of a completed job")
    async def report(job_id: str = JOB_ID) -> FileResponse:
        return FileResponse(finished_file(job_id, "report_html"), media_type="text/html")

    @app.get(
        API + "/{job_id}/log",
        dependencies=auth,
        summary="the last lines of the job's Snakemake log",
        response_class=PlainTextResponse,
    )
    async def job_log(job_id: str = JOB_ID, lines: int = 200) -> str:
        view(job_id)
        path = app.state.runner.log_path(job_id)
        if not path.is_file():
            return ""
        with open(path, encoding="utf-8", errors="replace") as fh:  # streamed: only the tail is kept
            return "".join(deque(fh, maxlen=min(max(lines, 1), 100_000)))

    @app.delete(
        API + "/{job_id}",
        dependencies=auth,
        summary="cancel a job that has not finished (a running Snakemake is stopped; finished files stay)",
    )
    async def cancel(job_id: str = JOB_ID) -> dict[str, Any]:
        job = view(job_id)
        if job["status"] in TERMINAL:
            raise HTTPException(status.HTTP_409_CONFLICT, f"job {job_id} is already {job['status']}")
        before = store.cancel_if_waiting(job_id)
        if before in ("queued", "interrupted"):
            await app.state.runner.report_vod(job["vod_id"], "Failed", "cancelled by request")
        elif not app.state.runner.cancel(job_id):  # claimed a moment ago and not started yet
            raise HTTPException(status.HTTP_409_CONFLICT, f"job {job_id} is starting; try again")
        return view(job_id)

    @app.post(
        API + "/{job_id}/resume",
        dependencies=auth,
        summary="queue an interrupted or failed job again; Snakemake keeps what it finished",
    )
    async def resume_job(job_id: str = JOB_ID) -> dict[str, Any]:
        if not usable_vod_id(view(job_id)["vod_id"]):  # 404 for an unknown job
            raise HTTPException(status.HTTP_409_CONFLICT, f"job {job_id} has no valid VOD id")
        refused = store.requeue(job_id)
        if refused:
            raise HTTPException(status.HTTP_409_CONFLICT, refused)
        app.state.runner.wake()
        return view(job_id)

    # Last: the report's relative links (../clips/{vod}/{file}, ../raw/videos/...) land here, one level below the
    # API prefix as the files are one level below output/; only what a completed job's report links is served.
    @app.get(
        API + "/{media:path}",
        dependencies=auth,
        summary="a file the VOD's report plays (its clips, the full video), at the path its relative link leads to",
    )
    async def report_media(media: str) -> FileResponse:
        vod = vod_of(media)
        path = report_file(workdir, vod, media) if vod is not None and store.has_report(vod) else None
        if path is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "no such file in a report")
        return FileResponse(path, media_type=content_type(path.name))  # answers Range requests (206)

    app.add_api_route(API + "/{media:path}", report_media, methods=["HEAD"], dependencies=auth, include_in_schema=False)

    return app
