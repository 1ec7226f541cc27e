"""Chat: import and download into TwitchDownloader-compatible JSON, and per-second chat signals."""
