"""Workflow settings read through their schema (klipstream/schemas/config.schema.yaml, linked from config/).

The schema holds every default. The workflow validates its whole config against it at start; the package's
entry points take a config section (the dict a rule hands its script) and complete it here, so a library caller
gets the same defaults and the same one-line errors as a workflow run."""

from __future__ import annotations

import copy
import difflib
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from .errors import KlipError

SCHEMA_PATH = Path(__file__).resolve().parent / "schemas" / "config.schema.yaml"


@lru_cache(maxsize=1)
def schema() -> dict:
    with open(SCHEMA_PATH, encoding="utf-8") as fh:  # libyaml's loader when present: read at every workflow start
        return yaml.load(fh, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def _with_defaults(node: Any, sub: dict, root: dict) -> Any:
    """`node` completed with the defaults of its (sub)schema, recursively through objects and $refs."""
    sub = _resolve(sub, root)
    if sub.get("type") != "object" and "properties" not in sub:
        return node
    out = dict(node or {})
    for key, prop in (sub.get("properties") or {}).items():
        if key not in out and "default" in prop:
            out[key] = copy.deepcopy(prop["default"])
        if key in out and isinstance(out[key], dict):
            out[key] = _with_defaults(out[key], prop, root)
    return out


def coerce_cli_scalars(node: Any) -> Any:
    """Nested `--config key='{a: 1}'` values arrive as strings (Snakemake parses them with YAML's BaseLoader); turn
    numbers and booleans back into their types so the schema can check them."""
    if isinstance(node, dict):
        return {key: coerce_cli_scalars(value) for key, value in node.items()}
    if isinstance(node, str):
        if node.lower() in ("true", "false"):
            return node.lower() == "true"
        for cast in (int, float):
            try:
                return cast(node)
            except ValueError:
                pass
    return node


def _resolve(sub: dict, root: dict) -> dict:
    return root["definitions"][sub["$ref"].rsplit("/", 1)[-1]] if "$ref" in sub else sub


def unknown_keys(node: Any, sub: dict, root: dict, path: tuple[str, ...] = ()) -> list[str]:
    """One line per key the schema does not know, at any depth, with the nearest known key when there is one."""
    sub = _resolve(sub, root)
    known = sub.get("properties")
    if not isinstance(node, dict) or known is None:
        return []
    problems = []
    for key, value in node.items():
        where = ".".join((*path, str(key)))
        if key in known:
            problems += unknown_keys(value, known[key], root, (*path, str(key)))
        elif sub.get("additionalProperties") is False:
            near = difflib.get_close_matches(str(key), list(known), n=1, cutoff=0.6)
            hint = f" (did you mean {'.'.join((*path, near[0]))}?)" if near else f" (known: {', '.join(sorted(known))})"
            problems.append(f"unknown config key {where}{hint}")
    return problems


def first_error(value: Any, sub: dict, root: dict, prefix: str) -> str | None:
    """The first schema violation of `value` as one line naming its key path, or None."""
    import jsonschema

    validator = jsonschema.Draft202012Validator({**sub, "definitions": root.get("definitions", {})})
    error = next(iter(sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))), None)
    if error is None:
        return None
    where = ".".join([p for p in (prefix, *(str(x) for x in error.absolute_path)) if p]) or "(top level)"
    message = error.message if len(error.message) <= 160 else error.message[:157] + "..."
    return f"config {where}: {message}"


def unordered_bounds(node: Any, path: tuple[str, ...] = ()) -> list[str]:
    """One line per pair of keys of one section that bound a range (`lag_min_seconds` / `lag_max_seconds`,
    `min_seconds` / `max_seconds`: the same name with `min` for `max`) whose smallest is above its largest: the
    schema checks each number alone, and the code would otherwise fall back on a default without a word."""
    if not isinstance(node, dict):
        return []
    problems = []
    for key, low in node.items():
        parts = str(key).split("_")
        if isinstance(low, dict):
            problems += unordered_bounds(low, (*path, str(key)))
        if "min" not in parts:
            continue
        twin = "_".join("max" if p == "min" else p for p in parts)
        high = node.get(twin)
        numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (low, high))
        if numbers and low > high:
            name, other = ".".join((*path, str(key))), ".".join((*path, twin))
            problems.append(
                f"config {name} ({low:g}) is above {other} ({high:g}): the smallest must not exceed the largest"
            )
    return problems


def validate_workflow_config(config: dict[str, Any]) -> None:
    """Check the workflow's whole config in place: CLI strings typed, unknown keys and schema errors raised as one
    line (KlipError) naming the key path. Defaults are filled by Snakemake's `validate(..., set_default=True)` after."""
    for key, value in list(config.items()):
        if isinstance(value, dict):
            config[key] = coerce_cli_scalars(value)
    root = schema()
    problems = unknown_keys(config, root, root)
    if problems:
        raise KlipError("; ".join(problems))
    problem = first_error(config, root, root, "")
    problem = problem or next(iter(unordered_bounds(_with_defaults(config, root, root))), None)  # with defaults
    if problem:
        raise KlipError(problem)


def complete_workflow_config(config: dict[str, Any]) -> None:
    """Fill every default of the schema into the workflow's (already validated) config, in place, at any depth:
    what `snakemake.utils.validate(config, schema, set_default=True)` does, without a second validation."""
    root = schema()
    config.update(_with_defaults(config, root, root))


def section(name: str, given: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Config section `name` with the schema's defaults filled in, checked against the schema (one-line errors)."""
    root = schema()
    sub = root["properties"].get(name)
    if sub is None:
        raise KlipError(f"no config section {name!r} in {SCHEMA_PATH.name}")
    value = _with_defaults(dict(given or {}), sub, root)
    problems = unknown_keys(value, sub, root, (name,))
    problem = "; ".join(problems) if problems else first_error(value, sub, root, name)
    problem = problem or next(iter(unordered_bounds(value, (name,))), None)
    if problem:
        raise KlipError(problem)
    return value


def default(name: str) -> dict[str, Any]:
    """The defaults of section `name` (what config/config.yaml would say if it left the section out)."""
    return section(name, {})
