"""`python -m klipstream.snakemake_cli ARGS`: Snakemake's own command line, with klipstream's logger plugin registered
first, so `--logger klipstream` works in an editable install too (Snakemake's plugin scan sees only top-level
packages on sys.path; an editable install's are served by an import hook it does not list). `klipstream run`, the
HTTP service and the tests start Snakemake this way; everything else is Snakemake's own CLI, unchanged."""

from __future__ import annotations

import sys


def register() -> None:
    """Register klipstream's logger plugin with Snakemake's plugin registry (once; a no-op if already found)."""
    from snakemake_interface_logger_plugins.registry import LoggerPluginRegistry

    from . import run_events

    registry = LoggerPluginRegistry()
    if not registry.is_installed(run_events.PLUGIN):
        registry.register_plugin(run_events.PLUGIN_MODULE, run_events)


def main(argv: list[str] | None = None) -> None:
    register()
    from snakemake.cli import main as snakemake_main

    snakemake_main(sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    main()
