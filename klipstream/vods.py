"""The VOD table (config/vods.tsv): vod_id, url, video, chat, title, tab-separated, one VOD per row.

Read with the csv module, not pandas: the workflow reads it at every Snakemake start (dry runs included), where
importing pandas alone would cost a third of a second. Semantics as before: every cell a string, empty cells "",
blank lines skipped, and `#` starts a comment that runs to the end of its line."""

from __future__ import annotations

import csv
import io
import os
from functools import lru_cache
from pathlib import Path

import yaml

from .errors import KlipError
from .io import atomic_open

COLUMNS = ["vod_id", "url", "video", "chat", "title"]


def read_rows(path: str | os.PathLike, content: str | None = None) -> list[dict[str, str]]:
    """The table's rows as dicts of strings (column -> value); a missing column is a one-line error. `content` is
    the file's text when the caller has already read it."""
    if content is None:
        with open(path, encoding="utf-8", newline="") as fh:
            content = fh.read()
    lines = (
        line.split("#", 1)[0].rstrip("\r\n") for line in io.StringIO(content, newline="")
    )  # lines as the file has them
    text = "".join(line + "\n" for line in lines if line.strip())
    reader = csv.DictReader(io.StringIO(text), delimiter="\t")
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise KlipError(f"VOD table {path} lacks column(s) {', '.join(missing)}")
    return [
        {key: value or "" for key, value in row.items() if key is not None}
        for row in reader
        if any(isinstance(v, str) and v.strip() for v in row.values())
    ]


@lru_cache(maxsize=4)
def _validator(schema_path: str):
    import jsonschema

    with open(schema_path, encoding="utf-8") as fh:
        return jsonschema.Draft202012Validator(yaml.load(fh, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)))


def check_rows(rows: list[dict[str, str]], path: str | os.PathLike, schema_path: str | os.PathLike) -> None:
    """Every row against the row schema (config/vods.schema.yaml) and no vod_id twice; one-line errors."""
    validator = _validator(str(schema_path))
    for number, row in enumerate(rows, start=2):  # line 1 is the header
        error = next(iter(validator.iter_errors(row)), None)
        if error is not None:
            where = ".".join(str(p) for p in error.absolute_path) or "row"
            raise KlipError(f"VOD table {path}, line {number}: {where}: {error.message}")
    seen: set[str] = set()
    for row in rows:
        if row["vod_id"] in seen:
            raise KlipError(f"VOD table {path} lists vod_id {row['vod_id']} more than once")
        seen.add(row["vod_id"])


def load(path: str | os.PathLike, schema_path: str | os.PathLike | None = None) -> dict[str, dict[str, str]]:
    """vod_id -> row of the table at `path` ({} when it does not exist); rows checked against `schema_path` when
    given."""
    if not Path(path).is_file():
        return {}
    rows = read_rows(path)
    if schema_path is not None:
        check_rows(rows, path, schema_path)
    return {row["vod_id"]: row for row in rows}


def missing_files(rows: dict[str, dict[str, str]], path: str | os.PathLike) -> dict[tuple[str, str], str]:
    """(vod_id, video|chat) -> the one-line reason, for every local file the table at `path` names that does not
    exist: that VOD fails alone (in its fetch step), the others build."""
    return {
        (vod, column): f"VOD {vod}: {column} file not found: {row[column]} (see {path})"
        for vod, row in rows.items()
        for column in ("video", "chat")
        if row[column] and not Path(row[column]).is_file()
    }


def add_row(path: str | os.PathLike, row: dict[str, str], schema_path: str | os.PathLike | None = None) -> bool:
    """Add `row` (the COLUMNS; missing ones empty) to the VOD table at `path`, written atomically and created with
    its header when missing; the lines already there, comments included, are kept as they are. Returns False when
    the table already has this very row. A vod_id the table lists with other inputs is a one-line error: the table
    is the record of where a VOD's outputs come from, and changing it silently would rebuild them from other files."""
    path = Path(path)
    row = {column: str(row.get(column) or "") for column in COLUMNS}
    vod = row["vod_id"]
    for column, value in row.items():
        if any(c in value for c in "\t\r\n#"):  # tab, line break and # would break the table's own syntax
            raise KlipError(f"VOD {vod}: {column} {value!r} cannot go into the VOD table (tab, line break or #)")
    if schema_path is not None:
        error = next(iter(_validator(str(schema_path)).iter_errors(row)), None)
        if error is not None:
            where = ".".join(str(p) for p in error.absolute_path) or "row"
            raise KlipError(f"VOD {vod}: {where}: {error.message}")
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    old = {r["vod_id"]: r for r in read_rows(path, text)}.get(vod) if text else None
    if old is not None:
        if all(old.get(column, "") == row[column] for column in COLUMNS):
            return False
        raise KlipError(f"VOD table {path} already lists {vod} with other inputs: pick another id or edit the table")
    header = next((line for line in text.splitlines() if line.split("#", 1)[0].strip()), "")
    fields = header.split("#", 1)[0].strip().split("\t") if header else COLUMNS
    if not header:
        text += "\t".join(COLUMNS) + "\n"
    elif not text.endswith("\n"):
        text += "\n"
    with atomic_open(path) as fh:
        fh.write(text + "\t".join(row.get(field, "") for field in fields) + "\n")
    return True
