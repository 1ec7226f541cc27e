"""The HTTP service (`klipstream serve`): FastAPI app, SQLite job store and the Snakemake job runner."""

from __future__ import annotations

import argparse
import logging
import os

from .guard import BODY_TIMEOUT_SECONDS, LOOPBACK_HOSTS

TOKEN_ENV = "KLIPSTREAM_API_TOKEN"
HEADER_TIMEOUT_SECONDS = 10.0  # from a connection's opening (or its last response) to a request's last header line
MAX_CONNECTIONS = 100  # open connections at a time, event streams included


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _seconds(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds, not {text}")
    return value


WILDCARD_HOSTS = ("", "0.0.0.0", "::")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1; 0.0.0.0 in a container)"
    )
    parser.add_argument(
        "--port", type=int, default=int(os.environ.get("PORT", 8080)), help="port (default $PORT, else 8080)"
    )
    parser.add_argument(
        "--workdir", help="folder whose output/ the jobs build (default: the workflow's folder, as for klipstream run)"
    )
    parser.add_argument("--max-jobs", type=_positive, default=1, help="jobs (Snakemake runs) at a time (default 1)")
    parser.add_argument(
        "--max-queue",
        type=_positive,
        default=100,
        help="jobs that may wait; a submission past that gets 429 with Retry-After (default 100)",
    )
    parser.add_argument("--cores", type=_positive, default=os.cpu_count() or 1, help="cores per job (default: all)")
    parser.add_argument("--profile", help="Snakemake profile for the jobs, e.g. profiles/slurm")
    parser.add_argument(
        "--config",
        nargs="+",
        default=[],
        metavar="KEY=VALUE",
        help="workflow config overrides for every job, e.g. vods=my_vods.tsv",
    )
    parser.add_argument("--db", help="job store (default WORKDIR/output/service/jobs.sqlite)")
    parser.add_argument(
        "--cors-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="let a browser app on ORIGIN call the API, e.g. https://app.example.com (repeatable)",
    )
    parser.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        metavar="NAME",
        help="without a token, also answer requests for this host name (besides localhost and --host; repeatable)",
    )
    parser.add_argument(
        "--header-timeout",
        type=_seconds,
        default=HEADER_TIMEOUT_SECONDS,
        help=f"seconds a connection has to send a request's headers (default {HEADER_TIMEOUT_SECONDS:g})",
    )
    parser.add_argument(
        "--body-timeout",
        type=_seconds,
        default=BODY_TIMEOUT_SECONDS,
        help=f"seconds a request has to send its body (default {BODY_TIMEOUT_SECONDS:g})",
    )
    parser.add_argument(
        "--max-connections",
        type=_positive,
        default=MAX_CONNECTIONS,
        help=f"open connections at a time, event streams included; past that 503 (default {MAX_CONNECTIONS})",
    )
    parser.add_argument(
        "--no-resume",
        action="store_true",
        help="leave jobs interrupted by a restart for POST .../resume instead of resuming them",
    )


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    from ..settings import load_env_files
    from ..workflow import workdir_of
    from .app import create_app
    from .protocol import limited_protocol

    load_env_files()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    token = os.environ.get(TOKEN_ENV) or None
    hosts = [*([args.host] if args.host not in WILDCARD_HOSTS else []), *args.allowed_host]
    app = create_app(
        workdir=workdir_of(args.workdir),
        cores=args.cores,
        max_jobs=args.max_jobs,
        options=["--profile", args.profile] if args.profile else [],
        config=args.config,
        token=token,
        resume=not args.no_resume,
        db=args.db,
        cors_origins=args.cors_origin,
        max_queue=args.max_queue,
        body_timeout=args.body_timeout,
        allowed_hosts=hosts,
    )
    log = logging.getLogger("klipstream.service")
    log.info("serving on http://%s:%d (docs at /docs)", args.host, args.port)
    if token:
        log.info("the /api/ routes need the bearer token")
    else:
        log.warning(
            "without %s the /api/ routes are open to every program that can reach the port; they answer only "
            "requests for the host names %s and no page of another web site (Origin) but --cors-origin ones",
            TOKEN_ENV,
            ", ".join(dict.fromkeys([*LOOPBACK_HOSTS, *hosts])),
        )

    class Server(uvicorn.Server):
        def handle_exit(self, sig, frame):
            app.state.stopping = True  # event streams end now, so the shutdown does not wait on them
            super().handle_exit(sig, frame)

    # Open connections get 5 s; then the lifespan stops the runner, which interrupts running jobs (resumable).
    config = uvicorn.Config(
        app,
        host=args.host,
        port=args.port,
        timeout_graceful_shutdown=5,
        log_level="info",
        http=limited_protocol(args.header_timeout, args.max_connections),
    )
    redact_every_handler()  # uvicorn has set up its own loggers now: its access log shows each URL, query and all
    Server(config).run()
    return 0


def redact_every_handler() -> None:
    """Secrets masked in what every logger writes: the root's handlers and those of any logger with its own
    (uvicorn.access, uvicorn.error's "uvicorn"), a token in a URL's query (`?token=...`) included."""
    from ..settings import install_redaction

    install_redaction()
    for logger in list(logging.Logger.manager.loggerDict.values()):
        if isinstance(logger, logging.Logger):
            install_redaction(logger)
