"""`klipstream serve`: the HTTP entry point a frontend calls to start an analysis and follow it.

POST /api/v1/analysis queues a job (one Snakemake run for one VOD); the status, a server-sent event stream and
the results are read per job. OpenAPI docs are served at /docs. With a token, every /api/ route needs it (checked,
like the body's size, before the body is read: see guard.py); a full queue answers 429 with Retry-After.

create_app builds the app around one job store and runner; the routes are in routes.py."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse

from .. import __version__, workflow
from .guard import BODY_TIMEOUT_SECONDS, LOOPBACK_HOSTS, MAX_BODY_BYTES, Guard
from .routes import INVALID_VOD, AnalysisRequest, Service, job_routes, media_routes, open_routes, usable_vod_id
from .runner import JobRunner, status_dir
from .store import JobStore

log = logging.getLogger("klipstream.service")

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


async def one_line_422(request: Request, exc: RequestValidationError) -> JSONResponse:
    return JSONResponse({"detail": validation_detail(exc)}, status_code=422)


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
    store = JobStore(db or workdir / "output" / "service" / "jobs.sqlite")
    service = Service(
        store=store,
        workdir=workdir,
        table=workdir / workflow.config_value(config, "vods"),
        statuses=status_dir(workdir, config),
        max_queue=max_queue,
        poll_seconds=poll_seconds,
        keepalive_seconds=keepalive_seconds,
    )

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
    app.state.service = service
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
    app.add_exception_handler(RequestValidationError, one_line_422)
    # The routers' routes, in order (the media route last: its path takes any other). Added as they are, not with
    # include_router, which (FastAPI 0.16x) nests them: app.routes stays the flat list of the API's routes.
    for router in (open_routes, job_routes, media_routes):
        app.router.routes.extend(router.routes)
    return app
