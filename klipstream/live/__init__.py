"""Live mode: follow a channel while it streams, announce moments as they happen, hand the stream to the workflow.

| module | holds |
|---|---|
| `irc` | Twitch chat over IRC (anonymous login, tags, PING/PONG, RECONNECT, reconnects with backoff, gaps) |
| `detector` | the highlight engine's chat score run causally on a bounded trailing buffer |
| `session` | one channel followed: chat journal, moments file, run record, the chat JSON at the end |
| `handover` | the finished stream as a VOD table row; live moments matched to the offline analysis |
| `cli` | `klipstream live CHANNEL` |

A long-running process beside the workflow's DAG, not part of it (docs/live.md).
"""

from .detector import DetectorParams, LiveDetector
from .session import LiveResult, LiveSession

__all__ = ["DetectorParams", "LiveDetector", "LiveResult", "LiveSession"]
