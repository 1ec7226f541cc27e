"""One backoff rule for every network client: exponential, capped, full jitter, Retry-After as a floor."""

from __future__ import annotations

import random


def backoff_delay(attempt: int, base: float, cap: float, retry_after: float | str | None = None) -> float:
    """Seconds to wait before retry number `attempt` (0 for the first retry).

    Full jitter (uniform in [0, min(cap, base * 2**attempt)]) keeps parallel jobs from retrying in lockstep;
    a server's Retry-After (seconds) is honoured up to `cap`."""
    delay = random.uniform(0.0, min(cap, base * 2**attempt))
    if retry_after is not None:
        try:
            delay = max(delay, min(cap, float(retry_after)))
        except (TypeError, ValueError):
            pass  # an HTTP-date or garbage: keep the computed delay
    return delay
