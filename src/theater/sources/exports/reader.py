"""Ingest of vendor exports (``landing/vendor/``) and identity maps (``landing/identities/``).

Called by :mod:`theater.stages.ingest` inside its batch: every file here is logged in
``ops/ingested_files`` with the native files, so it shares their commit (a batch is committed
when its files-log rows are written), their skip rule (same path and hash: nothing to do) and
their rejection rule (a file that cannot be decoded is ``rejected`` with the reason and retried
only when its content changes).

- ``landing/vendor/<format>/...`` holds files as delivered (any names, nested folders, ``.json``,
  ``.jsonl``/``.ndjson``, ``.csv``, optionally ``.gz``). Org-level formats name the org in the
  first folder below the format (``<format>/<org_id>/...``); an org-level file whose org cannot
  be read (no org folder, or recognised by content) or whose org is not one of the directory's
  org ids (when the lake has a directory), or is markup or a formula, is rejected alone with the
  folder it belongs in (:func:`org_problem`). A file whose first folder does not
  name a format is recognised by its content (:func:`theater.sources.recognise`) when
  that is unambiguous, else skipped with a warning.
- Each file is streamed on the driver through :func:`theater.sources.map_file` into
  staging Parquet (pyarrow, written in batches: bounded memory), then loaded with the engine.
  Per-event rows go to ``bronze/interactions`` through the same contract checks as native rows;
  ``interaction_updates``, ``user_days``, ``org_days`` rows to their bronze tables; records the
  reader or mapper rejects to ``bronze/quarantine`` (``dataset = vendor/<format>``, the reason,
  the record's full text, its line).
- ``landing/identities/*.csv`` (``alias, alias_kind, user_id[, shared]``) -> ``bronze/identities``;
  a row without alias, alias_kind or user_id is quarantined (``dataset = identities``).

Staging holds raw identities: it lives under the ingest batch's staging folder, which ingest
removes on every exit.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import logging
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from ...contracts import DATASETS, contract
from ...errors import DataQualityError
from . import FORMATS, VendorFileError, map_file, recognise
from .rows import (
    INTERACTION_FIELDS,
    ORG_DAY_FIELDS,
    ORG_DAY_LABELS,
    USER_DAY_FIELDS,
    USER_DAY_LABELS,
)

log = logging.getLogger(__name__)

VENDOR_DIR = "vendor"
IDENTITIES_DIR = "identities"


def quarantine_datasets() -> list[str]:
    """Every ``dataset`` a bronze quarantine row may name: the native datasets, identity maps
    and ``vendor/<format>`` for each registered format (the quarantine suite's value set)."""
    return [*DATASETS, IDENTITIES_DIR, *(f"{VENDOR_DIR}/{name}" for name in sorted(FORMATS))]


EXTENSIONS = (
    ".jsonl",
    ".ndjson",
    ".json",
    ".csv",
    ".jsonl.gz",
    ".ndjson.gz",
    ".json.gz",
    ".csv.gz",
)
BATCH_ROWS = 20000
LINEAGE = ("_source_file", "_file_sha256", "_ingested_at", "_batch_id", "_line")

#: Bronze tables written here (besides interactions and quarantine), column -> Arrow type name.
UPDATE_FIELDS = (
    ("source_format", "string"),
    ("event_id", "string"),
    ("update_id", "string"),
    ("update_kind", "string"),
    ("tool", "string"),
    ("tool_name", "string"),
    ("event_ts", "string"),
    ("prompt_tokens", "int64"),
    ("completion_tokens", "int64"),
    ("model", "string"),
    ("output_disposition", "string"),
    ("cost_usd", "float64"),
)
TABLE_FIELDS = {
    "interaction_updates": UPDATE_FIELDS,
    "user_days": tuple(
        (
            n,
            "int32"
            if n == "period_days"
            else "string"
            if n in USER_DAY_LABELS
            else "float64"
            if n == "cost_usd"
            else "int64",
        )
        for n in USER_DAY_FIELDS
    ),
    "org_days": tuple(
        (
            n,
            "int32" if n == "period_days" else "string" if n in ORG_DAY_LABELS else "int64",
        )
        for n in ORG_DAY_FIELDS
    ),
    "identities": (
        ("alias", "string"),
        ("alias_kind", "string"),
        ("user_id", "string"),
        ("shared", "string"),
    ),
}
VENDOR_TABLES = tuple(TABLE_FIELDS)
#: Staged per-event rows: contract fields as text, the vendor columns, what the checks need.
EVENT_FIELDS = tuple((n, "string") for n in INTERACTION_FIELDS) + (
    ("source_format", "string"),
    ("user_alias_kind", "string"),
    ("cost_usd", "float64"),
    ("_extra", "string"),
    ("_malformed", "bool"),
    ("_raw", "string"),
    ("_json_typed", "bool"),
)
QUARANTINE_FIELDS = (
    ("dataset", "string"),
    ("raw_record", "string"),
    ("reason", "string"),
    ("reason_kind", "string"),
    ("problems", "list<string>"),
    ("event_id", "string"),
    ("line_number", "int64"),
)


@dataclass(frozen=True)
class VendorFile:
    dataset: str  # vendor/<format> or identities (files log ``dataset``)
    fmt: str | None  # vendor format, None for identities
    path: str
    relpath: str  # relative to the landing root
    size: int
    sha256: str
    vendor_org: str | None = None  # org-level formats: the folder under the format


def _arrow_schema(fields):
    import pyarrow as pa

    types = {
        "string": pa.string(),
        "int64": pa.int64(),
        "int32": pa.int32(),
        "float64": pa.float64(),
        "bool": pa.bool_(),
        "list<string>": pa.list_(pa.string()),
    }
    return pa.schema(
        [(n, types[t]) for n, t in fields]
        + [("_source_file", pa.string()), ("_file_sha256", pa.string()), ("_line", pa.int64())]
    )


def _sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _supported(name: str) -> bool:
    return name.lower().endswith(EXTENSIONS)


def _walk(root: Path, landing: str, skipped: list):
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        d = Path(dirpath)
        for name in sorted(dirnames):
            if name.startswith((".", "_")) or (d / name).is_symlink():
                skipped.append(
                    (
                        os.path.relpath(d / name, landing),
                        "hidden, underscore or linked folder (not read)",
                    )
                )
        dirnames[:] = sorted(
            n for n in dirnames if not n.startswith((".", "_")) and not (d / n).is_symlink()
        )
        for name in sorted(filenames):
            p = d / name
            rel = os.path.relpath(p, landing)
            if name.startswith((".", "_")):
                skipped.append((rel, "hidden or underscore name (temporary files by convention)"))
            elif not p.is_file() or p.is_symlink():
                skipped.append((rel, "not a regular file"))
            elif not _supported(name):
                skipped.append((rel, "not .json, .jsonl, .ndjson or .csv (optionally .gz)"))
            else:
                yield p, rel


def list_vendor_files(landing: str) -> tuple[list[VendorFile], list[tuple[str, str]]]:
    """Vendor and identity files of a landing zone, and ``(relpath, reason)`` of those skipped
    (each skipped one is logged as a warning)."""
    found: list[VendorFile] = []
    skipped: list[tuple[str, str]] = []
    vroot = Path(landing) / VENDOR_DIR
    if vroot.is_dir():
        for p, rel in _walk(vroot, landing, skipped):
            parts = Path(rel).parts  # vendor, <folder>, ...
            folder = parts[1] if len(parts) > 2 else None
            fmt, org = None, None
            if folder in FORMATS:
                fmt = folder
                if FORMATS[fmt].grain == "org_day" and len(parts) > 3:
                    org = parts[2]
            else:
                try:
                    fmt = recognise(str(p))
                except VendorFileError as exc:
                    skipped.append((rel, f"not in a format folder and unreadable ({exc.reason})"))
                    continue
                if fmt is None:
                    where = f"folder {folder!r} names no format" if folder else "no format folder"
                    skipped.append(
                        (
                            rel,
                            f"{where} and the content matches no single vendor "
                            "format: put it under landing/vendor/<format>/ "
                            "(see `theater formats`)",
                        )
                    )
                    continue
                log.info("landing/%s: recognised as %s by its content", rel, fmt)
            found.append(
                VendorFile(
                    f"vendor/{fmt}",
                    fmt,
                    str(p.resolve()),
                    rel,
                    p.stat().st_size,
                    _sha256(str(p)),
                    org,
                )
            )
    iroot = Path(landing) / IDENTITIES_DIR
    if iroot.is_dir():
        for p, rel in _walk(iroot, landing, skipped):
            if not p.name.lower().endswith((".csv", ".csv.gz")):
                skipped.append(
                    (rel, "identities are CSV files (alias, alias_kind, user_id[, shared])")
                )
                continue
            found.append(
                VendorFile(
                    "identities", None, str(p.resolve()), rel, p.stat().st_size, _sha256(str(p))
                )
            )
    for rel, why in skipped:
        log.warning("landing: skipping %s: %s", rel, why)
    found.sort(key=lambda f: f.relpath)
    return found, skipped


class _Writer:
    """Rows of one staged table, written to Parquet in batches of :data:`BATCH_ROWS`."""

    def __init__(self, path: str, fields):
        self.path = path
        self.schema = _arrow_schema(fields)
        self.names = self.schema.names
        self.rows: list[dict] = []
        self.writer = None
        self.count = 0

    def add(self, row: dict) -> None:
        self.rows.append(row)
        self.count += 1
        if len(self.rows) >= BATCH_ROWS:
            self.flush()

    def flush(self) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if not self.rows:
            return
        table = pa.Table.from_pylist(
            [{n: r.get(n) for n in self.names} for r in self.rows], schema=self.schema
        )
        if self.writer is None:
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            self.writer = pq.ParquetWriter(self.path, self.schema)
        self.writer.write_table(table)
        self.rows = []

    def close(self) -> None:
        self.flush()
        if self.writer is not None:
            self.writer.close()


def _text(v) -> str | None:
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (dict, list)):
        return json.dumps(v, ensure_ascii=False)
    return str(v)


def _quarantine_row(
    dataset: str,
    raw: str,
    reason: str,
    line: int | None,
    lineage: dict,
    event_id: str | None = None,
) -> dict:
    return {
        "dataset": dataset,
        "raw_record": raw,
        "reason": reason,
        "reason_kind": reason.split(":", 1)[0].strip(),
        "problems": [reason],
        "event_id": event_id,
        "line_number": line,
        **lineage,
        "_line": line,
    }


def _stage_vendor_file(
    f: VendorFile, w: dict[str, _Writer], known_orgs: set[str] | None = None
) -> str | None:
    """Stream one vendor file into the staged writers; the reason it cannot be decoded (or,
    for an org-level export, names no org of the directory: :func:`org_problem`), or None. Rows of a file that fails part-way are kept in the writers' counts by file, so the
    caller discards the whole file (see :func:`stage`)."""
    lineage = {"_source_file": f.relpath, "_file_sha256": f.sha256}
    try:
        for m in map_file(f.path, f.fmt):
            if m.error is not None:
                w["quarantine"].add(_quarantine_row(f.dataset, m.raw, m.error, m.line, lineage))
                continue
            for row in m.rows:
                table = row["_table"]
                if table == "interactions":
                    out = {n: _text(row.get(n)) for n in INTERACTION_FIELDS}
                    out.update(
                        source_format=row.get("source_format"),
                        user_alias_kind=row.get("user_alias_kind"),
                        cost_usd=row.get("cost_usd"),
                        _extra=None,
                        _malformed=False,
                        _raw=m.raw,
                        _json_typed=False,
                    )
                elif table == "interaction_updates":
                    out = dict(row)
                    out["event_ts"] = row.get("update_ts") or row.get("event_ts")
                elif table == "org_days":
                    out = dict(row)
                    if not out.get("vendor_org"):
                        out["vendor_org"] = f.vendor_org
                    problem = org_problem(f, out["vendor_org"], known_orgs)
                    if problem:
                        return problem
                else:
                    out = dict(row)
                out.update(lineage, _line=m.line)
                w[table].add(out)
    except VendorFileError as exc:
        return exc.reason
    return None


def _stage_identities(f: VendorFile, w: dict[str, _Writer]) -> str | None:
    lineage = {"_source_file": f.relpath, "_file_sha256": f.sha256}
    opener = gzip.open if f.path.lower().endswith(".gz") else open
    try:
        with opener(f.path, "rb") as raw:
            text = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="strict", newline="")
            reader = csv.reader(text)
            header = [h.strip().lower() for h in next(reader, [])]
            missing = [c for c in ("alias", "alias_kind", "user_id") if c not in header]
            if missing:
                return (
                    f"missing_column: {', '.join(missing)} (identities need alias, "
                    "alias_kind, user_id[, shared])"
                )
            prev = reader.line_num
            for row in reader:
                line = prev + 1
                prev = reader.line_num
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue
                rec = dict(zip(header, row))
                raw_text = json.dumps(rec, ensure_ascii=False)
                if len(row) != len(header):
                    reason = (
                        f"malformed_line: ragged row, expected {len(header)} fields, got {len(row)}"
                    )
                else:
                    gaps = [
                        c
                        for c in ("alias", "alias_kind", "user_id")
                        if not (rec.get(c) or "").strip()
                    ]
                    reason = f"missing_required: {gaps[0]}" if gaps else None
                if reason:
                    w["quarantine"].add(_quarantine_row(f.dataset, raw_text, reason, line, lineage))
                    continue
                w["identities"].add(
                    {
                        "alias": rec["alias"].strip(),
                        "alias_kind": rec["alias_kind"].strip(),
                        "user_id": rec["user_id"].strip(),
                        "shared": (rec.get("shared") or "").strip().lower() or None,
                        **lineage,
                        "_line": line,
                    }
                )
    except (UnicodeDecodeError, OSError, EOFError, gzip.BadGzipFile) as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def stage(
    files: list[VendorFile], staging: str, known_orgs: set[str] | None = None
) -> tuple[dict[str, str], list[VendorFile], list[tuple[VendorFile, str]]]:
    """Stream ``files`` into staging Parquet, one folder per table; return ``({table: folder
    holding rows}, files staged, [(file, reason) rejected])``. A rejected file's partial rows
    are written to a separate part and left out. ``known_orgs``: the directory's org ids
    (None: no directory yet), against which org-level exports' orgs are checked."""
    folders: dict[str, str] = {}
    ok: list[VendorFile] = []
    rejected: list[tuple[VendorFile, str]] = []
    fields = dict(TABLE_FIELDS, interactions=EVENT_FIELDS, quarantine=QUARANTINE_FIELDS)
    for i, f in enumerate(files):
        writers = {
            t: _Writer(os.path.join(staging, f"vendor-{t}", f"part-{i:05d}.parquet"), fl)
            for t, fl in fields.items()
        }
        try:
            problem = (
                _stage_identities(f, writers)
                if f.fmt is None
                else _stage_vendor_file(f, writers, known_orgs)
            )
        finally:
            for wr in writers.values():
                wr.close()
        if problem:
            log.warning(
                "landing: rejecting %s: %s (recorded as rejected; retried when its "
                "content changes)",
                f.relpath,
                problem,
            )
            rejected.append((f, problem))
            for wr in writers.values():
                if os.path.exists(wr.path):
                    os.remove(wr.path)
            continue
        ok.append(f)
        for t, wr in writers.items():
            if wr.count:
                folders[t] = os.path.dirname(wr.path)
    return folders, ok, rejected


def _with_batch(df: DataFrame, batch_id: str, at) -> DataFrame:
    return df.withColumn("_ingested_at", F.lit(at).cast("timestamp")).withColumn(
        "_batch_id", F.lit(batch_id)
    )


def bronze_frame(spark: SparkSession, folder: str, table: str, batch_id: str, at) -> DataFrame:
    """Staged rows of a vendor table, with the bronze column order and lineage."""
    names = [n for n, _ in TABLE_FIELDS[table]]
    df = _with_batch(spark.read.parquet(folder), batch_id, at)
    return df.select(*names, *LINEAGE)


def event_frames(
    spark: SparkSession, folder: str, batch_id: str, at, limits, check_records
) -> tuple[DataFrame, DataFrame]:
    """Staged per-event rows -> (bronze interactions rows, quarantine rows), checked against
    the interaction contract like native rows."""
    c = contract("interactions")
    checked = check_records(
        _with_batch(spark.read.parquet(folder), batch_id, at), "interactions", limits
    )
    good = checked.where(F.size("_problems") == 0).select(
        *c.names,
        "_extra",
        "_source_file",
        "_file_sha256",
        "_ingested_at",
        "_batch_id",
        "source_format",
        "user_alias_kind",
        "_line",
        "cost_usd",
    )
    bad = checked.where(F.size("_problems") > 0).select(
        F.concat(F.lit("vendor/"), F.col("source_format")).alias("dataset"),
        F.col("_raw").alias("raw_record"),
        F.element_at("_problems", 1).alias("reason"),
        F.split(F.element_at("_problems", 1), ":").getItem(0).alias("reason_kind"),
        F.col("_problems").alias("problems"),
        F.col("event_id"),
        F.col("_line").alias("line_number"),
        "_source_file",
        "_file_sha256",
        "_ingested_at",
        "_batch_id",
    )
    return good, bad


def quarantine_frame(spark: SparkSession, folder: str, batch_id: str, at) -> DataFrame:
    df = _with_batch(spark.read.parquet(folder), batch_id, at)
    return df.select(
        "dataset",
        "raw_record",
        "reason",
        "reason_kind",
        "problems",
        "event_id",
        "line_number",
        "_source_file",
        "_file_sha256",
        "_ingested_at",
        "_batch_id",
    )


# --------------------------------------------------------------------------------------------
# errors a person can act on


#: Characters no org id needs and that turn a value into markup or a spreadsheet formula.
_ORG_MARKUP = set("<>\"'`&;")
_FORMULA_LEAD = ("=", "+", "-", "@", "\t", "\r")


def org_name_problem(name: str, known: set[str] | None) -> str | None:
    """Why ``name`` (an org folder, or an org named in an org-level export) is not an org id
    to store, or None. Checked against the directory's org ids when there is a directory;
    markup, formula leads and control characters are refused even without one."""
    org = name.strip()
    if (
        not org
        or org.startswith(_FORMULA_LEAD)
        or any(c in _ORG_MARKUP or ord(c) < 32 or ord(c) == 127 for c in org)
    ):
        return f"org {_shown(name)} is not an org id (markup, formula or control characters)"
    if known is not None and org not in known:
        return f"org {_shown(name)} is not an org of the directory"
    return None


def _shown(name: str, limit: int = 60) -> str:
    """A name for a message: quoted, control characters escaped, cut to ``limit``."""
    text = repr(name[:limit])
    return text + ("…" if len(name) > limit else "")


def org_problem(f: VendorFile, org: str | None, known: set[str] | None) -> str | None:
    """Why an org-level row of ``f`` cannot be stored: no org (the export carries none and the
    file is not in an org folder), or an org that is not the directory's; names the folder the
    file belongs in."""
    where = f"landing/{VENDOR_DIR}/{f.fmt}/<org_id>/"
    if not org:
        return (
            f"org-level export without an org: {f.fmt} names no org, so the folder does; "
            f"put it in {where} (org_id as in the directory)"
        )
    problem = org_name_problem(org, known)
    if problem:
        known_list = ""
        if known:
            first = sorted(known)[:5]
            known_list = (
                " (directory orgs: " + ", ".join(first) + (", …" if len(known) > 5 else "") + ")"
            )
        return f"{problem}: put it in {where}{known_list}"
    return None


def rejected_files_error(
    rejected: list[dict],
    reasons: list[tuple[str, int]],
    landing: str,
    *,
    loaded_rows: int,
    loaded_files: int,
    held: list[str],
    failures: list[DataQualityError],
) -> DataQualityError:
    """The error of a committed batch in which the gate rejected files (each alone) or failed
    on a whole table: what was rejected and why, what the user can do, what loaded anyway."""
    lines = []
    if rejected:
        lines.append(
            f"{len(rejected)} file(s) rejected, each judged by its own records; the batch's "
            f"other {max(loaded_files, 0):,} new file(s) were loaded ({loaded_rows:,} rows). "
            "A rejected file's records are in bronze/quarantine with their reasons and lines; "
            "it is retried when its content or place changes"
        )
    for r in rejected:
        rel = r["file"]
        path = os.path.join(landing, rel)
        hint = ""
        try:
            fmt = recognise(path) if os.path.exists(path) else None
        except VendorFileError:
            fmt = None
        if fmt and rel.startswith(f"{VENDOR_DIR}/"):
            hint = f" (read as {fmt}; `theater inspect {path}` lists its bad records)"
        elif fmt:
            hint = (
                f": looks like {fmt}: put it under landing/vendor/{fmt}/ "
                "(see `theater formats`, `theater inspect FILE`)"
            )
        lines.append(
            f"  {rel}: {r.get('quarantined', 0):,} record(s) quarantined; {r['reason']}{hint}"
        )
    if reasons:
        lines.append("  top reasons: " + "; ".join(f"{why} ({n:,})" for why, n in reasons))
    if held:
        lines.append(
            f"{len(held)} file(s) held back, not recorded (the next run reads them again): "
            "a gate failed on a whole table, below: " + ", ".join(held[:10])
        )
    for exc in failures:
        lines.append(str(exc))
    out = DataQualityError("\n".join(lines))
    out.results = [r for exc in failures for r in getattr(exc, "results", [])]  # type: ignore[attr-defined]
    return out


def skipped_counts(skipped) -> Counter:
    return Counter(why for _, why in skipped)
