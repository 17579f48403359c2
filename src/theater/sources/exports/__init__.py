"""The exports wing: readers for enterprise AI-usage vendor exports (design: DESIGN.md "Vendor
exports"; field notes: docs/vendor_formats.md; mappings: docs/vendor_mapping.md).

- ``formats/``: one module per format, discovered at import (:func:`discover`); each registers
  one :class:`~theater.sources.exports.format.VendorFormat` in :data:`FORMATS`.
- ``format.py`` (what a format is, the registry), ``rows.py`` (canonical rows, field lists from
  the contract), ``values.py`` (reading vendor values), ``claims.py`` (the signals a format
  feeds), ``reader.py`` (the ingest of ``landing/vendor/`` into bronze).
- Records come out of files through :mod:`theater.sources.stream`, shared with the native
  reader. Apart from ``reader.py``, this package only reads and maps: nothing here writes.

- :func:`recognise` names the format of a delivered file from its first good record.
- :func:`inspect` reads a file and summarizes it (records, bad records, date range...).
- :func:`describe` lists every format for a ``theater formats`` table.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
from collections import Counter
from types import ModuleType
from typing import Any, Iterator, NamedTuple

from ..stream import VendorFileError, iter_records
from . import formats
from .format import FORMATS, VendorFormat, register
from .values import VendorRecordError

log = logging.getLogger(__name__)


def discover(package: ModuleType = formats) -> list[str]:
    """Import every format module of ``package`` (each registers its :class:`VendorFormat`);
    modules whose name starts with ``_`` hold shared code, not a format. Returns the names of
    the modules imported. A new format is one new module here: nothing else lists them."""
    found = []
    for info in pkgutil.iter_modules(package.__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"{package.__name__}.{info.name}")
            found.append(info.name)
    return found


discover()

__all__ = [
    "FORMATS",
    "MappedRecord",
    "VendorFileError",
    "VendorFormat",
    "VendorRecordError",
    "describe",
    "discover",
    "inspect",
    "map_file",
    "matches",
    "recognise",
    "register",
]


class MappedRecord(NamedTuple):
    """One record of a file after mapping: canonical ``rows`` (empty when the record failed),
    or ``error`` (the full reason text, starting with its reason code) and the record's
    ``raw`` text for quarantine."""

    line: int
    raw: str
    rows: list
    error: str | None


def matches(record: dict) -> list[str]:
    """Names of the formats whose ``looks_like`` accepts ``record`` (a failing check is no)."""
    out = []
    for name, fmt in FORMATS.items():
        try:
            if fmt.looks_like(record):
                out.append(name)
        except Exception:  # noqa: BLE001 - a recogniser must not break recognition
            log.debug("looks_like of %s failed", name, exc_info=True)
    return out


def recognise(path: str) -> str | None:
    """The format of ``path`` from its first good record: the one format whose ``looks_like``
    accepts it, or None (no good record, no match, or more than one match).

    Raises :class:`VendorFileError` when the file cannot be decoded at all.
    """
    for rec in iter_records(path):
        if rec.record is None:
            continue
        found = matches(rec.record)
        if len(found) > 1:
            log.warning("%s: ambiguous vendor format %s", path, found)
        return found[0] if len(found) == 1 else None
    return None


def map_file(path: str, fmt: str) -> Iterator[MappedRecord]:
    """Stream ``path`` through format ``fmt``: every record, mapped or with the reason it was
    not (``malformed_line...`` from reading, ``missing_required: ...`` etc. from the mapper).
    Nothing is dropped: each record of the file gives exactly one :class:`MappedRecord`.
    Raises :class:`VendorFileError` when the file cannot be decoded, ``KeyError`` for an
    unknown format."""
    spec = FORMATS[fmt]
    for rec in iter_records(path):
        if rec.record is None:
            yield MappedRecord(rec.line, rec.raw, [], rec.error or "malformed_line")
            continue
        try:
            rows = spec.map_record(rec.record)
        except VendorRecordError as exc:
            yield MappedRecord(rec.line, rec.raw, [], str(exc))
            continue
        yield MappedRecord(rec.line, rec.raw, rows, None)


def _day_of(row: dict) -> str | None:
    value = row.get("day") or row.get("event_ts")
    return value[:10] if isinstance(value, str) else None


def inspect(path: str, fmt: str | None = None) -> dict[str, Any]:
    """Read ``path`` (writes nothing) and summarize it.

    Keys: ``path``, ``format`` (given or recognised; None when unknown), ``grain``, ``records``
    (records read, good or bad), ``bad_records`` (unreadable records plus records the mapper
    rejected), ``bad_reasons`` ({reason code: count}), ``rows`` ({table: canonical rows}),
    ``date_min``/``date_max`` (days of the canonical rows), ``identity_kinds`` (sorted kinds
    seen), ``users`` (distinct user ids seen), ``error`` (why the file could not be read, else
    None).
    """
    out: dict[str, Any] = {
        "path": str(path),
        "format": fmt,
        "grain": None,
        "records": 0,
        "bad_records": 0,
        "bad_reasons": {},
        "rows": {},
        "date_min": None,
        "date_max": None,
        "identity_kinds": [],
        "users": 0,
        "error": None,
    }
    try:
        name = fmt or recognise(path)
    except VendorFileError as exc:
        out["error"] = exc.reason
        return out
    out["format"] = name
    spec = FORMATS.get(name) if name else None
    if name and spec is None:
        raise KeyError(f"unknown vendor format {name!r}; known: {sorted(FORMATS)}")
    if spec:
        out["grain"] = spec.grain
    reasons: Counter = Counter()
    tables: Counter = Counter()
    kinds: set[str] = set()
    users: set[str] = set()
    try:
        if spec is None:
            for rec in iter_records(path):
                out["records"] += 1
                if rec.record is None:
                    reasons[(rec.error or "malformed_line").split(":", 1)[0]] += 1
        else:
            for m in map_file(path, spec.name):
                out["records"] += 1
                if m.error is not None:
                    reasons[m.error.split(":", 1)[0]] += 1
                for row in m.rows:
                    tables[row["_table"]] += 1
                    if row.get("user_alias_kind"):
                        kinds.add(row["user_alias_kind"])
                    if row.get("user_id"):
                        users.add(row["user_id"])
                    d = _day_of(row)
                    if d:
                        out["date_min"] = min(out["date_min"] or d, d)
                        out["date_max"] = max(out["date_max"] or d, d)
    except VendorFileError as exc:
        out["error"] = exc.reason
    out["bad_records"] = sum(reasons.values())
    out["bad_reasons"] = dict(sorted(reasons.items()))
    out["rows"] = dict(sorted(tables.items()))
    out["identity_kinds"] = sorted(kinds)
    out["users"] = len(users)
    return out


def describe() -> list[dict[str, Any]]:
    """One entry per registered format, sorted by grain then name: ``name, grain, summary,
    required, signals`` (the signals it can feed, ``{signal: "Y"|"A"}``), ``identity_kinds``,
    ``file_kinds``."""
    order = {"event": 0, "user_day": 1, "person_week": 2, "org_day": 3}
    return [
        {
            "name": f.name,
            "grain": f.grain,
            "summary": f.summary,
            "required": list(f.required),
            "signals": f.feeds(),
            "identity_kinds": list(f.identity_kinds),
            "file_kinds": list(f.file_kinds),
        }
        for f in sorted(FORMATS.values(), key=lambda f: (order[f.grain], f.name))
    ]
