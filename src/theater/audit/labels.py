"""Audit labels: validate a reviewer's CSV (with line numbers) and load it into ops/audit_labels.

The file is the one ``theater audit sample`` wrote, with ``label`` filled in (1 = theater,
0 = genuine). Required columns: ``event_id``, ``tool``, ``label``, ``inclusion_probability``;
the other columns are kept as the reviewer saw them but the lake is authoritative for org,
user pseudonym and date.

Problems are collected, not stopped at: every bad line is reported (line numbers count the
header as line 1). A file with any error loads nothing. Loading MERGEs on (tool, event_id):
loading the same file twice changes nothing, and a new label for an interaction replaces the old.
"""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from .sample import unneutralise

log = logging.getLogger(__name__)

TABLE = "ops/audit_labels"
REQUIRED = ("event_id", "tool", "label", "inclusion_probability")
KEY = ["tool", "event_id"]
SCHEMA = (
    "event_id string, tool string, org_id string, user_key string, event_date date, "
    "stratum string, inclusion_probability double, label int, labels_file string, "
    "loaded_at timestamp"
)


class LabelsError(ValueError):
    """A labels file that cannot be loaded; ``problems`` lists each one with its line."""

    def __init__(self, path, problems: list[str]):
        self.problems = problems
        head = f"{path}: {len(problems)} problem(s) in the labels file"
        super().__init__(
            head
            + "\n"
            + "\n".join(f"  {p}" for p in problems[:50])
            + ("\n  ..." if len(problems) > 50 else "")
        )


@dataclass
class Parsed:
    rows: pd.DataFrame  # one per (tool, event_id), with ``line``
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


ROW_COLUMNS = [
    "line",
    "event_id",
    "tool",
    "label",
    "inclusion_probability",
    "stratum",
    "org_id_file",
]


def _check_row(rec: dict, line: int, problems: list[str]) -> dict | None:
    """One record of the file as a row, or None after adding its problems to ``problems``."""
    # cells `audit sample` prefixed so that no spreadsheet runs them as formulas
    eid = unneutralise((rec.get("event_id") or "").strip())
    tool = unneutralise((rec.get("tool") or "").strip())
    lab = (rec.get("label") or "").strip()
    bad = False
    if not eid or not tool:
        problems.append(f"line {line}: event_id and tool are required")
        bad = True
    if lab not in ("0", "1"):
        problems.append(
            f"line {line}: label {lab!r} is not 0 or 1 "
            "(1 = theater, 0 = genuine; remove rows you did not review)"
        )
        bad = True
    try:
        pi = float(rec.get("inclusion_probability") or "nan")
        if not 0 < pi <= 1:
            raise ValueError
    except ValueError:
        problems.append(
            f"line {line}: inclusion_probability "
            f"{rec.get('inclusion_probability')!r} is not in (0, 1]"
        )
        bad = True
    stratum = unneutralise((rec.get("stratum") or "").strip()) or None
    bad = _check_design(rec, stratum, line, problems) or bad
    if bad:
        return None
    return {
        "line": line,
        "event_id": eid,
        "tool": tool,
        "label": int(lab),
        "inclusion_probability": pi,
        "stratum": stratum,
        "org_id_file": unneutralise((rec.get("org_id") or "").strip()) or None,
    }


def _check_design(rec: dict, stratum: str | None, line: int, problems: list[str]) -> bool:
    """Whether the row's ``design`` (when the file has one) and its ``stratum`` disagree: the
    stratum is what carries the design into ops/audit_labels (``flagged`` only under the
    grouped design, :mod:`theater.audit.design`), so a row edited into the other design's
    strata would be weighted in the wrong cell."""
    design = (rec.get("design") or "").strip()
    if not design:
        return False
    if design not in ("signal", "grouped"):
        problems.append(f"line {line}: design {design!r} is not signal or grouped")
        return True
    if stratum is None:
        return False
    if design == "grouped" and stratum not in ("none", "flagged"):
        problems.append(
            f"line {line}: stratum {stratum!r} is not a grouped-design stratum "
            "(none or flagged); leave the sample's stratum as it is"
        )
        return True
    if design == "signal" and stratum == "flagged":
        problems.append(
            f"line {line}: stratum 'flagged' belongs to the grouped design, the row says "
            "signal; leave the sample's design and stratum as they are"
        )
        return True
    return False


def _is_new(row: dict, seen: dict, problems: list[str], notes: list[str]) -> bool:
    """Whether ``row`` is the first of its (tool, event_id); a repeat is noted when it has the
    same label and is an error when it has another."""
    line, tool, eid, lab = row["line"], row["tool"], row["event_id"], row["label"]
    key = (tool, eid)
    if key not in seen:
        seen[key] = (line, lab)
        return True
    first, first_label = seen[key]
    if first_label != lab:
        problems.append(
            f"line {line}: duplicate of line {first} ({tool} {eid}) "
            f"with a different label ({lab} vs {first_label})"
        )
    else:
        notes.append(
            f"line {line}: duplicate of line {first} ({tool} {eid}), same label: loaded once"
        )
    return False


def parse(path: str | Path) -> Parsed:
    """Read and check the file on its own (no lake): columns, label values, probabilities,
    duplicates. Identical duplicate rows are noted and kept once; conflicting ones are errors."""
    path = Path(path)
    problems: list[str] = []
    notes: list[str] = []
    try:
        fh = open(path, newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise LabelsError(path, [f"cannot read the file: {exc.strerror}"]) from None
    with fh:
        reader = csv.DictReader(fh)
        header = reader.fieldnames or []
        missing = [c for c in REQUIRED if c not in header]
        if missing:
            raise LabelsError(
                path,
                [
                    f"line 1: missing column(s) {', '.join(missing)} "
                    f"(header has {', '.join(header) or 'nothing'})"
                ],
            )
        rows, seen = [], {}
        for rec in reader:
            row = _check_row(rec, reader.line_num, problems)
            if row is not None and _is_new(row, seen, problems, notes):
                rows.append(row)
    if not rows and not problems:
        problems.append("no labelled rows")
    return Parsed(pd.DataFrame(rows, columns=ROW_COLUMNS), problems, notes)


def match_lake(parsed: Parsed, interactions: pd.DataFrame) -> Parsed:
    """Check every row against the lake's scored interactions (``event_id, tool, org_id,
    user_key, event_date, stratum``): unknown interactions and org mismatches are errors.
    Returns the rows with the lake's org, user pseudonym, date and (when the file has none)
    stratum."""
    rows = parsed.rows.merge(
        interactions, on=KEY, how="left", suffixes=("", "_lake"), indicator=True
    )
    problems = list(parsed.problems)
    for r in rows[rows["_merge"] == "left_only"].itertuples(index=False):
        problems.append(
            f"line {r.line}: no interaction {r.tool} {r.event_id} in gold/interaction_labels"
        )
    both = rows[rows["_merge"] == "both"]
    for r in both.itertuples(index=False):
        if r.org_id_file and r.org_id_file != r.org_id:
            problems.append(
                f"line {r.line}: org_id {r.org_id_file} does not match the lake "
                f"({r.org_id}) for {r.tool} {r.event_id}"
            )
    out = both.copy()
    out["stratum"] = out["stratum"].fillna(out["stratum_lake"])
    return Parsed(
        out.drop(columns=["_merge", "stratum_lake", "org_id_file"]), problems, parsed.notes
    )


def to_table_rows(rows: pd.DataFrame, labels_file: str) -> pd.DataFrame:
    out = rows[
        [
            "event_id",
            "tool",
            "org_id",
            "user_key",
            "event_date",
            "stratum",
            "inclusion_probability",
            "label",
        ]
    ].copy()
    out["labels_file"] = labels_file
    out["loaded_at"] = datetime.now(timezone.utc).replace(tzinfo=None)
    return out


def load(spark, lake, path: str | Path) -> dict:
    """Validate ``path`` against the lake and MERGE it into ops/audit_labels.

    Raises :class:`LabelsError` (nothing written) when any row is bad. Returns counts:
    ``rows``, ``inserted``, ``relabelled``, ``unchanged`` and the ``notes``.
    """
    from pyspark.sql import functions as F

    from .sample import strata

    parsed = parse(path)
    if not lake.exists("gold/interaction_labels"):
        raise LabelsError(path, ["the lake has no gold/interaction_labels: run the score stage"])
    keys = spark.createDataFrame(
        parsed.rows[KEY] if len(parsed.rows) else pd.DataFrame({"tool": ["-"], "event_id": ["-"]})
    )
    lake_rows = (
        lake.read(spark, "gold/interaction_labels")
        .join(F.broadcast(keys), on=KEY, how="left_semi")
        .select(
            "event_id",
            "tool",
            "org_id",
            "user_key",
            "event_date",
            F.array_join("flags", ",").alias("flags"),
        )
        .toPandas()
    )
    lake_rows["stratum"] = strata(lake_rows["flags"])
    checked = match_lake(parsed, lake_rows.drop(columns=["flags"]))
    if checked.problems:
        raise LabelsError(path, checked.problems)
    new = to_table_rows(checked.rows, Path(path).name)
    before = (
        lake.read(spark, TABLE).select(*KEY, "label").toPandas()
        if lake.exists(TABLE)
        else pd.DataFrame(columns=[*KEY, "label"])
    )
    cmp = new[[*KEY, "label"]].merge(before, on=KEY, how="left", suffixes=("", "_old"))
    inserted = int(cmp["label_old"].isna().sum())
    relabelled = int((cmp["label_old"].notna() & (cmp["label_old"] != cmp["label"])).sum())
    sdf = spark.createDataFrame(new, SCHEMA)
    if inserted or relabelled or not lake.exists(TABLE):
        # only rows whose label (or design) changed are updated: a re-load changes nothing
        lake.merge(
            sdf,
            TABLE,
            KEY,
            update_condition=(
                "t.label <> s.label OR t.inclusion_probability <> s.inclusion_probability "
                "OR NOT (t.stratum <=> s.stratum)"
            ),
        )
    return {
        "rows": len(new),
        "inserted": inserted,
        "relabelled": relabelled,
        "unchanged": len(new) - inserted - relabelled,
        "notes": checked.notes,
    }


def read_for_period(spark, lake, period, version: int | None = None):
    """ops/audit_labels rows of the period (Spark DataFrame), or None when there are none."""

    if not lake.exists(TABLE):
        return None
    df = lake.read(spark, TABLE, version=version).where(period.date_col("event_date"))
    return df
