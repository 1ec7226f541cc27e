"""klipstream's Snakemake logger plugin, `--logger klipstream`: job events as JSON lines (see klipstream.run_events).

Snakemake finds logger plugins as top-level packages named `snakemake_logger_plugin_<name>`; the logic lives in the
klipstream package."""

from klipstream.run_events import LogHandler, LogHandlerSettings

__all__ = ["LogHandler", "LogHandlerSettings"]
