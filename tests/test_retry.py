"""The one backoff rule shared by the Deepgram, LLM, Twitch, storage and Convex clients."""

import random

from klipstream.retry import backoff_delay


def test_full_jitter_within_the_capped_exponential():
    random.seed(7)
    delays = [backoff_delay(3, base=0.5, cap=30.0) for _ in range(500)]
    assert 0.0 <= min(delays) and max(delays) <= 4.0  # 0.5 * 2**3
    assert max(delays) > 3.0 and min(delays) < 1.0  # spread over the whole range, not a fixed value
    assert all(backoff_delay(20, base=1.0, cap=8.0) <= 8.0 for _ in range(100))


def test_retry_after_is_a_floor_up_to_the_cap():
    assert backoff_delay(0, base=0.1, cap=30.0, retry_after="5") >= 5.0
    assert backoff_delay(0, base=0.1, cap=3.0, retry_after=60) == 3.0
    assert backoff_delay(0, base=0.1, cap=3.0, retry_after="Wed, 21 Oct 2015 07:28:00 GMT") <= 0.1
