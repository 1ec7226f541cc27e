"""The highlight engine's knobs: one dataclass for the per-signal scores, one for fusion and candidates.

Every default is read from the config schema (`definitions.highlight_params` in
klipstream/schemas/config.schema.yaml), which documents each knob and why it has its value; the dataclasses only
give the knobs names and types. Config sections `chat_highlights`, `audio_highlights` and `fusion` each take any knob.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

from ..config import schema
from ..errors import KlipError


def schema_defaults() -> dict:
    """{knob: default} of every highlight knob, from the config schema."""
    props = schema()["definitions"]["highlight_params"]["properties"]
    return {k: v["default"] for k, v in props.items()}


_D = schema_defaults()


@dataclass
class ScoreParams:
    """How per-second signals become one chat score and one audio score."""

    z_clip: float = _D["z_clip"]
    baseline_seconds: float = _D["baseline_seconds"]
    chat_window: float = _D["chat_window"]
    chat_weight_reaction: float = _D["chat_weight_reaction"]
    chat_weight_other: float = _D["chat_weight_other"]
    chat_weight_clip_cue: float = _D["chat_weight_clip_cue"]
    chat_weight_non_event: float = _D["chat_weight_non_event"]
    chat_weight_learned: float = _D["chat_weight_learned"]
    command_window_seconds: float = _D["command_window_seconds"]
    edge_seconds: float = _D["edge_seconds"]
    edge_max_share: float = _D["edge_max_share"]
    chat_gap_seconds: float = _D["chat_gap_seconds"]
    audio_weight_loudness: float = _D["audio_weight_loudness"]
    audio_weight_flux: float = _D["audio_weight_flux"]
    audio_weight_pitch: float = _D["audio_weight_pitch"]
    audio_weight_speech_rate: float = _D["audio_weight_speech_rate"]
    audio_weight_events: float = _D["audio_weight_events"]
    speech_boost: float = _D["speech_boost"]
    chat_model: str = _D["chat_model"]
    model_smooth_seconds: float = _D["model_smooth_seconds"]


@dataclass
class FusionParams:
    """Lag, fusion, candidate picking, moment shaping and tiers."""

    lag_min_seconds: float = _D["lag_min_seconds"]
    lag_max_seconds: float = _D["lag_max_seconds"]
    default_lag_seconds: float = _D["default_lag_seconds"]
    lag_min_corr: float = _D["lag_min_corr"]
    lag_tolerance_seconds: float = _D["lag_tolerance_seconds"]
    smooth_seconds: float = _D["smooth_seconds"]
    weight_audio: float = _D["weight_audio"]
    weight_chat: float = _D["weight_chat"]
    weight_agreement: float = _D["weight_agreement"]
    min_gap_seconds: float = _D["min_gap_seconds"]
    candidates_per_minute: float = _D["candidates_per_minute"]
    min_candidates: int = _D["min_candidates"]
    max_candidates: int = _D["max_candidates"]
    top_n: int = _D["top_n"]
    tier_high_score: float = _D["tier_high_score"]
    tier_medium_score: float = _D["tier_medium_score"]
    extent_ratio: float = _D["extent_ratio"]
    extent_min_share: float = _D["extent_min_share"]
    pre_roll_seconds: float = _D["pre_roll_seconds"]
    post_roll_seconds: float = _D["post_roll_seconds"]
    min_length_seconds: float = _D["min_length_seconds"]
    max_length_seconds: float = _D["max_length_seconds"]
    merge_gap_seconds: float = _D["merge_gap_seconds"]
    merge_min_ratio: float = _D["merge_min_ratio"]

    @classmethod
    def from_dict(cls, params: dict | None) -> FusionParams:
        """Build from a config mapping; unknown keys are an error naming the key (typos must not pass silently)."""
        return split_params(params)[1]

    def to_dict(self) -> dict:
        return asdict(self)

    def candidate_count(self, duration: float) -> int:
        """How many candidates a VOD of `duration` seconds gets: candidates_per_minute, within [min, max]_candidates."""
        want = math.ceil(max(0.0, float(duration)) / 60.0 * self.candidates_per_minute)
        return int(min(self.max_candidates, max(self.min_candidates, want)))

    def tier(self, score: float) -> str:
        """ "high", "medium" or "low" by the documented score cut-offs."""
        if score >= self.tier_high_score:
            return "high"
        return "medium" if score >= self.tier_medium_score else "low"


def split_params(params: dict | None) -> tuple[ScoreParams, FusionParams]:
    """Split one flat config mapping into score and fusion parameters; unknown keys raise a KlipError."""
    params = dict(params or {})
    s_names = {f.name for f in fields(ScoreParams)}
    f_names = {f.name for f in fields(FusionParams)}
    unknown = sorted(set(params) - s_names - f_names)
    if unknown:
        raise KlipError(
            f"unknown highlight parameter(s): {', '.join(unknown)}; known: {', '.join(sorted(s_names | f_names))}"
        )
    return (
        ScoreParams(**{k: v for k, v in params.items() if k in s_names}),
        FusionParams(**{k: v for k, v in params.items() if k in f_names}),
    )


def all_param_defaults() -> dict:
    return {**asdict(ScoreParams()), **asdict(FusionParams())}
