"""The highlight engine: per-second chat and audio scores, their fusion into ranked candidate moments with tiers
and explanations, and the integrated analysis JSON with its contract.

| module | holds |
|---|---|
| `params` | the knobs (`ScoreParams`, `FusionParams`), defaults read from the config schema |
| `readers` | the analysis tables the engine reads, on whole seconds |
| `cues` | what a chat message says: reaction kinds, clip cues, non-events |
| `chat`, `audio` | the per-second chat score (burst over the local rate) and audio score |
| `fusion` | reaction lag and the combined score |
| `moments` | candidate peaks, spans, ranks, tiers |
| `explain` | top messages/emotes, reaction counts, emotions, transcript excerpt, the sentence, Twitch links |
| `stages` | the per-signal highlight tables (`chat_highlights`, `audio_highlights`) |
| `document`, `timeline` | the integrated analysis document (`integrate`) |
| `contract` | its schema, version and validation |
"""

from .contract import SCHEMA_PATH, SCHEMA_VERSION, load_schema, validate
from .document import integrate
from .params import FusionParams, ScoreParams, all_param_defaults, split_params
from .stages import AUDIO_COLUMNS, CHAT_COLUMNS, audio_highlights, chat_highlights

__all__ = [
    "AUDIO_COLUMNS",
    "CHAT_COLUMNS",
    "SCHEMA_PATH",
    "SCHEMA_VERSION",
    "FusionParams",
    "ScoreParams",
    "all_param_defaults",
    "audio_highlights",
    "chat_highlights",
    "integrate",
    "load_schema",
    "split_params",
    "validate",
]
