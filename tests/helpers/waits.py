"""Waiting in tests on a busy machine: on states and events, with deadlines scaled to how loaded the machine is.

A fixed wall-clock limit measured on an idle machine is missed at load 8 on 2 cores. `slowdown()` is how much
slower than idle the machine runs now (the 1-minute load average per core, at least 1; `KLIPSTREAM_TEST_SLOWDOWN`
sets it), and `wait_until` polls a condition until a deadline of `seconds * slowdown()`. `Progress` gives a long
job a deadline per step: it fails only when nothing moved for that long, not when the whole job is slow."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any


def slowdown() -> float:
    given = os.environ.get("KLIPSTREAM_TEST_SLOWDOWN", "").strip()
    if given:
        return max(1.0, float(given))
    try:
        load = os.getloadavg()[0]
    except OSError:  # not available: assume idle
        return 1.0
    return max(1.0, load / (os.cpu_count() or 1))


def scaled(seconds: float) -> float:
    """`seconds` (enough on an idle machine) stretched by the machine's current slowdown."""
    return seconds * slowdown()


def wait_until(condition: Callable[[], Any], seconds: float, what: str, poll: float = 0.1) -> Any:
    """Poll `condition` until it returns something true (returned); fail naming `what` after `scaled(seconds)`."""
    limit = scaled(seconds)
    deadline = time.monotonic() + limit
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} (waited {limit:.0f} s at slowdown {slowdown():.1f})")
        time.sleep(poll)


class Progress:
    """A deadline that moves while work moves: `check(state)` fails when `state` has not changed for
    `scaled(stall)` seconds."""

    def __init__(self, stall: float, what: str):
        self.stall, self.what = stall, what
        self.last: Any = object()
        self.since = time.monotonic()

    def check(self, state: Any) -> None:
        now = time.monotonic()
        if state != self.last:
            self.last, self.since = state, now
        elif now - self.since > scaled(self.stall):
            raise AssertionError(f"{self.what}: no progress for {now - self.since:.0f} s, stuck at {state}")
