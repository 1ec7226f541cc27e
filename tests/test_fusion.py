"""Fusion: lag estimation, alignment, combination, candidate picking, moment shaping, merging, ranking, tiers, Twitch
links (hand-computed)."""

from __future__ import annotations

import numpy as np
import pytest

from klipstream.errors import KlipError
from klipstream.highlights.explain import twitch_link, twitch_timestamp
from klipstream.highlights.fusion import align_chat, combine, estimate_lag
from klipstream.highlights.moments import pick_moments
from klipstream.highlights.params import FusionParams


def spikes(n, at, width=3, height=5.0):
    x = np.zeros(n)
    for t in at:
        x[t : t + width] = height
    return x


def test_lag_found_by_cross_correlation():
    p = FusionParams()
    audio = spikes(900, [100, 300, 500, 700])
    chat = spikes(900, [112, 312, 512, 712])
    lag = estimate_lag(audio, chat, p)
    assert lag.method == "cross-correlation" and lag.seconds == 12.0
    assert lag.correlation == pytest.approx(1.0)
    assert len(lag.curve) == 31 and lag.curve[12] == pytest.approx(1.0)


def test_lag_weak_correlation_falls_back_to_default():
    rng = np.random.default_rng(0)
    p = FusionParams(default_lag_seconds=8.0)
    lag = estimate_lag(rng.random(2000), rng.random(2000), p)
    assert FusionParams().default_lag_seconds == 15.0  # the documented default: low end of the 15-25 s literature range
    assert lag.method == "default" and lag.seconds == 8.0 and lag.correlation < 0.2


def test_lag_outside_plausible_range_is_not_chosen():
    p = FusionParams(default_lag_seconds=8.0)
    audio = spikes(900, [100, 300, 500, 700])
    chat = spikes(900, [145, 345, 545, 745])  # 45 s later: outside 0-30 s, so nothing correlates
    lag = estimate_lag(audio, chat, p)
    assert lag.method == "default" and lag.seconds == 8.0


def test_align_chat_moves_back_and_widens_by_tolerance():
    chat = np.zeros(100)
    chat[50] = 3.0
    out = align_chat(chat, lag=10, tolerance=2, n=100)
    assert np.flatnonzero(out).tolist() == [38, 39, 40, 41, 42]
    assert out[40] == 3.0


def test_combine_agreement_and_partial_inputs():
    p = FusionParams(smooth_seconds=1, lag_tolerance_seconds=0)
    a = np.zeros(200)
    a[50] = 4.0
    c = np.zeros(200)
    c[58] = 9.0
    both = combine(
        a, c, FusionParams(smooth_seconds=1, lag_tolerance_seconds=0, lag_min_corr=2.0, default_lag_seconds=8)
    )  # force the default lag
    assert both.lag.method == "default" and both.lag.seconds == 8.0
    assert both.agreement[50] == pytest.approx(6.0)  # sqrt(4 * 9)
    assert both.score[50] == pytest.approx(4 + 9 + 6)
    only_audio = combine(a, None, p)
    assert only_audio.lag.method == "not-applicable" and only_audio.score[50] == pytest.approx(4.0)
    only_chat = combine(None, c, FusionParams(smooth_seconds=1, lag_tolerance_seconds=0, default_lag_seconds=8))
    assert only_chat.lag.method == "default" and only_chat.score[50] == pytest.approx(9.0)
    assert only_chat.agreement.max() == 0.0


def triangle(n=400, at=100):
    s = np.zeros(n)
    s[at - 5 : at + 6] = [0, 2, 4, 6, 8, 10, 8, 6, 4, 2, 0]
    return s


def test_moment_span_pre_post_roll():
    m = pick_moments(triangle(), FusionParams(pre_roll_seconds=5, post_roll_seconds=5))
    assert len(m) == 1 and m[0]["tier"] == "high"
    # score >= 5 (half the peak) on seconds 98..102 -> span [98, 103) ; minus 5 s pre-roll, plus 5 s post-roll
    assert (m[0]["start"], m[0]["end"], m[0]["peak"], m[0]["score"], m[0]["rank"]) == (93.0, 108.0, 100.0, 10.0, 1)


def test_moment_min_and_max_length():
    short = pick_moments(triangle(), FusionParams(pre_roll_seconds=0, post_roll_seconds=0, min_length_seconds=15))
    assert (short[0]["start"], short[0]["end"]) == (93.0, 108.0)  # 5 s span grown to 15 s around it
    s = np.zeros(600)
    s[200:400] = 5.0
    s[300] = 6.0
    long = pick_moments(s, FusionParams(extent_ratio=0.5, max_length_seconds=60))
    # 40 % of the max length before the peak: 300 - 24 = 276 .. 336
    assert (long[0]["start"], long[0]["end"]) == (276.0, 336.0)


def test_moment_clamped_to_vod():
    s = np.zeros(50)
    s[1] = 5.0
    m = pick_moments(s, FusionParams(pre_roll_seconds=5, post_roll_seconds=5))
    assert m[0]["start"] == 0.0 and m[0]["end"] == 10.0  # min length 10 from the start of the VOD


def test_merge_close_peaks_and_rank_by_score():
    s = triangle(400, 100) + 0.8 * triangle(400, 125)
    # cores (score >= half the peak): [98, 103) and [123, 128) -> 20 s apart; the 5 s rolls do not count
    assert len(pick_moments(s, FusionParams(min_gap_seconds=45))) == 1  # 25 s apart: within min_gap_seconds
    sep = pick_moments(s, FusionParams(merge_gap_seconds=19, min_gap_seconds=20))
    assert [(x["rank"], x["peak"]) for x in sep] == [(1, 100.0), (2, 125.0)]
    assert sep[1]["score"] == pytest.approx(8.0)
    merged = pick_moments(
        s, FusionParams(merge_gap_seconds=20, min_gap_seconds=20, pre_roll_seconds=5, post_roll_seconds=5)
    )
    assert len(merged) == 1 and (merged[0]["start"], merged[0]["end"], merged[0]["peak"]) == (93.0, 133.0, 100.0)
    # a weak bump (below merge_min_ratio of the strong peak) within the merge gap is dropped, not merged
    p = FusionParams(merge_gap_seconds=15, min_gap_seconds=5, pre_roll_seconds=5, post_roll_seconds=5)
    weak = pick_moments(triangle(400, 100) + 0.3 * triangle(400, 110), p)
    assert [(x["start"], x["end"]) for x in weak] == [(93.0, 108.0)]
    # ... while a weak one beyond the merge gap (core [119, 124): 16 s after 103) stays a moment of its own
    apart = pick_moments(triangle(400, 100) + 0.3 * triangle(400, 121), p)
    assert [(x["start"], x["end"]) for x in apart] == [(93.0, 108.0), (114.0, 129.0)]


def test_candidates_scale_with_the_vod_and_have_tiers():
    s = sum(k * triangle(2000, 100 + 100 * k) / 10 for k in range(1, 15))  # 14 peaks of 0.1 .. 1.4 x 10
    p = FusionParams(min_candidates=5, tier_high_score=10, tier_medium_score=5)
    assert p.candidate_count(2000) == 34  # one per minute of 2000 s, at least 5
    ranked = pick_moments(s, p)
    assert [x["peak"] for x in ranked] == [1500.0 - 100 * k for k in range(14)]  # every peak above 0, best first
    assert [x["tier"] for x in ranked[:6]] == ["high"] * 5 + ["medium"]
    assert ranked[-1]["tier"] == "low"
    top = pick_moments(s, p, limit=5)
    assert [x["peak"] for x in top] == [1500.0, 1400.0, 1300.0, 1200.0, 1100.0]
    assert FusionParams(min_candidates=10).candidate_count(60) == 10  # a short VOD still gets min_candidates
    assert FusionParams(max_candidates=300).candidate_count(10 * 3600) == 300
    assert pick_moments(np.zeros(500), FusionParams()) == []  # nothing above the baseline: no candidate
    assert pick_moments(np.zeros(0), FusionParams()) == []


def test_twitch_links():
    assert twitch_timestamp(3723.9) == "1h2m3s"
    assert (
        twitch_link("https://www.twitch.tv/videos/1087079172", 65) == "https://www.twitch.tv/videos/1087079172?t=0h1m5s"
    )
    assert twitch_link("https://twitch.tv/somechannel/v/42", 3600) == "https://www.twitch.tv/videos/42?t=1h0m0s"
    assert twitch_link("https://youtube.com/watch?v=x", 3) is None and twitch_link(None, 3) is None


def test_params_reject_unknown_key():
    with pytest.raises(KlipError, match="pre_rol"):
        FusionParams.from_dict({"pre_rol": 3})
    assert FusionParams.from_dict({"top_n": 3}).top_n == 3


def test_param_defaults_are_the_schema_defaults():
    from dataclasses import asdict

    from klipstream.highlights.params import ScoreParams, schema_defaults

    both = {**asdict(ScoreParams()), **asdict(FusionParams())}
    assert both == schema_defaults()


def test_fill_up_to_the_candidate_count_from_the_best_remaining_peaks():
    s = triangle(1200, 300)  # one peak above the baseline
    fill = np.full(1200, -3.0)
    fill[[330, 500, 700, 900]] = [-0.5, -1.0, -0.2, -2.0]  # below the baseline, best first: 700, 330, 500, 900
    fill[:60] = -np.inf  # an edge: never a candidate
    p = FusionParams(min_candidates=4, min_gap_seconds=45)
    m = pick_moments(s, p, limit=4, fill=fill)
    assert [x["peak"] for x in m] == [300.0, 700.0, 500.0, 900.0]  # 330 is within 45 s of 300
    assert [x["tier"] for x in m] == ["high", "low", "low", "low"] and [x["score"] for x in m[1:]] == [0.0] * 3
    assert [x["rank"] for x in m] == [1, 2, 3, 4]
    assert len(pick_moments(s, p, limit=4)) == 1  # without a fill signal the list is what stands above 0
