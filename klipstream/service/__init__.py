"""The HTTP service (`klipstream serve`): FastAPI app, SQLite job store and the Snakemake job runner."""

from __future__ import annotations

import argparse
import logging
import os

TOKEN_ENV = "KLIPSTREAM_API_TOKEN"


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


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
        "--no-resume",
        action="store_true",
        help="leave jobs interrupted by a restart for POST .../resume instead of resuming them",
    )


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    from ..settings import install_redaction, load_env_files
    from ..workflow import workdir_of
    from .app import create_app

    load_env_files()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    install_redaction()
    token = os.environ.get(TOKEN_ENV) or None
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
    )
    logging.getLogger("klipstream.service").info(
        "serving on http://%s:%d (docs at /docs); the /api/ routes %s",
        args.host,
        args.port,
        "need the bearer token" if token else f"are open to anyone who can reach the port (set {TOKEN_ENV})",
    )

    class Server(uvicorn.Server):
        def handle_exit(self, sig, frame):
            app.state.stopping = True  # event streams end now, so the shutdown does not wait on them
            super().handle_exit(sig, frame)

    # Open connections get 5 s; then the lifespan stops the runner, which interrupts running jobs (resumable).
    Server(uvicorn.Config(app, host=args.host, port=args.port, timeout_graceful_shutdown=5, log_level="info")).run()
    return 0
