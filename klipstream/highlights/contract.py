"""The integrated analysis' contract: its JSON Schema (package data; schemas/ at the repository root links to it),
the schema version, and validation with one-line errors. Readers of the integrated JSON (report, clips, service)
import only this module."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from ..errors import KlipError

SCHEMA_VERSION = "1.1.0"
SCHEMA_PATH = Path(__file__).resolve().parents[1] / "schemas" / "integrated_analysis.schema.json"


@lru_cache(maxsize=1)
def load_schema() -> dict:
    with open(SCHEMA_PATH, encoding="utf-8") as fh:
        return json.load(fh)


def validate(doc: dict, what: str = "integrated analysis") -> None:
    """Raise a one-line KlipError naming the first schema violation."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(load_schema())
    err = next(iter(sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))), None)
    if err is not None:
        where = "/".join(str(p) for p in err.absolute_path) or "(root)"
        raise KlipError(f"{what} does not match its schema at {where}: {err.message[:200]}")
