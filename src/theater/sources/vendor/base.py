"""Shared base of the vendor-export readers: the format descriptor, canonical rows, a streaming
record reader for every delivered file shape, and timestamp/number helpers.

A *format* (one module per vendor export) is a :class:`VendorFormat`: a pure ``map_record``
that turns one vendor record (a dict, as :func:`iter_records` yields it) into canonical rows,
and a ``looks_like`` that recognises the format from one record. Canonical rows are plain dicts
whose ``"_table"`` is one of:

``interactions``
    every field of ``contract/interaction.schema.json`` (see :data:`INTERACTION_FIELDS`) plus
    ``source_format`` and ``user_alias_kind``. Build them with :func:`interaction_row`.
``user_days``
    :data:`USER_DAY_FIELDS`; counts are ``int`` or ``None`` when the source does not report
    them (never 0 for unknown). Build them with :func:`user_day_row`.
``org_days``
    :data:`ORG_DAY_FIELDS`, same rule. Build them with :func:`org_day_row`.

Reading (:func:`iter_records`) never caps the size of a file or of a line: JSON arrays and
wrappers are decoded one element at a time over a sliding buffer (``json.JSONDecoder.raw_decode``
with a bracket scanner to find where a broken element ends), so memory is bounded by the largest
single record. See :func:`iter_records` for every shape handled.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import json
import logging
import math
import os
import re
import zlib
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, NamedTuple

from ..limits import ReaderLimits, deeper_than
from ..limits import current as current_limits

log = logging.getLogger(__name__)

GRAINS = ("event", "user_day", "person_week", "org_day")
SIGNALS = (
    "unused_output",
    "self_summary",
    "repeat_prompt",
    "fragmentation",
    "padding",
    "quota_bunching",
    "checkpoint_burst",
    "outcome_decoupling",
)
SIGNAL_LEVELS = ("Y", "A", "N")
IDENTITY_KINDS = (
    "github_login",
    "github_id",
    "email",
    "upn",
    "identity_center_id",
    "iam_arn",
    "person_id",
    "api_key",
    "account_uuid",
    "user_id",
)
FILE_KINDS = ("json", "jsonl", "csv")
TABLES = ("interactions", "user_days", "org_days")

ACTIONS = (
    "chat",
    "summarize",
    "rewrite",
    "generate",
    "complete",
    "code_edit",
    "agent",
    "review",
    "search",
    "other",
)
DISPOSITIONS = ("accepted", "inserted", "copied", "edited", "discarded", "ignored", "unknown")

#: Fields of the landing interaction contract, in contract order.
INTERACTION_FIELDS = (
    "event_id",
    "event_ts",
    "user_id",
    "org_id",
    "tool",
    "action",
    "session_id",
    "prompt_fingerprint",
    "prompt_tokens",
    "completion_tokens",
    "model",
    "output_disposition",
    "dwell_ms",
    "artifact_id",
    "artifact_author_id",
    "artifact_modified_ts",
    "work_item_id",
)
USER_DAY_COUNTS = (
    "requests",
    "suggestions_shown",
    "accepted",
    "rejected",
    "dismissed",
    "lines_suggested",
    "lines_accepted",
    "sessions",
    "prompt_tokens",
    "output_tokens",
)
USER_DAY_FIELDS = (
    ("source_format", "user_id", "user_alias_kind", "vendor_org", "org_id", "day", "feature")
    + USER_DAY_COUNTS
    + ("period_days",)
)
ORG_DAY_COUNTS = (
    "active_users",
    "engaged_users",
    "requests",
    "suggestions_shown",
    "accepted",
    "lines_suggested",
    "lines_accepted",
)
ORG_DAY_FIELDS = (
    ("source_format", "vendor_org", "day", "feature") + ORG_DAY_COUNTS + ("period_days",)
)


# ---------------------------------------------------------------------------------------------
# errors


class VendorRecordError(ValueError):
    """A vendor record that cannot be mapped. ``str(exc)`` starts with a reason code:
    ``missing_required: <field>``, ``bad_timestamp: <value>``, ``bad_type: <field>``,
    ``malformed_line``, ``unknown_shape``..."""

    @property
    def reason(self) -> str:
        """The reason code alone (text before the first colon)."""
        return str(self).split(":", 1)[0].strip()


class VendorFileError(Exception):
    """A delivered file that cannot be decoded at all (bad gzip, not UTF-8, unreadable)."""

    def __init__(self, path: str, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


# ---------------------------------------------------------------------------------------------
# the format descriptor and the registry


@dataclass(frozen=True)
class VendorFormat:
    name: str
    grain: str
    summary: str
    required: tuple[str, ...]
    signals: dict[str, str]
    identity_kinds: tuple[str, ...]
    file_kinds: tuple[str, ...]
    map_record: Callable[[dict], list[dict]]
    looks_like: Callable[[dict], bool]
    docs: str = field(default="", repr=False)

    def __post_init__(self) -> None:
        if self.grain not in GRAINS:
            raise ValueError(f"{self.name}: grain {self.grain!r} not in {GRAINS}")
        if set(self.signals) != set(SIGNALS):
            raise ValueError(
                f"{self.name}: signals must name exactly {SIGNALS}, got {sorted(self.signals)}"
            )
        bad = {k: v for k, v in self.signals.items() if v not in SIGNAL_LEVELS}
        if bad:
            raise ValueError(f"{self.name}: signal levels must be Y, A or N: {bad}")
        bad_files = set(self.file_kinds) - set(FILE_KINDS)
        if bad_files:
            raise ValueError(f"{self.name}: unknown file kinds {sorted(bad_files)}")

    def feeds(self) -> dict[str, str]:
        """Signals this format can feed (level Y or A)."""
        return {k: v for k, v in self.signals.items() if v != "N"}


#: Registry, filled by each format module calling :func:`register` at import.
FORMATS: dict[str, VendorFormat] = {}


def register(fmt: VendorFormat) -> VendorFormat:
    if fmt.name in FORMATS and FORMATS[fmt.name] is not fmt:
        raise ValueError(f"vendor format {fmt.name!r} registered twice")
    FORMATS[fmt.name] = fmt
    return fmt


# ---------------------------------------------------------------------------------------------
# canonical rows


def interaction_row(source_format: str, user_alias_kind: str | None, **fields: Any) -> dict:
    """A canonical ``interactions`` row: every contract field (None unless given)."""
    unknown = set(fields) - set(INTERACTION_FIELDS)
    if unknown:
        raise TypeError(f"not interaction fields: {sorted(unknown)}")
    row: dict[str, Any] = {"_table": "interactions"}
    row.update({k: fields.get(k) for k in INTERACTION_FIELDS})
    if row["action"] is None:
        row["action"] = "other"
    if row["action"] not in ACTIONS:
        raise ValueError(f"action {row['action']!r} not in the contract enum")
    if row["output_disposition"] is not None and row["output_disposition"] not in DISPOSITIONS:
        raise ValueError(f"output_disposition {row['output_disposition']!r} not in the enum")
    row["source_format"] = source_format
    row["user_alias_kind"] = user_alias_kind
    return row


def user_day_row(
    source_format: str,
    user_id: str,
    user_alias_kind: str,
    day: str,
    feature: str,
    *,
    vendor_org: str | None = None,
    org_id: str | None = None,
    period_days: int = 1,
    **counts: int | None,
) -> dict:
    """A canonical ``user_days`` row; counts not given are None (not reported)."""
    unknown = set(counts) - set(USER_DAY_COUNTS)
    if unknown:
        raise TypeError(f"not user_day counts: {sorted(unknown)}")
    if period_days not in (1, 7):
        raise ValueError(f"period_days must be 1 or 7, got {period_days}")
    row: dict[str, Any] = {
        "_table": "user_days",
        "source_format": source_format,
        "user_id": user_id,
        "user_alias_kind": user_alias_kind,
        "vendor_org": vendor_org,
        "org_id": org_id,
        "day": day,
        "feature": feature,
    }
    row.update({k: counts.get(k) for k in USER_DAY_COUNTS})
    row["period_days"] = period_days
    return row


def org_day_row(
    source_format: str,
    vendor_org: str | None,
    day: str,
    feature: str,
    *,
    period_days: int = 1,
    **counts: int | None,
) -> dict:
    """A canonical ``org_days`` row; counts not given are None (not reported)."""
    unknown = set(counts) - set(ORG_DAY_COUNTS)
    if unknown:
        raise TypeError(f"not org_day counts: {sorted(unknown)}")
    row: dict[str, Any] = {
        "_table": "org_days",
        "source_format": source_format,
        "vendor_org": vendor_org,
        "day": day,
        "feature": feature,
    }
    row.update({k: counts.get(k) for k in ORG_DAY_COUNTS})
    row["period_days"] = period_days
    return row


#: Key columns of each canonical table: rows with equal keys are parts of one figure.
ROW_KEYS = {
    "user_days": (
        "source_format",
        "user_id",
        "user_alias_kind",
        "vendor_org",
        "org_id",
        "day",
        "feature",
        "period_days",
    ),
    "org_days": ("source_format", "vendor_org", "day", "feature", "period_days"),
}


def merge_rows(rows: list[dict]) -> list[dict]:
    """Sum ``user_days`` / ``org_days`` rows that share a key (:data:`ROW_KEYS`), in first-seen
    order; other rows pass through unchanged. Pure.

    Aggregate rows are additive: a source may report one figure in several records (Claude Code
    analytics has one record per user, day *and terminal*; the M365 user-detail report gives one
    0/1 active-user row per user and app). Counts add with unknown kept unknown: None + None is
    None, None + 3 is 3 (a part that is not reported adds nothing; the whole is unknown only when
    no part reports it).
    """
    out: list[dict] = []
    index: dict[tuple, dict] = {}
    for row in rows:
        table = row.get("_table")
        if table not in ROW_KEYS:
            out.append(row)
            continue
        key = (table,) + tuple(row.get(k) for k in ROW_KEYS[table])
        if key not in index:
            index[key] = dict(row)
            out.append(index[key])
            continue
        acc = index[key]
        counts = USER_DAY_COUNTS if table == "user_days" else ORG_DAY_COUNTS
        for c in counts:
            acc[c] = sum_known(acc.get(c), row.get(c))
    return out


def norm_key(name: str) -> str:
    """Header/field name -> lower snake case (``"Copilot actions taken in Teams"`` and
    ``"Copilot_actions_taken_in_Teams"`` -> ``copilot_actions_taken_in_teams``)."""
    return re.sub(r"[^0-9a-z]+", "_", str(name).strip().lower()).strip("_")


def norm_keys(record: dict) -> dict:
    """A record with :func:`norm_key` keys (first occurrence wins)."""
    out: dict = {}
    for k, v in record.items():
        out.setdefault(norm_key(k), v)
    return out


# ---------------------------------------------------------------------------------------------
# value helpers


def is_blank(value: Any) -> bool:
    """None, or a string that is empty/whitespace: the source did not report the value."""
    return value is None or (isinstance(value, str) and not value.strip())


def require(record: dict, *names: str) -> None:
    """Raise ``missing_required: <name>`` for the first field absent or blank."""
    for name in names:
        if is_blank(get_path(record, name)):
            raise VendorRecordError(f"missing_required: {name}")


def get_path(record: Any, dotted: str, default: Any = None) -> Any:
    """``get_path(r, "actor.email_address")``: nested dict lookup; ``default`` when absent."""
    cur = record
    for part in dotted.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return default
        cur = cur[part]
    return cur


def as_int(value: Any, name: str) -> int | None:
    """A count: int, integral float or numeric string -> int; blank -> None (not reported).

    Negative numbers, booleans, fractions and text raise ``bad_type: <name>``.
    """
    if is_blank(value):
        return None
    if isinstance(value, bool):
        raise VendorRecordError(f"bad_type: {name} ({value!r})")
    if isinstance(value, int):
        out = value
    elif isinstance(value, float):
        if not math.isfinite(value) or value != int(value):
            raise VendorRecordError(f"bad_type: {name} ({value!r})")
        out = int(value)
    elif isinstance(value, str):
        text = (
            value.strip().replace(",", "")
            if re.fullmatch(r"\s*\d{1,3}(,\d{3})+\s*", value)
            else value.strip()
        )
        try:
            out = int(text)
        except ValueError:
            try:
                f = float(text)
            except ValueError:
                raise VendorRecordError(f"bad_type: {name} ({value!r})") from None
            if not math.isfinite(f) or f != int(f):
                raise VendorRecordError(f"bad_type: {name} ({value!r})") from None
            out = int(f)
    else:
        raise VendorRecordError(f"bad_type: {name} ({type(value).__name__})")
    if out < 0:
        raise VendorRecordError(f"bad_type: {name} (negative {out})")
    return out


def as_str(value: Any, name: str) -> str | None:
    """A scalar identifier as text (ints are written in decimal); blank -> None."""
    if is_blank(value):
        return None
    if isinstance(value, bool) or isinstance(value, (dict, list)):
        raise VendorRecordError(f"bad_type: {name} ({type(value).__name__})")
    if isinstance(value, float):
        if value != int(value):
            raise VendorRecordError(f"bad_type: {name} ({value!r})")
        value = int(value)
    return str(value).strip()


def sum_known(*values: int | None) -> int | None:
    """Sum of the reported values; None when none is reported (unknown is not 0)."""
    known = [v for v in values if v is not None]
    return sum(known) if known else None


_ISO = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?"
    r"\s*(Z|z|[+-]\d{2}:?\d{2}|[+-]\d{2}|UTC)?"
)
_MDY = re.compile(
    r"(\d{1,2})([-/])(\d{1,2})\2(\d{4})"
    r"(?:[T ](\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp][Mm])?)?"
)
_NUM = re.compile(r"[+-]?\d+(\.\d+)?")


def _fmt_utc(t: dt.datetime) -> str:
    t = t.astimezone(dt.timezone.utc)
    base = t.strftime("%Y-%m-%dT%H:%M:%S")
    if t.microsecond:
        base += "." + f"{t.microsecond:06d}".rstrip("0")
    return base + "Z"


def _tz(assume_tz: str) -> dt.tzinfo:
    if assume_tz.upper() in ("UTC", "Z"):
        return dt.timezone.utc
    from zoneinfo import ZoneInfo

    return ZoneInfo(assume_tz)


def _from_epoch(number: float, raw: Any) -> str:
    mag = abs(number)
    if isinstance(number, int) and mag >= 1e11:  # exact integer arithmetic for ms/us/ns
        per_sec = 1000 if mag < 1e14 else 1_000_000 if mag < 1e17 else 1_000_000_000
        whole, rest = divmod(number, per_sec)
        try:
            t = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(
                seconds=whole, microseconds=rest * 1_000_000 // per_sec
            )
        except (OverflowError, ValueError):
            raise VendorRecordError(f"bad_timestamp: {raw!r}") from None
        return _fmt_utc(t)
    if mag < 1e11:  # seconds (up to year 5138)
        secs = number
    elif mag < 1e14:  # milliseconds
        secs = number / 1e3
    elif mag < 1e17:  # microseconds
        secs = number / 1e6
    else:  # nanoseconds
        secs = number / 1e9
    try:
        whole = math.floor(secs)
        micro = round((secs - whole) * 1e6)
        t = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(
            seconds=whole, microseconds=micro
        )
    except (OverflowError, ValueError):
        raise VendorRecordError(f"bad_timestamp: {raw!r}") from None
    return _fmt_utc(t)


def parse_ts(value: Any, *, assume_tz: str = "UTC") -> str:
    """Any vendor timestamp -> RFC 3339 UTC ending in ``Z`` (``2026-03-01T09:30:00Z``; sub-second
    digits kept, trailing zeros dropped).

    Accepted: RFC 3339 / ISO 8601 with or without offset (``T`` or space; without an offset the
    time is in ``assume_tz``, an IANA name, default UTC); epoch seconds, milliseconds,
    microseconds or nanoseconds as int, float or numeric string (unit by magnitude:
    < 1e11 s, < 1e14 ms, < 1e17 us, else ns); ``MM-DD-YYYY`` and ``MM/DD/YYYY`` (US order, as
    Amazon Q and Viva write them, optional time); ``YYYY-MM-DD`` (midnight). Anything else raises
    ``VendorRecordError("bad_timestamp: <value>")``.
    """
    if isinstance(value, bool) or value is None:
        raise VendorRecordError(f"bad_timestamp: {value!r}")
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            raise VendorRecordError(f"bad_timestamp: {value!r}")
        return _from_epoch(value, value)
    if not isinstance(value, str):
        raise VendorRecordError(f"bad_timestamp: {value!r}")
    text = value.strip()
    if _NUM.fullmatch(text):
        return _from_epoch(float(text) if "." in text else int(text), value)
    try:
        m = _ISO.fullmatch(text)
        if m:
            y, mo, d, hh, mi, ss, frac, off = m.groups()
            micro = int((frac or "0")[:6].ljust(6, "0"))
            t = dt.datetime(
                int(y), int(mo), int(d), int(hh or 0), int(mi or 0), int(ss or 0), micro
            )
            if off is None:
                t = t.replace(tzinfo=_tz(assume_tz))
            elif off in ("Z", "z", "UTC"):
                t = t.replace(tzinfo=dt.timezone.utc)
            else:
                sign = -1 if off[0] == "-" else 1
                digits = off[1:].replace(":", "")
                minutes = int(digits[:2]) * 60 + (int(digits[2:4]) if len(digits) > 2 else 0)
                t = t.replace(tzinfo=dt.timezone(sign * dt.timedelta(minutes=minutes)))
            return _fmt_utc(t)
        m = _MDY.fullmatch(text)
        if m:
            mo, _, d, y, hh, mi, ss, ampm = m.groups()
            hour = int(hh or 0)
            if ampm:
                if not 1 <= hour <= 12:
                    raise ValueError(text)
                hour = hour % 12 + (12 if ampm.lower() == "pm" else 0)
            t = dt.datetime(
                int(y), int(mo), int(d), hour, int(mi or 0), int(ss or 0), tzinfo=_tz(assume_tz)
            )
            return _fmt_utc(t)
    except (ValueError, OverflowError, KeyError):
        pass
    raise VendorRecordError(f"bad_timestamp: {value!r}")


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


def instant_us(value: Any, *, assume_tz: str = "UTC") -> int:
    """The instant of any :func:`parse_ts` input as integer microseconds since the epoch: the
    same instant gives the same number whatever its unit (s, ms, us, ns) or notation (epoch
    number or text, RFC 3339 with any offset). Build derived ids from this, never from the
    timestamp's text."""
    t = dt.datetime.fromisoformat(parse_ts(value, assume_tz=assume_tz).replace("Z", "+00:00"))
    return (t - _EPOCH) // dt.timedelta(microseconds=1)


def parse_day(value: Any, *, assume_tz: str = "UTC") -> str:
    """A vendor date (any :func:`parse_ts` input) -> ``YYYY-MM-DD`` of the UTC instant.

    A bare date (``2026-03-01``, ``03-01-2026``) is that calendar day.
    """
    return parse_ts(value, assume_tz=assume_tz)[:10]


# ---------------------------------------------------------------------------------------------
# reading delivered files


class RawRecord(NamedTuple):
    """One record of a delivered file. ``line``: 1-based line (JSONL, CSV) or element index
    (JSON); ``record``: the decoded dict, or None when ``error`` says why not; ``raw``: the
    record's own text (kept for quarantine)."""

    line: int
    record: dict | None
    raw: str
    error: str | None


MALFORMED = "malformed_line"
NOT_OBJECT = "malformed_line: not a JSON object"

#: Keys of a JSON wrapper object whose array is streamed as the records.
WRAPPER_KEYS = (
    "data",
    "value",
    "usage_events",
    "usageEvents",
    "items",
    "records",
    "Records",
    "results",
    "events",
    "rows",
    "logs",
    "entries",
)
#: Arrays that are part of one record, never a wrapper of records: a GitHub 28-day usage
#: report is one record whose daily figures are in ``day_totals`` (its ids are outside it).
NOT_WRAPPER_KEYS = ("day_totals",)
OTLP_KEYS = {"resourceLogs": ("scopeLogs", "logRecords"), "resourceSpans": ("scopeSpans", "spans")}

_CHUNK = 1 << 20

# no cap on a CSV field below the record limit (Purview exports carry whole JSON records in
# one column; the csv module's default limit is 128 KiB): lines are bounded before csv sees them
csv.field_size_limit(2**31 - 1)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"non-standard JSON constant {name}")


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def _loads(text: str) -> Any:
    """Strict JSON (no NaN/Infinity); raises ValueError."""
    obj, end = _DECODER.raw_decode(text)
    if text[end:].strip():
        raise ValueError("extra data")
    return obj


def _base_kind(path: str) -> tuple[str | None, bool]:
    low = str(path).lower()
    gz = low.endswith(".gz")
    if gz:
        low = low[:-3]
    for ext, kind in (
        (".jsonl", "jsonl"),
        (".ndjson", "jsonl"),
        (".json", "json"),
        (".csv", "csv"),
    ):
        if low.endswith(ext):
            return kind, gz
    return None, gz


class _Counted(io.RawIOBase):
    """The decompressed bytes of a file, counted as they are read: past a reader limit
    (:class:`~theater.sources.limits.ReaderLimits` bytes or ratio) reading stops with
    :class:`VendorFileError`, so a decompression bomb costs about the limit, not its size."""

    def __init__(self, path: str, inner: Any, limits: ReaderLimits, compressed: int | None):
        self.path = path
        self.inner = inner
        self.limits = limits
        self.compressed = compressed
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        data = self.inner.read(len(b))
        n = len(data)
        b[:n] = data
        self.count += n
        problem = self.limits.check_bytes(self.count, self.compressed)
        if problem:
            raise VendorFileError(self.path, problem)
        return n

    def close(self) -> None:
        try:
            self.inner.close()
        finally:
            super().close()


def _open_counted(path: str, gz: bool, limits: ReaderLimits) -> io.BufferedReader:
    try:
        inner = gzip.open(path, "rb") if gz else open(path, "rb")
        compressed = os.path.getsize(path) if gz else None
    except OSError as exc:
        raise VendorFileError(path, f"unreadable: {exc}") from exc
    return io.BufferedReader(_Counted(path, inner, limits, compressed), buffer_size=_CHUNK)


def _decode_errors(path: str, fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except UnicodeDecodeError as exc:
        raise VendorFileError(
            path, f"not_utf8: byte {exc.start} of a chunk ({exc.reason})"
        ) from exc
    except (gzip.BadGzipFile, zlib.error, EOFError) as exc:
        raise VendorFileError(path, f"bad_gzip: {exc}") from exc
    except OSError as exc:
        raise VendorFileError(path, f"unreadable: {exc}") from exc


class _Text:
    """A text stream over a (possibly gzipped) file that turns decoding failures and reader
    limits into :class:`VendorFileError`."""

    def __init__(self, path: str, gz: bool, limits: ReaderLimits, newline: str | None = None):
        self.path = str(path)
        self.limits = limits
        self._binary = _open_counted(self.path, gz, limits)
        self.stream = io.TextIOWrapper(
            self._binary, encoding="utf-8-sig", errors="strict", newline=newline
        )

    def wrap(self, fn: Callable[[], Any]) -> Any:
        return _decode_errors(self.path, fn)

    def read(self, n: int) -> str:
        return self.wrap(lambda: self.stream.read(n))

    def close(self) -> None:
        try:
            self.stream.close()
        except Exception:  # noqa: BLE001 - closing after a decode failure
            pass


class _Line(NamedTuple):
    """One physical line: ``text`` (decoded, line ending kept) or None with ``error`` (the line
    is undecodable or oversized) and ``raw`` (a bounded prefix for quarantine)."""

    n: int
    text: str | None
    raw: str
    error: str | None


class _Lines:
    """Physical lines of a (possibly gzipped) file, each decoded on its own, in bounded memory.

    A line that is not UTF-8 is reported alone (``undecodable_line``: the byte and its column),
    so the file's other lines still load; a line over ``max_record_bytes`` is consumed without
    being held and reported with its size and a prefix of ``quarantine_prefix_bytes``.
    """

    def __init__(self, path: str, gz: bool, limits: ReaderLimits):
        self.path = str(path)
        self.limits = limits
        self.binary = _open_counted(self.path, gz, limits)
        self.n = 0

    def _skip_blank_run(self) -> None:
        """After a blank line: consume whole buffered blocks of whitespace at C speed (a file of
        blank lines must not cost one Python call per line)."""
        while True:
            ahead = self.binary.peek(_CHUNK)
            if len(ahead) < 4096 or not ahead.isspace():
                return
            k = ahead.rfind(b"\n")
            if k < 0:
                return
            self.n += ahead.count(b"\n", 0, k + 1)
            self.binary.read(k + 1)

    def __iter__(self) -> Iterator[tuple]:
        """``(line number, text or None, raw prefix, error)`` per physical line (see
        :class:`_Line`; plain tuples: this runs once per line)."""
        try:
            yield from self._lines()
        except (gzip.BadGzipFile, zlib.error, EOFError) as exc:
            raise VendorFileError(self.path, f"bad_gzip: {exc}") from exc
        except OSError as exc:
            raise VendorFileError(self.path, f"unreadable: {exc}") from exc

    def _lines(self) -> Iterator[tuple]:
        cap = self.limits.max_record_bytes
        keep = self.limits.quarantine_prefix_bytes
        readline = self.binary.readline
        n = self.n
        while True:
            line = readline(cap + 1)
            if not line:
                self.n = n
                return
            n += 1
            if len(line) > cap and line[-1:] != b"\n":
                size, prefix = len(line), line[:keep]
                del line
                while True:  # the rest of the line, read and dropped
                    part = readline(_CHUNK)
                    size += len(part)
                    if not part or part.endswith(b"\n"):
                        size -= 2 if part.endswith(b"\r\n") else 1 if part else 0
                        break
                self.n = n
                yield (
                    n,
                    None,
                    prefix.decode("utf-8", "replace"),
                    self.limits.too_big(size) + f" (first {len(prefix)} bytes kept)",
                )
                continue
            try:
                text = line.decode("utf-8")
            except UnicodeDecodeError as exc:
                self.n = n
                yield (
                    n,
                    None,
                    line[:keep].decode("utf-8", "replace").rstrip("\r\n"),
                    f"undecodable_line: byte 0x{line[exc.start]:02x} at column {exc.start + 1}"
                    " is not UTF-8",
                )
                continue
            if n == 1 and text[:1] == "\ufeff":
                text = text[1:]
            if text.isspace():
                self.n = n
                self._skip_blank_run()
                n = self.n
            yield (n, text, "", None)

    def close(self) -> None:
        try:
            self.binary.close()
        except Exception:  # noqa: BLE001 - closing after a decode failure
            pass


def iter_records(path: str, limits: ReaderLimits | None = None) -> Iterator[RawRecord]:
    """Stream the records of a delivered vendor file, whatever its shape, with bounded memory.

    - ``.jsonl`` / ``.ndjson`` (optionally ``.gz``): one JSON object per line; blank lines skipped.
    - ``.json`` (optionally ``.gz``): an array of objects; a single object; concatenated objects
      (NDJSON saved as ``.json``); or a wrapper object. A wrapper is an object holding the records
      under one of :data:`WRAPPER_KEYS` (``data``, ``value``, ``usage_events``...: streamed element
      by element, other keys ignored), or, when it is the file's only top-level value, an object
      with exactly one array-of-objects value and no object value (its elements are the records;
      among concatenated objects each object is a record).
    - OTLP JSON (``resourceLogs[].scopeLogs[].logRecords[]``, ``resourceSpans[].scopeSpans[].
      spans[]``, in a ``.json`` file or one request per JSONL line): each log record / span is
      one record with OTLP key/value lists made plain: its ``attributes`` become a dict
      ``{key: value}`` (AnyValue unwrapped: string, int (OTLP JSON writes int64 as a string: made
      int), double, bool, array -> list, kvlist -> dict, bytes -> base64 text), ``body`` is
      unwrapped the same way, and two keys are added: ``_resource`` (dict of the resource
      attributes) and ``_scope`` (``{"name", "version", "attributes": dict}``).
    - ``.csv`` (optionally ``.gz``): header row (UTF-8 BOM stripped, quoted names allowed, any
      order); every column is kept under its header name, values as text. A row whose field
      count differs from the header's is ``malformed_line: ragged row ...``.
    - Another extension: sniffed (``[`` or ``{`` -> JSON, otherwise CSV).

    A malformed element (trailing comma, comment, single quotes, NaN, truncated) yields
    ``RawRecord(line, None, raw_text, "malformed_line")`` and reading continues after it; a
    non-object element (a number, a string) yields ``"malformed_line: not a JSON object"``.
    In JSON lines and CSV, a line that is not UTF-8 yields ``undecodable_line: ...`` with its
    line number, and a line over ``limits.max_record_bytes`` yields ``oversized_record: <size>
    bytes ...`` with a bounded prefix as its raw text; the other lines are read.

    Limits (``limits``, default :func:`theater.sources.limits.current`): a file nested deeper
    than ``max_depth``, reading to more than ``max_decompressed_bytes`` or past ``max_ratio``
    times its compressed size, or (``.json``) holding an element over ``max_record_bytes``,
    raises :class:`VendorFileError` naming the limit, after reading about the limit at most.
    A file that cannot be decoded at all raises :class:`VendorFileError` (``bad_gzip``,
    ``not_utf8``, ``unreadable``), possibly after some records were yielded.
    """
    limits = limits or current_limits()
    path = str(path)
    kind, gz = _base_kind(path)
    if kind is None:
        kind = _sniff(path, gz, limits)
    try:
        if kind == "json":
            text = _Text(path, gz, limits)
            try:
                md = limits.max_depth
                for rec in _iter_json(text):
                    raw = rec.raw
                    if (
                        rec.record is not None
                        and raw.count("{") + raw.count("[") > md
                        and deeper_than(raw, md)
                    ):
                        raise VendorFileError(path, limits.too_deep())
                    yield rec
            finally:
                text.close()
            return
        lines = _Lines(path, gz, limits)
        try:
            if kind == "jsonl":
                yield from _iter_jsonl(lines, limits, path)
            else:
                yield from _iter_csv(lines)
        finally:
            lines.close()
    except RecursionError:
        # the JSON decoder's own guard (C recursion bounded by the interpreter's limit): a value
        # too deep to decode at all is over max_depth too
        raise VendorFileError(path, limits.too_deep()) from None


def _sniff(path: str, gz: bool, limits: ReaderLimits) -> str:
    text = _Text(path, gz, limits)
    try:
        head = text.read(4096).lstrip()
    finally:
        text.close()
    return "json" if head[:1] in ("[", "{") else "csv"


# --- OTLP ------------------------------------------------------------------------------------


def otlp_value(v: Any) -> Any:
    """An OTLP JSON ``AnyValue`` -> plain Python value."""
    if not isinstance(v, dict):
        return v
    if "stringValue" in v:
        return v["stringValue"]
    if "intValue" in v:
        try:
            return int(v["intValue"])
        except (TypeError, ValueError):
            return v["intValue"]
    if "doubleValue" in v:
        return v["doubleValue"]
    if "boolValue" in v:
        return v["boolValue"]
    if "bytesValue" in v:
        return v["bytesValue"]
    if "arrayValue" in v:
        return [otlp_value(x) for x in (v["arrayValue"] or {}).get("values", [])]
    if "kvlistValue" in v:
        return otlp_attributes((v["kvlistValue"] or {}).get("values", []))
    return None if not v else v


def otlp_attributes(kvs: Any) -> dict:
    """An OTLP key/value list (``[{"key": k, "value": AnyValue}]``) -> ``{k: value}``."""
    if isinstance(kvs, dict):
        return kvs
    out = {}
    for kv in kvs or []:
        if isinstance(kv, dict) and "key" in kv:
            out[kv["key"]] = otlp_value(kv.get("value"))
    return out


def _flatten_otlp(kind: str, block: Any) -> Iterator[dict]:
    scopes_key, items_key = OTLP_KEYS[kind]
    if not isinstance(block, dict):
        return
    resource = otlp_attributes((block.get("resource") or {}).get("attributes"))
    for scope_block in block.get(scopes_key) or []:
        if not isinstance(scope_block, dict):
            continue
        scope = scope_block.get("scope") or {}
        scope_info = {
            "name": scope.get("name"),
            "version": scope.get("version"),
            "attributes": otlp_attributes(scope.get("attributes")),
        }
        for item in scope_block.get(items_key) or []:
            if not isinstance(item, dict):
                continue
            rec = dict(item)
            rec["attributes"] = otlp_attributes(item.get("attributes"))
            if "body" in rec:
                rec["body"] = otlp_value(rec["body"])
            rec["_resource"] = resource
            rec["_scope"] = scope_info
            yield rec


def _otlp_kind(obj: dict) -> str | None:
    if "resourceLogs" not in obj and "resourceSpans" not in obj:  # the common case, per record
        return None
    for k in OTLP_KEYS:
        if isinstance(obj.get(k), list):
            return k
    return None


def _records_of_object(obj: dict, generic: bool = True) -> list | None:
    """Records of a decoded top-level object that is an OTLP request or a wrapper; None when the
    object is itself one record. ``generic``: also treat an object with exactly one
    array-of-objects value and no object value as a wrapper (only for a file's single top-level
    object: among concatenated objects each object is a record)."""
    otlp = _otlp_kind(obj)
    if otlp:
        return [r for block in obj[otlp] for r in _flatten_otlp(otlp, block)]
    for k in WRAPPER_KEYS:
        if isinstance(obj.get(k), list):
            return list(obj[k])
    if not generic:
        return None
    arrays = [k for k, v in obj.items() if isinstance(v, list)]
    nested = [k for k, v in obj.items() if isinstance(v, dict)]
    if (
        len(arrays) == 1
        and arrays[0] not in NOT_WRAPPER_KEYS
        and not nested
        and obj[arrays[0]]
        and all(isinstance(x, dict) for x in obj[arrays[0]])
    ):
        return list(obj[arrays[0]])
    return None


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


# --- JSON lines ------------------------------------------------------------------------------


def _iter_jsonl(lines: _Lines, limits: ReaderLimits, path: str) -> Iterator[RawRecord]:
    max_depth = limits.max_depth
    for n, text, bad_raw, error in lines:
        if text is None:
            yield RawRecord(n, None, bad_raw, error)
            continue
        raw = text.rstrip("\r\n")
        if not raw or raw.isspace():
            continue
        # before decoding: nothing recurses on a line's depth (counting brackets is cheap; the
        # exact scan runs only when there are more brackets than the limit)
        if raw.count("{") + raw.count("[") > max_depth and deeper_than(raw, max_depth):
            raise VendorFileError(path, limits.too_deep() + f" at line {n}")
        try:
            obj = _loads(raw)
        except ValueError:
            yield RawRecord(n, None, raw, MALFORMED)
            continue
        if not isinstance(obj, dict):
            yield RawRecord(n, None, raw, NOT_OBJECT)
            continue
        inner = _records_of_object(obj) if _otlp_kind(obj) else None
        if inner is None:
            yield RawRecord(n, obj, raw, None)
        else:
            for rec in inner:
                yield RawRecord(n, rec, _dumps(rec), None)


# --- streaming JSON --------------------------------------------------------------------------

_STRUCT = re.compile(r"[\"'{}\[\]/,]")
_ODD_WS = "\x0b\x0c\x1c\x1d\x1e\x1f"
_DQ_END = re.compile(r'["\\]')
_SQ_END = re.compile(r"['\\]")


class _Buf:
    """A sliding window over a text stream: ``buf[pos:]`` is unread text."""

    def __init__(self, text: _Text):
        self.text = text
        self.buf = ""
        self.pos = 0
        self.eof = False

    def more(self) -> bool:
        if self.eof:
            return False
        limits = self.text.limits
        if len(self.buf) > limits.max_record_bytes + 2 * _CHUNK:
            # one value (or a run of whitespace) larger than a record may be: stop here rather
            # than hold it
            raise VendorFileError(
                self.text.path,
                limits.too_big(len(self.buf) - min(self.pos, len(self.buf))).replace(
                    "oversized_record:", "over_limit: a JSON element of more than"
                ),
            )
        chunk = self.text.read(_CHUNK)
        if not chunk:
            self.eof = True
            return False
        self.buf += chunk
        return True

    def compact(self) -> None:
        """Drop consumed text (only between values: no index into ``buf`` is held then)."""
        if self.pos > _CHUNK:
            self.buf, self.pos = self.buf[self.pos :], 0

    def skip_ws(self, extra: str = "", drop: bool = False) -> str:
        """Skip whitespace (and ``extra`` characters); return the next character or ''.
        ``drop``: no index into ``buf`` is held, so consumed text may be let go (a long run of
        whitespace is never held). Runs are skipped with ``str.lstrip`` over windows that grow
        4x (C speed, cost proportional to the run)."""
        skip = " \t\r\n" + extra
        while True:
            buf, pos = self.buf, self.pos
            n = len(buf)
            w = 64
            k = pos + 8  # short runs (indentation) one character at a time
            while pos < n and pos < k and buf[pos] in skip:
                pos += 1
            while pos < n and buf[pos] in skip:
                window = buf[pos : pos + w]
                if buf[pos] == ",":  # separators (arrays): the general strip
                    rest = window.lstrip(skip)
                    pos += len(window) - len(rest)
                else:
                    # str.lstrip() without arguments runs at C speed but also strips what
                    # JSON does not call whitespace (\v, \f, \x1c-\x1f, non-ASCII spaces):
                    # stop at the first of those, which is then read as a (malformed) value
                    rest = window.lstrip()
                    head = window[: len(window) - len(rest)]
                    if not head.isascii() or any(o in head for o in _ODD_WS):
                        pos += next(i for i, ch in enumerate(head) if ch not in skip)
                        break
                    pos += len(head)
                if not rest:
                    w = min(w * 4, _CHUNK)
            self.pos = pos
            if pos < n:
                return buf[pos]
            if drop:
                self.buf, self.pos = "", 0
            if not self.more():
                return ""

    def string_end(self, j: int) -> int:
        """Index just after the string whose opening quote is at ``j`` (``"`` or ``'``);
        ``len(buf)`` when the file ends first. Reads more text as needed."""
        end = _DQ_END if self.buf[j] == '"' else _SQ_END
        k = j + 1
        while True:
            m2 = end.search(self.buf, k)
            if m2 is None:
                if not self.more():
                    return len(self.buf)
                continue
            if m2.group() == "\\":
                if m2.start() + 1 >= len(self.buf) and not self.more():
                    return len(self.buf)
                k = m2.start() + 2
                continue
            return m2.start() + 1

    def span_end(self, start: int, depth: int = 0) -> int:
        """End (exclusive) of the value starting at ``start``, found by a tolerant scan (strings
        in either quote, comments, bracket depth) without decoding it: at depth 0, the first
        ``,``, ``]`` or ``}`` outside brackets, or the matching close of the opening bracket.
        ``depth`` > 0 starts inside that many open brackets (find the end of the enclosing value).
        Reads more text as needed; returns ``len(buf)`` at end of file."""
        i = start
        while True:
            buf = self.buf
            m = _STRUCT.search(buf, i)
            if m is None:
                if not self.more():
                    return len(self.buf)
                continue
            c, j = m.group(), m.start()
            if c in "\"'":
                i = self.string_end(j)
                continue
            if c == "/":
                if j + 1 >= len(self.buf) and self.more():
                    continue
                nxt = self.buf[j + 1 : j + 2]
                if nxt == "/":
                    while (e := self.buf.find("\n", j)) < 0:
                        if not self.more():
                            return len(self.buf)
                    i = e + 1
                elif nxt == "*":
                    while (e := self.buf.find("*/", j + 2)) < 0:
                        if not self.more():
                            return len(self.buf)
                    i = e + 2
                else:
                    i = j + 1
                continue
            if c in "{[":
                depth += 1
                i = j + 1
                continue
            if c in "}]":
                if depth == 0:
                    return j
                depth -= 1
                i = j + 1
                if depth == 0:
                    return i
                continue
            # comma
            if depth == 0:
                return j
            i = j + 1

    def value(self) -> tuple[Any, str, bool]:
        """Decode the value at ``pos`` -> (value, raw text, ok); advance past it."""
        start = self.pos
        try:
            obj, end = _DECODER.raw_decode(self.buf, start)
            # a number or literal may be cut short by the buffer end ("-2" of "-2.5"): accept it
            # only when a delimiter follows; else re-read its span
            if (
                self.buf[start] in '{["'
                or self.eof
                or (end < len(self.buf) and self.buf[end] in " \t\r\n,]}")
            ):
                self.pos = end
                return obj, self.buf[start:end], True
        except ValueError:
            pass
        if self.buf[start] == '"':
            end = self.string_end(start)
            raw = self.buf[start:end]
            self.pos = end
            try:
                return _loads(raw), raw, True
            except ValueError:
                return None, raw, False
        end = self.span_end(start)
        raw = self.buf[start:end]
        if not raw.strip() and end < len(self.buf):
            # a stray separator/closer where a value should be: consume one character
            end += 1
            raw = self.buf[start:end]
        self.pos = end
        try:
            return _loads(raw), raw, True
        except ValueError:
            return None, raw, False

    def comment(self) -> str | None:
        """If a comment starts at ``pos``, consume it and return its text."""
        if self.buf[self.pos : self.pos + 1] != "/":
            return None
        if self.pos + 1 >= len(self.buf):
            self.more()
        nxt = self.buf[self.pos + 1 : self.pos + 2]
        if nxt not in ("/", "*"):
            return None
        start = self.pos
        close = "\n" if nxt == "/" else "*/"
        while (e := self.buf.find(close, start + 2)) < 0:
            if not self.more():
                e = len(self.buf) - len(close)
                break
        self.pos = e + len(close)
        return self.buf[start : self.pos].rstrip("\n")


def _iter_json(text: _Text) -> Iterator[RawRecord]:
    b = _Buf(text)
    counter = [0]

    def emit(obj: Any, raw: str, ok: bool) -> Iterator[RawRecord]:
        if not ok:
            counter[0] += 1
            yield RawRecord(counter[0], None, raw, MALFORMED)
        elif not isinstance(obj, dict):
            counter[0] += 1
            yield RawRecord(counter[0], None, raw, NOT_OBJECT)
        else:
            inner = _records_of_object(obj) if _otlp_kind(obj) else None
            if inner is None:
                counter[0] += 1
                yield RawRecord(counter[0], obj, raw, None)
            else:
                for rec in inner:
                    counter[0] += 1
                    yield RawRecord(counter[0], rec, _dumps(rec), None)

    def comment_record() -> Iterator[RawRecord]:
        c = b.comment()
        if c is not None:
            counter[0] += 1
            yield RawRecord(counter[0], None, c, MALFORMED)

    def array(otlp: str | None = None) -> Iterator[RawRecord]:
        """Elements of the array whose ``[`` is at ``pos``; leaves ``pos`` after ``]``."""
        b.pos += 1
        while True:
            b.compact()
            c = b.skip_ws(",", drop=True)
            if c == "":
                return
            if c == "]":
                b.pos += 1
                return
            if c == "/":
                got = list(comment_record())
                if got:
                    yield from got
                    continue
            obj, raw, ok = b.value()
            if otlp and ok and isinstance(obj, dict):
                for rec in _flatten_otlp(otlp, obj):
                    counter[0] += 1
                    yield RawRecord(counter[0], rec, _dumps(rec), None)
            else:
                yield from emit(obj, raw, ok)

    pending: list = []  # a top-level object not yet known to be a wrapper: (obj, raw)

    def flush(last: bool) -> Iterator[RawRecord]:
        """Emit the pending top-level object: a record, or (when it is the file's only value)
        possibly a generic wrapper."""
        if not pending:
            return
        obj, raw = pending.pop()
        inner = _records_of_object(obj, generic=last and seen[0] == 1)
        if inner is None:
            yield from emit(obj, raw, True)
        else:
            for rec in inner:
                yield from emit(rec, _dumps(rec), True)

    def obj_top() -> Iterator[RawRecord]:
        """A top-level object whose ``{`` is at ``pos``: stream a known wrapper's array, else
        decode the object key by key (left in ``pending``)."""
        start = b.pos  # no compaction happens until the object ends, unless streamed
        b.pos += 1
        envelope: dict = {}
        parts: list[str] = []
        streamed = broken = False
        first, after_comma = True, False
        while True:
            c = b.skip_ws()
            if c == "":  # the file ends inside the object
                broken = True
                break
            if c == "}":
                b.pos += 1
                broken = broken or after_comma  # trailing comma
                break
            if c == ",":
                broken = broken or first or after_comma  # "{," or ",,"
                b.pos += 1
                after_comma = True
                continue
            if c == "/" and b.comment() is not None:
                broken = True
                continue
            broken = broken or not (first or after_comma)  # missing comma
            first, after_comma = False, False
            key, raw_key, ok = b.value()
            if not ok or not isinstance(key, str) or b.skip_ws() != ":":
                # not a well-formed object: report the rest of this value as malformed
                end = b.span_end(b.pos, depth=1)  # to the object's closing brace
                rest = b.buf[b.pos : end]
                b.pos = max(end, b.pos)
                raw = (
                    b.buf[start : b.pos]
                    if not streamed
                    else "{" + ",".join(parts + [raw_key + rest])
                )
                yield from emit(None, raw, False)
                return
            b.pos += 1
            c = b.skip_ws()
            if c == "[" and (key in WRAPPER_KEYS or key in OTLP_KEYS):
                streamed = True
                yield from array(otlp=key if key in OTLP_KEYS else None)
                continue
            val, raw_val, ok = b.value()
            broken = broken or not ok
            parts.append(f"{raw_key}:{raw_val}")
            envelope[key] = val
        if streamed:
            if broken:
                yield from emit(None, "{" + ",".join(parts) + "}", False)
            return
        raw = b.buf[start : b.pos]
        if broken:
            yield from emit(None, raw, False)
        else:
            pending.append((envelope, raw))

    seen = [0]  # top-level values so far (comments aside)
    while True:
        b.compact()
        c = b.skip_ws(",", drop=True)
        if c == "":
            yield from flush(last=True)
            return
        if c == "/" and (got := list(comment_record())):
            yield from got
            continue
        yield from flush(last=False)
        seen[0] += 1
        if c == "[":
            yield from array()
        elif c == "{":
            # small objects: decode whole, keep their raw text; big ones go key by key
            start = b.pos
            try:
                obj, end = _DECODER.raw_decode(b.buf, start)
                complete = True
            except ValueError:
                complete = False
            if (
                complete
                and not _otlp_kind(obj)
                and not any(isinstance(obj.get(k), list) for k in WRAPPER_KEYS)
            ):
                b.pos = end
                pending.append((obj, b.buf[start:end]))
            else:
                yield from obj_top()
        else:
            obj, raw, ok = b.value()
            yield from emit(obj, raw, ok)


# --- CSV -------------------------------------------------------------------------------------


def _iter_csv(lines_in: _Lines) -> Iterator[RawRecord]:
    lines = _LineCounter(lines_in)
    # a field may be as large as a record (lines are bounded before csv sees them)
    csv.field_size_limit(max(lines_in.limits.max_record_bytes, 1 << 17))
    reader = csv.reader(lines)
    header: list[str] | None = None
    while True:
        start = lines.n + 1
        try:
            row = _decode_errors(lines_in.path, lambda: next(reader))
        except StopIteration:
            yield from lines.take_bad()
            return
        except csv.Error as exc:
            yield from lines.take_bad()
            yield RawRecord(start, None, lines.since(start), f"{MALFORMED}: {exc}")
            continue
        yield from lines.take_bad()
        if not row or all(not c.strip() for c in row):
            lines.since(lines.n + 1)
            continue
        if header is None:
            header = [h.strip().lstrip("\ufeff") for h in row]
            lines.since(lines.n + 1)
            continue
        first = lines.first_since(start)
        raw = lines.since(start)
        if len(row) != len(header):
            yield RawRecord(
                first,
                None,
                raw,
                f"{MALFORMED}: ragged row ({len(row)} fields, header has {len(header)})",
            )
            continue
        yield RawRecord(first, dict(zip(header, row)), raw, None)


class _LineCounter:
    """Iterator of lines for ``csv.reader`` that counts physical lines and keeps the text of
    the current record (a quoted field may span lines). Undecodable and oversized lines are
    held back from csv and kept in ``bad`` for the caller to report, with their line numbers."""

    def __init__(self, lines: _Lines):
        self.lines = iter(lines)
        self.n = 0
        self._recent: list[tuple[int, str]] = []
        self.bad: list[RawRecord] = []

    def __iter__(self) -> "_LineCounter":
        return self

    def __next__(self) -> str:
        while True:
            n, text, raw, error = next(self.lines)  # StopIteration ends the csv reader
            self.n = n
            if text is None:
                self.bad.append(RawRecord(n, None, raw, error))
                continue
            self._recent.append((n, text))
            return text

    def take_bad(self) -> list[RawRecord]:
        out, self.bad = self.bad, []
        return out

    def first_since(self, start: int) -> int:
        return next((n for n, _ in self._recent if n >= start), start)

    def since(self, start: int) -> str:
        parts = [t for n, t in self._recent if n >= start]
        text = "".join(parts)
        self._recent = []
        return text.rstrip("\r\n")
