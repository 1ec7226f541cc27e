"""Workflow settings read through their schema (klipstream/schemas/config.schema.yaml, linked from config/).

The schema holds every default. The workflow validates its whole config against it at start; the package's
entry points take a config section (the dict a rule hands its script) and complete it here, so a library caller
gets the same defaults and the same one-line errors as a workflow run."""

from __future__ import annotations

import copy
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

import yaml

from .errors import KlipError

SCHEMA_PATH = Path(__file__).resolve().parent / "schemas" / "config.schema.yaml"


@lru_cache(maxsize=1)
def schema() -> dict:
    with open(SCHEMA_PATH, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def _with_defaults(node: Any, sub: dict, root: dict) -> Any:
    """`node` completed with the defaults of its (sub)schema, recursively through objects and $refs."""
    if "$ref" in sub:
        name = sub["$ref"].rsplit("/", 1)[-1]
        sub = root["definitions"][name]
    if sub.get("type") != "object" and "properties" not in sub:
        return node
    out = dict(node or {})
    for key, prop in (sub.get("properties") or {}).items():
        if key not in out and "default" in prop:
            out[key] = copy.deepcopy(prop["default"])
        if key in out and isinstance(out[key], dict):
            out[key] = _with_defaults(out[key], prop, root)
    return out


def section(name: str, given: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Config section `name` with the schema's defaults filled in, checked against the schema (one-line errors)."""
    import jsonschema

    root = schema()
    sub = root["properties"].get(name)
    if sub is None:
        raise KlipError(f"no config section {name!r} in {SCHEMA_PATH.name}")
    value = _with_defaults(dict(given or {}), sub, root)
    validator = jsonschema.Draft202012Validator({**sub, "definitions": root.get("definitions", {})})
    error = next(iter(sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))), None)
    if error is not None:
        where = ".".join([name, *(str(p) for p in error.absolute_path)])
        raise KlipError(f"config {where}: {error.message}")
    return value


def default(name: str) -> dict[str, Any]:
    """The defaults of section `name` (what config/config.yaml would say if it left the section out)."""
    return section(name, {})
