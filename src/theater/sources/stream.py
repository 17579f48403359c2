"""Streaming records out of delivered files, whatever their shape: JSON arrays (one element at a
time), wrapper objects, OTLP requests, JSON lines and CSV, gzipped or not, in bounded memory.

Both readers of landing files use it: the native reader (:mod:`theater.sources.landing`) to
re-frame JSON and CSV as JSON lines for the engine, and the export formats
(:mod:`theater.sources.exports`) to map each record. Reading never caps the size of a file or of
a line: JSON arrays and wrappers are decoded one element at a time over a sliding buffer
(``json.JSONDecoder.raw_decode`` with a bracket scanner to find where a broken element ends), so
memory is bounded by the largest single record. See :func:`iter_records` for every shape handled.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
import logging
import os
import re
import zlib
from typing import Any, Callable, Iterator, NamedTuple

from .limits import ReaderLimits, deeper_than
from .limits import current as current_limits

log = logging.getLogger(__name__)


class VendorFileError(Exception):
    """A delivered file that cannot be decoded at all (bad gzip, not UTF-8, unreadable)."""

    def __init__(self, path: str, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


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


class Line(NamedTuple):
    """One physical line: ``text`` (decoded, line ending kept) or None with ``error`` (the line
    is undecodable or oversized) and ``raw`` (a bounded prefix for quarantine)."""

    n: int
    text: str | None
    raw: str
    error: str | None


class Lines:
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
        :class:`Line`; plain tuples: this runs once per line)."""
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
        lines = Lines(path, gz, limits)
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


def _iter_jsonl(lines: Lines, limits: ReaderLimits, path: str) -> Iterator[RawRecord]:
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
        else:
            end = self.span_end(start)
            if not self.buf[start:end].strip() and end < len(self.buf):
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


class _JsonRecords:
    """The records of a JSON file, read over one sliding buffer: top-level values one by one, an
    array element by element, a known wrapper's array streamed key by key (see
    :func:`iter_records`). ``n`` numbers the records given (elements, from 1)."""

    def __init__(self, text: _Text):
        self.b = _Buf(text)
        self.n = 0
        self.pending: list = []  # a top-level object not yet known to be a wrapper: (obj, raw)
        self.seen = 0  # top-level values so far (comments aside)

    def _record(self, obj: dict | None, raw: str, error: str | None) -> RawRecord:
        self.n += 1
        return RawRecord(self.n, obj, raw, error)

    def emit(self, obj: Any, raw: str, ok: bool) -> Iterator[RawRecord]:
        """The record(s) of one decoded value: itself, the records of an OTLP request, or the
        reason it is none."""
        if not ok:
            yield self._record(None, raw, MALFORMED)
        elif not isinstance(obj, dict):
            yield self._record(None, raw, NOT_OBJECT)
        else:
            inner = _records_of_object(obj) if _otlp_kind(obj) else None
            if inner is None:
                yield self._record(obj, raw, None)
            else:
                for rec in inner:
                    yield self._record(rec, _dumps(rec), None)

    def comment_record(self) -> Iterator[RawRecord]:
        c = self.b.comment()
        if c is not None:
            yield self._record(None, c, MALFORMED)

    def array(self, otlp: str | None = None) -> Iterator[RawRecord]:
        """Elements of the array whose ``[`` is at ``pos``; leaves ``pos`` after ``]``."""
        b = self.b
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
                got = list(self.comment_record())
                if got:
                    yield from got
                    continue
            obj, raw, ok = b.value()
            if otlp and ok and isinstance(obj, dict):
                for rec in _flatten_otlp(otlp, obj):
                    yield self._record(rec, _dumps(rec), None)
            else:
                yield from self.emit(obj, raw, ok)

    def flush(self, last: bool) -> Iterator[RawRecord]:
        """Emit the pending top-level object: a record, or (when it is the file's only value)
        possibly a generic wrapper."""
        if not self.pending:
            return
        obj, raw = self.pending.pop()
        inner = _records_of_object(obj, generic=last and self.seen == 1)
        if inner is None:
            yield from self.emit(obj, raw, True)
        else:
            for rec in inner:
                yield from self.emit(rec, _dumps(rec), True)

    def object_top(self) -> Iterator[RawRecord]:
        """A top-level object whose ``{`` is at ``pos``: stream a known wrapper's array, else
        decode the object key by key (left in ``pending``)."""
        b = self.b
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
                yield from self._broken_object(start, streamed, parts, raw_key)
                return
            b.pos += 1
            c = b.skip_ws()
            if c == "[" and (key in WRAPPER_KEYS or key in OTLP_KEYS):
                streamed = True
                yield from self.array(otlp=key if key in OTLP_KEYS else None)
                continue
            val, raw_val, ok = b.value()
            broken = broken or not ok
            parts.append(f"{raw_key}:{raw_val}")
            envelope[key] = val
        if streamed:
            if broken:
                yield from self.emit(None, "{" + ",".join(parts) + "}", False)
            return
        raw = b.buf[start : b.pos]
        if broken:
            yield from self.emit(None, raw, False)
        else:
            self.pending.append((envelope, raw))

    def _broken_object(
        self, start: int, streamed: bool, parts: list[str], raw_key: str
    ) -> Iterator[RawRecord]:
        """Not a well-formed object: the rest of this value, to its closing brace, is one
        malformed record."""
        b = self.b
        end = b.span_end(b.pos, depth=1)
        rest = b.buf[b.pos : end]
        b.pos = max(end, b.pos)
        raw = b.buf[start : b.pos] if not streamed else "{" + ",".join(parts + [raw_key + rest])
        yield from self.emit(None, raw, False)

    def _small_object_or_stream(self) -> Iterator[RawRecord]:
        """A top-level object: a small one is decoded whole (its raw text kept) and left
        pending; a wrapper, an OTLP request or one the buffer does not hold goes key by key."""
        b = self.b
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
            self.pending.append((obj, b.buf[start:end]))
        else:
            yield from self.object_top()

    def __iter__(self) -> Iterator[RawRecord]:
        b = self.b
        while True:
            b.compact()
            c = b.skip_ws(",", drop=True)
            if c == "":
                yield from self.flush(last=True)
                return
            if c == "/" and (got := list(self.comment_record())):
                yield from got
                continue
            yield from self.flush(last=False)
            self.seen += 1
            if c == "[":
                yield from self.array()
            elif c == "{":
                yield from self._small_object_or_stream()
            else:
                obj, raw, ok = b.value()
                yield from self.emit(obj, raw, ok)


def _iter_json(text: _Text) -> Iterator[RawRecord]:
    return iter(_JsonRecords(text))


#: Bytes :meth:`_Buf.skip_ws` skips between a JSON array's elements (whitespace and commas).
_SEPARATOR_BYTES = b" \t\r\n,"


def _u8(text: bytes):
    import numpy as np

    return np.frombuffer(text, dtype=np.uint8)


def _byte_set(chars: bytes):
    """A lookup table: ``table[a]`` says which bytes of ``a`` are in ``chars``."""
    import numpy as np

    table = np.zeros(256, dtype=bool)
    table[list(chars)] = True
    return table


def _separators_only(a) -> bool:
    return bool(_byte_set(_SEPARATOR_BYTES)[a].all())


def _gaps(starts, ends):
    """The indices of the ranges ``[starts[i], ends[i])``, in order."""
    import numpy as np

    lengths = ends - starts
    offsets = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
    return np.arange(int(lengths.sum())) + offsets


def _array_piece(piece: bytes, limits: ReaderLimits) -> tuple[list, int, bool] | None:
    """The whole elements of ``piece`` (bytes of a top-level JSON array, starting between its
    elements, outside every string), found by array operations on its brackets: ``(the elements'
    texts, bytes consumed, whether the array's closing bracket was met)``, or None for anything
    :func:`frame_json_array` leaves to the general reader."""
    import numpy as np

    if b"\\" in piece:
        return None  # an escaped quote: strings are no longer told by quote parity
    a = _u8(piece)
    quotes = np.flatnonzero(a == 0x22)
    marks = np.flatnonzero(_byte_set(b"[]{}'/")[a])
    marks = marks[(np.searchsorted(quotes, marks) & 1) == 0]  # outside strings
    kinds = a[marks]
    if _byte_set(b"'/")[kinds].any():
        return None  # single quotes or comments: the general reader's tolerant scan differs
    step = np.where(_byte_set(b"[{")[kinds], 1, -1)
    depth = 1 + np.cumsum(step)
    out = np.flatnonzero(depth <= 0)
    closed = bool(len(out))
    if closed:
        if kinds[out[0]] != 0x5D:
            return None
        limit = int(marks[out[0]])  # the array's ]
        marks, kinds, step, depth = (x[: out[0]] for x in (marks, kinds, step, depth))
    if len(depth) and int(depth.max()) > limits.max_depth:
        return None  # near the depth limit: the general reader decides
    opens = marks[(step == 1) & (depth == 2)]
    closes = marks[(step == -1) & (depth == 1)]
    if (a[opens] != 0x7B).any() or (a[closes] != 0x7D).any():
        return None  # an element that is not an object (or brackets that do not match)
    if closed and len(closes) < len(opens):
        return None
    if not closed:
        limit = int(closes[-1]) + 1 if len(closes) else 0
    opens = opens[: len(closes)]
    if len(closes) and int((closes + 1 - opens).max()) > limits.max_record_bytes:
        return None
    # between the elements: separators only (a string, number or stray text is read apart)
    starts = np.concatenate(([0], closes + 1))
    ends = np.concatenate((opens, [limit]))
    if not _separators_only(a[_gaps(starts, ends)]):
        return None
    texts = [piece[o : c + 1] for o, c in zip(opens.tolist(), closes.tolist())]
    return texts, limit + (1 if closed else 0), closed


def _one_line_bytes(text: bytes) -> bytes:
    r"""An element's text on one line, as :func:`iter_records` gives it (its text stream reads
    ``\r\n`` and ``\r`` as ``\n``) and the caller writes it (line breaks as spaces)."""
    if b"\r" in text:
        text = text.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    return text.replace(b"\n", b" ")


def frame_json_array(path: str, write: Callable[[bytes], Any], limits: ReaderLimits) -> int | None:
    """The records of a ``.json`` file that is one top-level array of JSON objects, each given
    to ``write`` on its own line (UTF-8) as :func:`iter_records` gives its text, without
    decoding them: the engine parses each record once, when it reads the line. Returns the
    number of records; None, possibly after some writes, when the file has any other shape or
    anything the general reader reads apart (a non-object element, a backslash, single quotes
    or a comment outside strings, an OTLP request, text after the array, nesting near the
    depth limit, a record over the size limit, bytes that are not UTF-8, a file over the text
    limit): the caller then discards what was written and takes :func:`iter_records`.

    An element that is not valid JSON is framed by its brackets as the general reader's
    tolerant scan frames it (double-quoted strings, no comments, no single quotes), so the
    engine quarantines the same text."""
    if path.lower().endswith(".gz") or os.path.getsize(path) > limits.max_decompressed_bytes:
        return None
    check = codecs.getincrementaldecoder("utf-8")("strict")
    n = 0
    with open(path, "rb") as fh:
        body = fh.read(_CHUNK)
        try:
            check.decode(body)
        except UnicodeDecodeError:
            return None
        if body.startswith(codecs.BOM_UTF8):
            body = body[3:]
        rest = body.lstrip(_SEPARATOR_BYTES)
        if not rest.startswith(b"["):
            return None
        piece, eof, closed = rest[1:], False, False
        while not closed:
            if not eof:
                chunk = fh.read(4 * _CHUNK)
                eof = not chunk
                try:
                    check.decode(chunk, final=eof)
                except UnicodeDecodeError:
                    return None
                piece += chunk
                if b"resourceLogs" in piece or b"resourceSpans" in piece:
                    return None  # perhaps an OTLP request: its records are built, not framed
            got = _array_piece(piece, limits)
            if got is None or (eof and not got[2]):
                return None
            texts, used, closed = got
            if texts:
                write(b"\n".join(_one_line_bytes(t) for t in texts) + b"\n")
                n += len(texts)
            piece = piece[used:]
            if not texts and len(piece) > limits.max_record_bytes + 2 * _CHUNK:
                return None
        while piece or not eof:  # after the array: separators only, to the end of the file
            if not _separators_only(_u8(piece)):
                return None
            piece = fh.read(4 * _CHUNK)
            eof = not piece
            try:
                check.decode(piece, final=eof)
            except UnicodeDecodeError:
                return None
    return n


# --- CSV -------------------------------------------------------------------------------------


class CsvRow(NamedTuple):
    """One record of a CSV file: ``line``, its first physical line; ``fields`` as the csv module
    splits them (the header is the first row), or None with ``error`` (a line that is not UTF-8
    or over the record size limit, or text csv cannot split); ``raw``, the record's own text
    (a bounded prefix for a line set aside)."""

    line: int
    fields: list[str] | None
    raw: str
    error: str | None


def csv_rows(lines_in: Lines) -> Iterator[CsvRow]:
    """Every row of a CSV file, header included, with its line and text (a quoted field may span
    lines); lines :class:`Lines` sets aside come out as rows with an error, in line order, and
    the rest of the file is read."""
    lines = _LineCounter(lines_in)
    # a field may be as large as a record (lines are bounded before csv sees them)
    csv.field_size_limit(max(lines_in.limits.max_record_bytes, 1 << 17))
    reader = csv.reader(lines)
    while True:
        start = lines.n + 1
        try:
            row = _decode_errors(lines_in.path, lambda: next(reader))
        except StopIteration:
            yield from lines.take_bad()
            return
        except csv.Error as exc:
            yield from lines.take_bad()
            yield CsvRow(start, None, lines.since(start), f"{MALFORMED}: {exc}")
            continue
        yield from lines.take_bad()
        first = lines.first_since(start)
        yield CsvRow(first, row, lines.since(start), None)


def _iter_csv(lines_in: Lines) -> Iterator[RawRecord]:
    """Records of a CSV export: a dict per row under the (stripped) header names, values as
    text; blank rows skipped; a row whose field count differs from the header's is malformed."""
    header: list[str] | None = None
    for r in csv_rows(lines_in):
        if r.fields is None:
            yield RawRecord(r.line, None, r.raw, r.error)
        elif not r.fields or all(not c.strip() for c in r.fields):
            continue
        elif header is None:
            header = [h.strip().lstrip("\ufeff") for h in r.fields]
        elif len(r.fields) != len(header):
            yield RawRecord(
                r.line,
                None,
                r.raw,
                f"{MALFORMED}: ragged row ({len(r.fields)} fields, header has {len(header)})",
            )
        else:
            yield RawRecord(r.line, dict(zip(header, r.fields)), r.raw, None)


class _LineCounter:
    """Iterator of lines for ``csv.reader`` that counts physical lines and keeps the text of
    the current record (a quoted field may span lines). Undecodable and oversized lines are
    held back from csv and kept in ``bad`` for the caller to report, with their line numbers."""

    def __init__(self, lines: Lines):
        self.lines = iter(lines)
        self.n = 0
        self._recent: list[tuple[int, str]] = []
        self.bad: list[CsvRow] = []

    def __iter__(self) -> "_LineCounter":
        return self

    def __next__(self) -> str:
        while True:
            n, text, raw, error = next(self.lines)  # StopIteration ends the csv reader
            self.n = n
            if text is None:
                self.bad.append(CsvRow(n, None, raw, error))
                continue
            self._recent.append((n, text))
            return text

    def take_bad(self) -> list[CsvRow]:
        out, self.bad = self.bad, []
        return out

    def first_since(self, start: int) -> int:
        return next((n for n, _ in self._recent if n >= start), start)

    def since(self, start: int) -> str:
        parts = [t for n, t in self._recent if n >= start]
        text = "".join(parts)
        self._recent = []
        return text.rstrip("\r\n")
