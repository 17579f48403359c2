"""Readers for the native landing zone: every format -> one record map per row.

Each reader returns a DataFrame with one string column per contract field (as received, null
when absent), ``_extra`` (fields outside the contract as JSON, null when none), ``_malformed``
(the record is not a JSON object) and ``_raw`` (the record's text where the format has one).
The caller adds lineage. Values keep their text as received: numbers as their JSON text,
nested objects as JSON, timestamps from typed Parquet columns as RFC 3339 UTC.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import hashlib
import io
import json
import logging
import os
import shutil
import zlib
from array import array
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from ..contracts import Contract, contract
from ..transforms.contract import JSON_TYPED, MALFORMED, extra_json, extra_map
from .limits import DepthScanner, ReaderLimits
from .limits import current as current_limits
from .stream import Lines, VendorFileError, csv_rows, frame_json_array, iter_records

FORMATS = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".jsonl.gz": "jsonl",
    ".ndjson.gz": "jsonl",
    ".json": "json_array",
    ".csv": "csv",
    ".csv.gz": "csv",
    ".parquet": "parquet",
}
MAP = "map<string,string>"
# The same strict JSON on every engine (Apache Spark's defaults accept single quotes and NaN;
# Sail accepts neither): a line using any of these is malformed_line on both.
JSON_OPTIONS = {
    "allowSingleQuotes": "false",
    "allowComments": "false",
    "allowNonNumericNumbers": "false",
    "allowNumericLeadingZeros": "false",
    "allowUnquotedFieldNames": "false",
    "allowBackslashEscapingAnyCharacter": "false",
    "allowUnquotedControlChars": "false",
}
log = logging.getLogger(__name__)
#: Files inspected at once while listing (:func:`_inspect_all`): the machine's cores, up to 4
INSPECT_THREADS = max(1, min(4, os.cpu_count() or 1))


@dataclass(frozen=True)
class LandingFile:
    dataset: str
    path: str  # absolute
    relpath: str  # relative to the landing root (lineage)
    fmt: str
    size: int
    sha256: str
    problem: str | None = None  # why the file cannot be read at all (-> status rejected)
    empty: bool = False  # no records (empty, blank or header-only)
    # lines to set aside before the engine reads the file (not UTF-8, or over the record size
    # limit): staged without them, each quarantined with its line number (see prepare)
    set_aside: bool = False
    # CSV whose every record is one line with the header's field count, in plain quoting (see
    # _CsvShape): its header names, and the engine's CSV reader reads it; None otherwise
    csv_header: tuple[str, ...] | None = None


GLOB_CHARS = set("*?[]{}\\")


def _fmt_of(name: str) -> str | None:
    low = name.lower()
    for ext in sorted(FORMATS, key=len, reverse=True):
        if low.endswith(ext):
            return FORMATS[ext]
    return None


def inspect_file(
    path: str, fmt: str, gz: bool, limits: ReaderLimits | None = None
) -> tuple[str, int, str | None, bool]:
    """(sha256, size, problem, empty) of a landing file, in one streaming pass (see
    :func:`inspect_landing`)."""
    return inspect_landing(path, fmt, gz, limits)[:4]


def inspect_landing(
    path: str, fmt: str, gz: bool, limits: ReaderLimits | None = None
) -> tuple[str, int, str | None, bool, bool]:
    """(sha256, size, problem, empty, set_aside) of a landing file, in one streaming pass.

    Text formats are decompressed (gzip) and decoded (strict UTF-8) chunk by chunk while the raw
    bytes are hashed, so an unreadable file is found here, cheaply, before the engine sees it:
    a truncated or corrupt gzip stream, a UTF-16 file (byte-order mark or NUL bytes), and a file
    over a reader limit (``limits``, default the configured ones: decompressed bytes, ratio;
    for a JSON array, nesting depth and element size), whose reading stops at the limit.
    In JSON lines and CSV, a line that is not UTF-8 or is over ``max_record_bytes`` does not
    make the file unreadable: ``set_aside`` is true and :func:`prepare` stages the file without
    those lines, each quarantined with its number. In a JSON array a byte that is not UTF-8 is
    a problem (named with its offset and line). ``empty``: no non-blank text (JSON) or nothing
    after the header line (CSV). Parquet: magic bytes and footer metadata; 0 rows is empty.
    """
    return _inspect(path, fmt, gz, limits)[0]


def _inspect(
    path: str, fmt: str, gz: bool, limits: ReaderLimits | None = None
) -> tuple[tuple[str, int, str | None, bool, bool], tuple[str, ...] | None]:
    """:func:`inspect_landing`'s result and, for a CSV file the engine can read as CSV, its
    header (see :class:`_CsvShape`)."""
    limits = limits or current_limits()
    if fmt == "parquet":  # read by the engine from its footer: no text limits apply
        return _inspect_parquet(path), None
    h = hashlib.sha256()
    sizes = [0]
    scan = _TextScan(fmt, limits, os.path.getsize(path) if gz else None)
    gz_state: dict = {"eof": not gz}
    problem: str | None = None
    with open(path, "rb") as fh:
        chunks = _hashed_chunks(fh, h, sizes)
        try:
            for data in _text_pieces(chunks, gz, gz_state):
                problem = scan.feed(data)
                if problem:
                    break
        except zlib.error as exc:
            problem = f"corrupt gzip stream ({exc})"
        for _ in chunks:  # the rest of the file is hashed, not read
            pass
    if problem is None:
        problem = scan.finish()
    if problem is None and not gz_state["eof"]:
        problem = "truncated gzip stream (the file ends before the end of its compressed data)"
    if problem is None and scan.depth is not None and scan.depth.open_size() > scan.cap:
        problem = _element_too_big(limits, scan.depth.open_size())
    header = None
    if problem is None and scan.shape is not None and not scan.set_aside:
        # one gzip member only: a second member is read back by Python, never by the engine
        header = scan.shape.finish() if gz_state.get("members", 1) == 1 else None
    result = (
        h.hexdigest(),
        sizes[0],
        problem,
        problem is None and not scan.seen_content,
        problem is None and scan.set_aside,
    )
    return result, header


def _inspect_parquet(path: str) -> tuple[str, int, str | None, bool, bool]:
    h = hashlib.sha256()
    sizes = [0]
    with open(path, "rb") as fh:
        for _ in _hashed_chunks(fh, h, sizes):
            pass
    size = sizes[0]
    try:
        import pyarrow.parquet as pq

        rows = pq.ParquetFile(path).metadata.num_rows
    except Exception as exc:  # noqa: BLE001 - any failure means: not a readable Parquet file
        return (
            h.hexdigest(),
            size,
            f"not a readable Parquet file ({type(exc).__name__}: {str(exc)[:200]})",
            False,
            False,
        )
    return h.hexdigest(), size, None, rows == 0, False


def _hashed_chunks(fh, h, sizes: list):
    """The file's bytes in 1 MiB chunks, each hashed into ``h`` and counted in ``sizes[0]``."""
    for chunk in iter(lambda: fh.read(1 << 20), b""):
        h.update(chunk)
        sizes[0] += len(chunk)
        yield chunk


def _text_pieces(chunks, gz: bool, gz_state: dict):
    """Text bytes in pieces of at most 4 MiB: a bomb never expands at once. ``gz_state["eof"]``
    says whether the gzip stream ended properly."""
    if not gz:
        yield from chunks
        return
    inflate = zlib.decompressobj(wbits=31)
    for chunk in chunks:
        pending = chunk
        while pending:
            data = inflate.decompress(pending, 1 << 22)
            if data:
                yield data
            if inflate.unconsumed_tail:
                pending = inflate.unconsumed_tail
            elif inflate.eof and inflate.unused_data:  # multi-member gzip
                pending = inflate.unused_data
                inflate = zlib.decompressobj(wbits=31)
                gz_state["members"] = gz_state.get("members", 1) + 1
            else:
                pending = b""
    gz_state["eof"] = inflate.eof
    tail = inflate.flush()
    if tail:
        yield tail


class _TextScan:
    """The checks of :func:`inspect_landing` on a text file's decompressed bytes, piece by piece:
    ``feed`` returns the file's problem (reading stops) or None; ``finish`` the problem found
    at its end."""

    def __init__(self, fmt: str, limits: ReaderLimits, compressed: int | None):
        self.limits, self.compressed = limits, compressed
        self.by_line = fmt in ("jsonl", "csv")
        self.cap = limits.max_record_bytes
        self.depth = DepthScanner(limits.max_depth) if fmt == "json_array" else None
        self.set_aside = False
        self.run = 0  # bytes of the current (unfinished) line
        self.dec = codecs.getincrementaldecoder("utf-8")("strict")
        self.text_bytes = 0  # decoded byte offset (of the decompressed stream)
        self.lines = 1  # counted for JSON arrays only: no other message names a line
        self.seen_content = False  # JSON: any non-blank; CSV: any non-blank after the first line
        self.header_done = fmt != "csv"
        self.first = True
        self.shape = _CsvShape() if fmt == "csv" else None

    def feed(self, data: bytes) -> str | None:
        problem = self.limits.check_bytes(self.text_bytes + len(data), self.compressed)
        if problem:
            return problem
        if self.first and data:
            self.first = False
            if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
                return "UTF-16 encoded (byte-order mark): convert the file to UTF-8"
        if b"\x00" in data:
            at = self.text_bytes + data.index(b"\x00")
            return (
                f"NUL byte at byte {at} (UTF-16 or binary data?): landing text files must be UTF-8"
            )
        if self.by_line and not self.set_aside:
            self._line_sizes(data)
        text, problem = self._decode(data)
        if problem:
            return problem
        if self.shape is not None and not self.set_aside:
            self.shape.feed(text)
        if self.depth is not None:
            if not self.depth.feed(text):
                return self.limits.too_deep()
            if self.depth.max_element > self.cap:
                return _element_too_big(self.limits, self.depth.max_element)
        if not self.seen_content:
            if not self.header_done:
                nl = text.find("\n")
                if nl >= 0:
                    self.header_done = True
                    self.seen_content = bool(text[nl + 1 :].strip())
            else:
                self.seen_content = bool(text.strip())
        if not self.by_line:  # the line of a JSON array's bad byte; a line file sets it aside
            self.lines += data.count(b"\n")
        self.text_bytes += len(data)
        return None

    def _line_sizes(self, data: bytes) -> None:
        """Set aside when a line is over the cap: only a line crossing pieces can be over a cap
        of a piece or more."""
        nl = data.find(b"\n")
        if nl < 0:
            self.run += len(data)
            longest = self.run
        else:
            longest = self.run + nl
            if self.cap < len(data):
                longest = max(longest, max(map(len, data.split(b"\n"))))
            self.run = len(data) - data.rfind(b"\n") - 1
        if longest > self.cap:
            self.set_aside = True

    def _decode(self, data: bytes) -> tuple[str, str | None]:
        if self.by_line and self.set_aside:
            return data.decode("utf-8", "replace"), None
        try:
            return self.dec.decode(data), None
        except UnicodeDecodeError as exc:
            if self.by_line:  # the line is set aside by prepare; the others load
                self.set_aside = True
                return data.decode("utf-8", "replace"), None
            at = self.text_bytes + exc.start
            line = self.lines + data[: exc.start].count(b"\n")
            return "", (
                f"not UTF-8: byte 0x{data[exc.start]:02x} at byte {at} "
                f"(line {line}): landing text files must be UTF-8"
            )

    def finish(self) -> str | None:
        if self.by_line and self.set_aside:
            return None
        try:
            self.dec.decode(b"", final=True)
        except UnicodeDecodeError:
            if self.by_line:
                self.set_aside = True
            else:
                return "not UTF-8: the file ends inside a multi-byte character"
        return None


class _CsvShape:
    """Whether a CSV file's text is plain enough for the engine's CSV reader, fed decoded text
    piece by piece: every record on one line, with the header's field count (two or more), in
    RFC 4180 quoting (the csv module's strict mode: nothing after a closing quote, no line
    break or lone carriage return outside quotes). On such text the engine's reader and the csv
    module give the same rows, and a row's line is its position plus one (the header), so
    quarantine finds it back (``locate_csv_rows``). Anything else (a ragged row, a quoted
    value across lines, blank lines, odd quoting) is re-framed by Python, which sets ragged
    rows aside with their line instead of failing the engine's scan."""

    def __init__(self):
        self.header: tuple[str, ...] | None = None
        self.plain = True
        self.tail = ""

    def feed(self, text: str) -> None:
        if not self.plain:
            return
        text = self.tail + text
        cut = text.rfind("\n")
        if cut < 0:  # bounded: a line over the record size limit is set aside, ending this
            self.tail = text
            return
        self.tail = text[cut + 1 :]
        self._lines(text[:cut].split("\n"))

    def _lines(self, lines: list[str]) -> None:
        if self.header is None:
            first = lines[0][1:] if lines[0].startswith("\ufeff") else lines[0]
            try:
                rows = list(csv.reader([first], strict=True))
            except csv.Error:
                rows = []
            if len(rows) != 1 or len(rows[0]) < 2:
                self.plain = False
                return
            self.header = tuple(rows[0])
            lines = lines[1:]
        try:
            widths = list(map(len, csv.reader(lines, strict=True)))
        except csv.Error:
            widths = []
        if len(widths) != len(lines) or set(widths) - {len(self.header)}:
            self.plain = False

    def finish(self) -> tuple[str, ...] | None:
        """The header of a plain file, else None."""
        if self.plain and self.tail:
            self._lines([self.tail])
            self.tail = ""
        return self.header if self.plain else None


def _element_too_big(limits: ReaderLimits, size: int) -> str:
    return (
        f"over_limit: a JSON array element of more than {size} characters "
        f"(readers.max_record_bytes = {limits.max_record_bytes})"
    )


def _within(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
        return True
    except ValueError:
        return False


def list_files(
    landing: str,
    dataset: str,
    skipped_detail: list | None = None,
    limits: ReaderLimits | None = None,
) -> tuple[list[LandingFile], list[str]]:
    """Files of a dataset folder (recursive, sorted) and the names skipped.

    Names are taken literally (never as patterns). Skipped, each with a warning and listed in
    ``skipped_detail`` as ``(relpath, reason)``: unknown formats, hidden (``.x``) and
    underscore (``_x``) names (editor and writer temporaries by convention), anything that is
    not a regular file, and symbolic links that resolve outside the landing root.
    """
    root = Path(landing) / dataset
    real_root = Path(landing).resolve()
    found: list[LandingFile] = []
    skipped: list[str] = []
    detail = skipped_detail if skipped_detail is not None else []
    if not root.is_dir():
        return found, skipped

    todo: list[tuple[str, str, str, bool]] = []  # (relpath, path, format, gzip) to inspect

    def skip(p: Path, reason: str) -> None:
        rel = os.path.relpath(p, landing)
        skipped.append(rel)
        detail.append((rel, reason))
        log.warning("landing/%s: skipping %s: %s", dataset, rel, reason)

    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        d = Path(dirpath)
        for name in sorted(dirnames):
            sub = d / name
            if sub.is_symlink():
                skip(sub, "symbolic link to a folder (not followed)")
            elif name.startswith((".", "_")):
                skip(sub, "hidden or underscore folder (not read)")
        dirnames[:] = sorted(
            n for n in dirnames if not (d / n).is_symlink() and not n.startswith((".", "_"))
        )
        for name in sorted(filenames):
            p = d / name
            if name.startswith((".", "_")):
                skip(p, "hidden or underscore name (temporary files by convention)")
                continue
            if p.is_symlink():
                target = p.resolve()
                if not _within(target, real_root):
                    skip(p, f"symbolic link resolving outside the landing root ({target})")
                    continue
            if not p.is_file():
                skip(p, "not a regular file")
                continue
            fmt = _fmt_of(name)
            if fmt is None:
                skip(p, "not jsonl, jsonl.gz, json, csv or parquet")
                continue
            gz = name.lower().endswith(".gz")
            todo.append((os.path.relpath(p, landing), str(p.resolve()), fmt, gz))
    for (rel, real, fmt, _), inspected in zip(todo, _inspect_all(todo, limits)):
        (sha, size, problem, empty, aside), header = inspected
        found.append(LandingFile(dataset, real, rel, fmt, size, sha, problem, empty, aside, header))
    found.sort(key=lambda f: f.relpath)
    return found, skipped


def _inspect_all(todo: list[tuple[str, str, str, bool]], limits: ReaderLimits | None) -> list:
    """:func:`_inspect` of each ``(relpath, path, format, gzip)``, in order, a few files at a time:
    hashing, reading and gzip inflation release the interpreter's lock, so the listing of a
    large landing zone takes about the cores' share of its time instead of one core's."""
    limits = limits or current_limits()

    def one(item: tuple[str, str, str, bool]):
        _, real, fmt, gz = item
        return _inspect(real, fmt, gz, limits)

    workers = min(len(todo), INSPECT_THREADS)
    if workers <= 1:
        return [one(t) for t in todo]
    with ThreadPoolExecutor(workers, thread_name_prefix="inspect") as pool:
        return list(pool.map(one, todo))


def safe_path(path: str, staging: str) -> str:
    """A path the engine reads literally: engines expand glob characters (``* ? [ ] { }``)
    in load paths, so a name holding one is hard-linked (or copied) into staging first."""
    if not (set(path) & GLOB_CHARS):
        return path
    os.makedirs(staging, exist_ok=True)
    name = hashlib.sha256(path.encode()).hexdigest()[:16] + "".join(Path(path).suffixes[-2:])
    out = os.path.join(staging, "".join(ch for ch in name if ch not in GLOB_CHARS))
    if not os.path.exists(out):
        try:
            os.link(path, out)
        except OSError:
            shutil.copyfile(path, out)
    return out


def _from_text(
    texts: DataFrame,
    contract: Contract,
    json_typed: bool | F.Column = True,
    keep: tuple[str, ...] = (),
) -> DataFrame:
    """``_raw`` JSON texts -> contract columns.

    The text is parsed twice, which is cheaper than once: as a string map, which says whether
    the record is a JSON object at all (``_malformed``) and gives the fields outside the
    contract (``_extra``), and as a struct of the contract's fields, all strings, which gives
    their values. Reading the values out of the map instead (one lookup per field) cost Sail
    0.7 about 5x the whole parse (benchmarks/RESULTS.md, "Ingest throughput").
    A string field of the struct takes any JSON value as its text, as the map does (numbers,
    booleans, nested JSON); a malformed record has no values. On duplicate keys the struct
    keeps the last value on both engines (Apache Spark's map kept the first; Sail's the last).

    ``_json_typed``: the text is the record as delivered (JSON types are enforced by the
    contract checks); false for JSON re-framed from CSV, where every value is text. A column
    gives it per row (evaluated on ``texts``). ``keep``: columns of ``texts`` passed through.
    """
    values = T.StructType([T.StructField(n, T.StringType()) for n in contract.names])
    typed = json_typed if isinstance(json_typed, F.Column) else F.lit(json_typed)
    rec = texts.select(
        F.from_json("_raw", MAP, JSON_OPTIONS).alias("_rec"),
        F.from_json("_raw", values, JSON_OPTIONS).alias("_val"),
        "_raw",
        typed.alias(JSON_TYPED),
        *keep,
    )
    # the fields outside the contract, filtered once: ``_extra`` reads them twice
    rec = rec.select("*", extra_map(F.col("_rec"), contract).alias("_xmap"))
    malformed = F.col("_rec").isNull()
    return rec.select(
        *[F.when(~malformed, F.col("_val").getField(n)).alias(n) for n in contract.names],
        extra_json(F.col("_xmap")).alias("_extra"),
        malformed.alias(MALFORMED),
        "_raw",
        JSON_TYPED,
        *keep,
    )


def _text_records(
    spark: SparkSession, path: str, contract: Contract, json_typed: bool = True
) -> DataFrame:
    lines = spark.read.text(path).where(F.trim("value") != "")
    return _from_text(lines.select(F.col("value").alias("_raw")), contract, json_typed)


def json_to_lines(path: str, out: str) -> int:
    """Stream a JSON file into JSON Lines, one record per line; return the lines written.

    A JSON array cannot be split between tasks, and Sail's ``wholetext`` splits large files, so
    the file is re-framed here with bounded memory by the shared streamer
    (:func:`theater.sources.stream.iter_records`: an array element by element, a wrapper
    object's records, concatenated objects, one object). Each record's own text is kept, on one
    line, for the contract checks and quarantine; a malformed element or text that breaks off
    is one line that the parser then quarantines as malformed.

    A file that is one array of objects (what is delivered) is framed by its brackets instead
    (:func:`theater.sources.stream.frame_json_array`), with the same lines, and not decoded in
    Python: the engine parses each record once, when it reads the line.
    """
    with open(out, "wb") as framed:
        fast = frame_json_array(path, framed.write, current_limits())
    if fast is not None:
        return fast
    count = 0
    with open(out, "w", encoding="utf-8") as dst:
        try:
            for rec in iter_records(path):
                dst.write(_one_line(rec.raw) + "\n")
                count += 1
        except VendorFileError as exc:
            # decoding and depth were checked when the file was listed; a limit met here (a
            # record over the size limit) ends the file with one line that is not JSON, so that
            # it is quarantined (malformed) and seen, never silently cut short
            log.warning("%s: %s", path, exc.reason)
            dst.write(_one_line(f"reading stopped: {exc.reason}") + "\n")
            count += 1
    return count


def _one_line(text: str) -> str:
    return text.replace("\r", " ").replace("\n", " ")


@dataclass
class Prepared:
    """A landing file made ready for the engine (see :func:`prepare`)."""

    path: str  # what the engine reads (literal, never a pattern)
    kind: str  # text (JSON lines) | csv (read by the engine's CSV reader) | parquet
    json_typed: bool = True
    # staged text line k (0-based) -> line number in the landing file; None: k + 1
    line_map: array | None = None
    # records found bad while staging (ragged CSV rows): (line, raw JSON, reason)
    bad: list = field(default_factory=list)
    # kind csv: the header's names (the engine's scan takes them as its schema)
    header: tuple[str, ...] | None = None


def _checked_lines(path: str, bad: list, nums: array):
    """Decoded lines of a landing text file, without those that are not UTF-8 or are over the
    record size limit: each of those is added to ``bad`` as ``(line, raw prefix, reason)``.
    ``nums`` gets the landing line number of each line given."""
    lines = Lines(path, path.lower().endswith(".gz"), current_limits())
    try:
        for n, text, raw, error in lines:
            if text is None:
                bad.append((n, raw, error))
                continue
            nums.append(n)
            yield text
    finally:
        lines.close()


def jsonl_without_set_aside(path: str, out: str) -> tuple[array, list]:
    """A JSON lines file staged without its undecodable and oversized lines; returns the staged
    line -> landing line map and the lines set aside, ``(line, raw prefix, reason)``."""
    bad: list = []
    nums = array("q")
    line_map = array("q")
    with open(out, "w", encoding="utf-8") as dst:
        for k, text in enumerate(_checked_lines(path, bad, nums)):
            body = text.rstrip("\r\n")
            if not body.strip():
                continue
            dst.write(body + "\n")
            line_map.append(nums[k])
    return line_map, bad


def _ragged(header: list[str], row: list[str]) -> tuple[str, str]:
    """(raw JSON, reason) of a CSV row whose field count is not the header's, for quarantine:
    every field kept, those beyond the header as ``_unnamed_<i>``."""
    rec = dict(zip(header, row))
    for i, v in enumerate(row[len(header) :], start=1):
        rec[f"_unnamed_{i}"] = v
    reason = f"ragged_row: expected {len(header)} fields, got {len(row)}"
    return json.dumps(rec, ensure_ascii=False), reason


def _csv_fast(path: str, out: str) -> tuple[array, list] | None:
    """:func:`csv_to_lines` for a file inspection found clean (every line UTF-8 and within the
    record size limit): the csv module reads the file directly, without keeping each record's
    text (only a ragged row needs it, as JSON of its fields). None when csv cannot split the
    text: the caller then takes the per-line path, which quarantines that record alone."""
    line_map = array("q")
    bad: list = []
    encode = json.JSONEncoder(ensure_ascii=False).encode
    csv.field_size_limit(max(current_limits().max_record_bytes, 1 << 17))
    raw = gzip.open(path, "rb") if path.lower().endswith(".gz") else open(path, "rb")
    # lines end at "\n" only, as the per-line reader splits them; a BOM opens line 1 only
    text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="\n")
    try:
        with open(out, "w", encoding="utf-8") as dst:
            reader = csv.reader(text)
            header = next(reader, None)
            width = len(header) if header is not None else 0
            if header is not None and len(set(header)) < len(header):
                return None  # duplicate names: the per-line path keeps the last value of each
            keys = [encode(h) + ": " for h in header or []]
            start = reader.line_num + 1
            write, append = dst.write, line_map.append
            for row in reader:
                line, start = start, reader.line_num + 1
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue
                if len(row) != width:
                    bad.append((line, *_ragged(header, row)))
                    continue
                write("{" + ", ".join([k + encode(v) for k, v in zip(keys, row) if v]) + "}\n")
                append(line)
    except csv.Error:
        return None
    finally:
        text.close()
    return line_map, bad


def csv_to_lines(path: str, out: str, clean: bool = False) -> tuple[array, list]:
    """Re-frame a CSV file (header line first) as JSON lines of text values.

    Rows come from the shared CSV streamer (:func:`theater.sources.stream.csv_rows`). Rows whose
    field count differs from the header's (ragged rows) are not written: they are returned as
    ``(line, raw JSON with every field, reason)`` for quarantine, so that the rest of the file
    loads; lines that are not UTF-8 or are over the record size limit (or text the CSV parser
    cannot split) are returned the same way as ``(line, raw text, reason)``. Empty values are
    absent (null), as Spark's CSV reader reads them. Returns the staged line -> landing line
    map too (quoted values may span lines). ``clean``: inspection found no line to set aside,
    so the faster :func:`_csv_fast` may read it.
    """
    if clean:
        fast = _csv_fast(path, out)
        if fast is not None:
            return fast
    line_map = array("q")
    bad: list = []
    lines = Lines(path, path.lower().endswith(".gz"), current_limits())
    try:
        with open(out, "w", encoding="utf-8") as dst:
            header: list[str] | None = None
            for r in csv_rows(lines):
                if r.fields is None:
                    bad.append((r.line, r.raw, r.error))
                    continue
                row = r.fields
                if header is None:
                    header = row
                    width = len(header)
                    continue
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue
                if len(row) != width:
                    bad.append((r.line, *_ragged(header, row)))
                    continue
                values = {h: v for h, v in zip(header, row) if v != ""}
                dst.write(json.dumps(values, ensure_ascii=False) + "\n")
                line_map.append(r.line)
    finally:
        lines.close()
    bad.sort(key=lambda b: b[0])
    return line_map, bad


def engine_reads_header(header: tuple[str, ...], c: Contract) -> bool:
    """Whether the engine's CSV reader may take these names as its schema and give the columns
    the JSON re-framing would: names neither empty nor quoted with a backtick, unique and not
    differing from a contract name in case only (the engine resolves names regardless of
    case), and none starting with ``_`` (the reader's own columns, ``_file`` and the like)."""
    folded = [n.lower() for n in header]
    contract_names = {n.lower(): n for n in c.names}
    return (
        len(set(folded)) == len(header)
        and all(n and "`" not in n and not n.startswith("_") for n in header)
        and all(contract_names.get(low, n) == n for low, n in zip(folded, header))
    )


def prepare(f: LandingFile, staging: str) -> Prepared:
    """Make a landing file readable by the engine: plain CSV (see :class:`_CsvShape`) read by
    the engine's CSV reader as it is, JSON arrays and other CSV re-framed as JSON lines
    in ``staging`` (CSV ragged rows set aside), JSON lines with lines to set aside (not UTF-8,
    over the record size limit) staged without them, odd Parquet timestamps rewritten, and names
    holding glob characters linked under a plain name."""
    os.makedirs(staging, exist_ok=True)
    stem = hashlib.sha256(f.path.encode()).hexdigest()[:16]
    if f.fmt == "jsonl" and f.set_aside:
        out = os.path.join(staging, stem + ".checked.jsonl")
        line_map, bad = jsonl_without_set_aside(f.path, out)
        return Prepared(out, "text", line_map=line_map, bad=bad)
    if f.fmt == "jsonl":
        return Prepared(safe_path(f.path, staging), "text")
    if f.fmt == "json_array":
        out = os.path.join(staging, stem + ".jsonl")
        json_to_lines(f.path, out)
        return Prepared(out, "text")
    if f.fmt == "csv" and f.csv_header and engine_reads_header(f.csv_header, contract(f.dataset)):
        return Prepared(safe_path(f.path, staging), "csv", json_typed=False, header=f.csv_header)
    if f.fmt == "csv":
        out = os.path.join(staging, stem + ".csv.jsonl")
        line_map, bad = csv_to_lines(f.path, out, clean=not f.set_aside)
        return Prepared(out, "text", json_typed=False, line_map=line_map, bad=bad)
    if f.fmt == "parquet":
        return Prepared(
            _spark_readable_parquet(safe_path(f.path, staging), staging),
            "parquet",
            json_typed=False,
        )
    raise ValueError(f"{f.relpath}: unsupported format {f.fmt}")


def locate_lines(prep: Prepared, hashes: set[str]) -> dict[tuple[str, int], int]:
    """Line numbers of raw texts, given by their SHA-256 (hex), in a staged text file:
    ``{(hash, occurrence): line}`` (the n-th identical line gets occurrence n).

    Only called for files with quarantined records, so this per-line loop runs over dirty files
    only; the engine's line splitting (``\n``, ``\r\n``) is mirrored.
    """
    seen: dict[str, int] = {}
    out: dict[tuple[str, int], int] = {}
    if not hashes:
        return out
    opener = gzip.open if prep.path.lower().endswith(".gz") else open
    with opener(prep.path, "rb") as fh:
        for k, line in enumerate(fh):
            text = line.rstrip(b"\n").rstrip(b"\r")
            h = hashlib.sha256(text).hexdigest()
            if h in hashes:
                occ = seen.get(h, 0) + 1
                seen[h] = occ
                out[(h, occ)] = prep.line_map[k] if prep.line_map is not None else k + 1
    return out


def csv_row_key(values) -> str:
    """The text identifying a CSV row by its values (empty values as null), unambiguous
    because each value carries its length: the engine builds the same (``_csv_key``), so
    that a quarantined row is found back in its file."""
    return ",".join(f"{len(v)}:{v}" if v else "n" for v in values)


def _csv_key(header: tuple[str, ...]) -> F.Column:
    """:func:`csv_row_key` of each row, in the engine (columns already null when empty)."""
    return F.concat_ws(
        ",",
        *[
            F.coalesce(
                F.concat(F.length(F.col(f"`{n}`")).cast("string"), F.lit(":"), F.col(f"`{n}`")),
                F.lit("n"),
            )
            for n in header
        ],
    )


def locate_csv_rows(prep: Prepared, hashes: set[str]) -> dict[tuple[str, int], tuple[int, str]]:
    """Line numbers and texts of rows of a CSV file the engine read (``prep.kind == "csv"``),
    given by the SHA-256 (hex) of their :func:`csv_row_key`: ``{(hash, occurrence): (line, raw
    JSON)}``, the raw JSON as the re-framing writes it (values by header name, empty values
    left out). Every record of such a file is one line after the header line (see
    :class:`_CsvShape`), so row k is line k + 2. Only called for files with quarantined rows."""
    out: dict[tuple[str, int], tuple[int, str]] = {}
    if not hashes:
        return out
    seen: dict[str, int] = {}
    header = prep.header or ()
    raw = gzip.open(prep.path, "rb") if prep.path.lower().endswith(".gz") else open(prep.path, "rb")
    with io.TextIOWrapper(raw, encoding="utf-8-sig", newline="\n") as text:
        reader = csv.reader(text, strict=True)
        next(reader, None)
        for k, row in enumerate(reader):
            h = hashlib.sha256(csv_row_key(row).encode("utf-8")).hexdigest()
            if h in hashes:
                occ = seen.get(h, 0) + 1
                seen[h] = occ
                values = {n: v for n, v in zip(header, row) if v != ""}
                out[(h, occ)] = (k + 2, json.dumps(values, ensure_ascii=False))
    return out


def _csv_records(
    df: DataFrame, contract: Contract, header: tuple[str, ...], keep: tuple[str, ...] = ()
) -> DataFrame:
    """The engine's CSV columns -> contract columns, as the JSON re-framing of the same rows
    gives them: empty values null (the re-framing leaves them out; Sail reads them as null,
    Apache Spark a quoted empty value as ""), fields outside the contract as JSON of the
    non-null ones in header order (null when none), ``_raw`` the row's :func:`csv_row_key`
    (kept only for quarantined rows, to find their line)."""
    named = set(header)
    df = df.select(
        *[F.when(F.col(f"`{n}`") != "", F.col(f"`{n}`")).alias(n) for n in header], *keep
    )
    cols = [
        F.col(f"`{n}`") if n in named else F.lit(None).cast("string").alias(n)
        for n in contract.names
    ]
    extras = [n for n in header if n not in contract.names]
    if extras:
        pairs = [x for n in extras for x in (F.lit(n), F.col(f"`{n}`"))]
        kept = F.map_filter(F.create_map(*pairs), lambda k, v: v.isNotNull())
        extra = F.when(F.size(kept) > 0, F.to_json(kept))
    else:
        extra = F.lit(None).cast("string")
    return df.select(
        *cols,
        extra.alias("_extra"),
        F.lit(False).alias(MALFORMED),
        _csv_key(header).alias("_raw"),
        F.lit(False).alias(JSON_TYPED),
        *keep,
    )


def _as_text(field: T.StructField, col: F.Column) -> F.Column:
    dt = field.dataType
    if isinstance(dt, (T.TimestampType, T.TimestampNTZType)):
        return F.date_format(col, "yyyy-MM-dd'T'HH:mm:ss.SSSSSS'Z'")
    if isinstance(dt, (T.StructType, T.ArrayType, T.MapType)):
        return F.to_json(col)
    if isinstance(dt, (T.FloatType, T.DoubleType, T.DecimalType)):
        # 12.0 -> "12": JSON Schema integers may be written with a zero fraction
        return F.when(col == F.floor(col), F.floor(col).cast("string")).otherwise(
            col.cast("string")
        )
    return col.cast("string")


def _columnar_records(df: DataFrame, contract: Contract, keep: tuple[str, ...] = ()) -> DataFrame:
    """CSV/Parquet columns -> contract columns as text; other columns -> ``_extra`` JSON.

    Plain columns, not a record map: Sail (0.7) fails to plan a filter on a map built from scan
    columns ("No field named ?table?.x"), and columns are cheaper at 10M rows anyway.
    """
    by_name = {f.name: f for f in df.schema.fields}
    cols = [
        _as_text(by_name[n], F.col(f"`{n}`")).alias(n)
        if n in by_name
        else F.lit(None).cast("string").alias(n)
        for n in contract.names
    ]
    extras = [f for f in df.schema.fields if f.name not in contract.names and f.name not in keep]
    extra = (
        F.to_json(F.struct(*[F.col(f"`{f.name}`") for f in extras]))
        if extras
        else F.lit(None).cast("string")
    )
    return df.select(
        *cols,
        extra.alias("_extra"),
        F.lit(False).alias(MALFORMED),
        F.lit(None).cast("string").alias("_raw"),
        F.lit(False).alias(JSON_TYPED),
        *keep,
    )


def _spark_readable_parquet(path: str, staging: str) -> str:
    """Path of a Parquet file Spark and Sail can read.

    Files with nanosecond (or second/millisecond) timestamps, which pandas writes by default, are
    rewritten batch by batch with microsecond timestamps into ``staging``; others are used as is.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(path)
    schema = pf.schema_arrow
    target = pa.schema(
        [
            f.with_type(pa.timestamp("us", tz=f.type.tz or "UTC"))
            if pa.types.is_timestamp(f.type) and (f.type.unit != "us" or f.type.tz is None)
            else f
            for f in schema
        ]
    )
    if target.equals(schema):
        return path
    os.makedirs(staging, exist_ok=True)
    out = os.path.join(staging, hashlib.sha256(path.encode()).hexdigest()[:16] + ".parquet")
    with pq.ParquetWriter(out, target) as writer:
        for batch in pf.iter_batches(batch_size=262144):
            table = pa.Table.from_batches([batch]).cast(target, safe=False)
            writer.write_table(table)
    return out


def _read_csv(
    spark: SparkSession, root: str, header: tuple[str, ...], keyed: bool = True
) -> DataFrame:
    """The engine's CSV scan of ``root`` (a file, or ``_file=`` partitions when ``keyed``),
    every value a string, the header line skipped and its names given as the schema."""
    names = list(header) + ([FILE_KEY] if keyed else [])
    schema = T.StructType([T.StructField(n, T.StringType()) for n in names])
    return spark.read.options(header=True, quote='"', escape='"').schema(schema).csv(root)


def read_prepared(spark: SparkSession, f: LandingFile, prep: Prepared) -> DataFrame:
    c = contract(f.dataset)
    if prep.kind == "csv":
        header = prep.header or ()
        return _csv_records(_read_csv(spark, prep.path, header, keyed=False), c, header)
    if prep.kind == "text":
        return _text_records(spark, prep.path, c, prep.json_typed)
    return _columnar_records(spark.read.parquet(prep.path), c)


def read_records(spark: SparkSession, f: LandingFile, staging: str | None = None) -> DataFrame:
    """The records of one landing file (records set aside while staging are not included)."""
    staging = staging or os.path.join(os.path.dirname(f.path), ".theater-staging")
    return read_prepared(spark, f, prepare(f, staging))


#: Partition column naming the file of each row in a batch scan (``f00000``, ``f00001``, ...:
#: not a number, so no engine infers a numeric type for it).
FILE_KEY = "_file"


def file_key(i: int) -> str:
    return f"f{i:05d}"


def _place(src: str, dst: str) -> str:
    """Put ``src`` at ``dst``: a hard link (same filesystem), else a symbolic link, else a copy.
    Returns which."""
    try:
        os.link(src, dst)
        return "hard link"
    except OSError:
        pass
    try:
        os.symlink(os.path.abspath(src), dst)
        return "symlink"
    except OSError:
        pass
    shutil.copyfile(src, dst)
    return "copy"


def _farm(root: str, files: list[tuple[str, str]]) -> str:
    """A folder ``root/_file=<key>/part<ext>`` per ``(key, path)``: Hive-style partitions the
    engines discover (Sail and Spark alike), so one scan gives each row its file's key. The
    extension is kept (the engines pick gzip by it); link names are plain (never globs)."""
    for key, path in files:
        d = os.path.join(root, f"{FILE_KEY}={key}")
        os.makedirs(d, exist_ok=True)
        low = path.lower()
        if low.endswith(".parquet"):
            ext = ".parquet"
        else:
            ext = (".csv" if low.endswith((".csv", ".csv.gz")) else ".jsonl") + (
                ".gz" if low.endswith(".gz") else ""
            )
        _place(path, os.path.join(d, "part" + ext))
    return root


def _parquet_shape(path: str) -> tuple:
    """Column names and types in order: files of one shape are read by one scan with the
    results of reading each alone (a scan of several files takes one file's schema)."""
    import pyarrow.parquet as pq

    return tuple((f.name, str(f.type)) for f in pq.read_schema(path))


def read_batch(spark: SparkSession, dataset: str, preps: list[Prepared], farm: str) -> DataFrame:
    """The records of many prepared files of one dataset, in a few scans instead of one plan
    per file, with ``_file`` (``file_key(i)`` of ``preps[i]``) on every row; the caller joins
    its lineage on that key.

    The files are linked into ``farm`` as Hive-style partitions (see :func:`_farm`), one scan
    per kind: plain JSON lines (delivered, re-framed JSON arrays and CSV together; CSV's
    untyped values are told by the key), gzip JSON lines (Sail refuses mixed compression in one
    scan), CSV the engine reads per header (and compression), and Parquet per schema (names and
    types in order). A Parquet file holding a column named ``_file`` is read alone. Rows equal
    those of :func:`read_prepared` file by file.
    """
    c = contract(dataset)
    keyed = [(file_key(i), p) for i, p in enumerate(preps)]
    parts: list[DataFrame] = []
    plain = [(k, p) for k, p in keyed if p.kind == "text" and not p.path.lower().endswith(".gz")]
    gz = [(k, p) for k, p in keyed if p.kind == "text" and p.path.lower().endswith(".gz")]
    for name, group in (("text", plain), ("text-gz", gz)):
        if not group:
            continue
        root = _farm(os.path.join(farm, name), [(k, p.path) for k, p in group])
        untyped = [k for k, p in group if not p.json_typed]
        typed = ~F.col(FILE_KEY).isin(untyped) if untyped else F.lit(True)
        lines = spark.read.text(root).where(F.trim("value") != "")
        texts = lines.select(F.col("value").alias("_raw"), F.col(FILE_KEY).cast("string"))
        parts.append(_from_text(texts, c, typed, keep=(FILE_KEY,)))
    headers: dict[tuple, list[tuple[str, Prepared]]] = {}
    for k, p in keyed:
        if p.kind == "csv":
            # one scan per header and compression (Sail refuses mixed compression in one scan)
            headers.setdefault((p.header, p.path.lower().endswith(".gz")), []).append((k, p))
    for g, ((header, _), group) in enumerate(headers.items()):
        root = _farm(os.path.join(farm, f"csv-{g}"), [(k, p.path) for k, p in group])
        parts.append(_csv_records(_read_csv(spark, root, header), c, header, keep=(FILE_KEY,)))
    shapes: dict[tuple, list[tuple[str, Prepared]]] = {}
    for k, p in keyed:
        if p.kind != "parquet":
            continue
        shape = _parquet_shape(p.path)
        if any(n.lower() == FILE_KEY for n, _ in shape):
            df = _columnar_records(spark.read.parquet(p.path), c)
            parts.append(df.withColumn(FILE_KEY, F.lit(k)))
        else:
            shapes.setdefault(shape, []).append((k, p))
    for g, group in enumerate(shapes.values()):
        root = _farm(os.path.join(farm, f"parquet-{g}"), [(k, p.path) for k, p in group])
        df = spark.read.parquet(root)
        df = df.withColumn(FILE_KEY, F.col(FILE_KEY).cast("string"))
        parts.append(_columnar_records(df, c, keep=(FILE_KEY,)))
    if not parts:
        raise ValueError(f"{dataset}: no files to read")
    out = parts[0]
    for p in parts[1:]:
        out = out.unionByName(p)
    return out
