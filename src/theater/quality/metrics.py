"""A suite's expectations computed as one aggregate query per frame (plus one key count per
uniqueness expectation), with GX's own result semantics.

GX stays the definition of the suites (their JSON is GX's expectation configuration) and the
renderer of the Data Docs (:func:`to_gx_result`); what changes is how the numbers are obtained.
GX's Spark engine resolves each expectation's metrics as separate jobs (a row count, a null
count, an unexpected count, each per column and per row condition: about 230 engine calls for
a run's suites, 6.5 CPU s at 1M interactions). Here every column-map expectation of a frame
becomes three conditional counts in ONE ``agg`` over the frame (rows, missing, unexpected);
schema expectations (column set, column type) are read from the schema without a query; a
uniqueness expectation is one grouped count of its key columns. Samples of offending rows are
fetched only for the expectations that failed, as GX's second pass did.

The results have GX's shape (``success``, ``result`` with ``element_count``,
``unexpected_count``, ``unexpected_percent``, ``missing_*`` where GX gives them,
``observed_value`` for schema expectations; ``exception_info`` when an expectation cannot be
evaluated), so the gate's records, ``ops/dq_results`` and the Data Docs are the same as GX's
own validation gives: ``tests/unit/test_dq_metrics.py`` compares both on small frames, for
every expectation type the suites use.

Expectation types outside :data:`SUPPORTED` make :func:`supported` false: the gate then
validates that frame with GX itself, as before.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

# column-map expectations: the column's null rows are "missing" (not judged), the others are
# judged by the type's condition
_MAP_WITH_MISSING = {
    "expect_column_values_to_be_between",
    "expect_column_values_to_be_in_set",
    "expect_column_values_to_match_regex",
    "expect_column_values_to_be_unique",
    "expect_compound_columns_to_be_unique",
    "expect_column_pair_values_a_to_be_greater_than_b",
}
# null checks: every row is judged, no missing count (GX's own _validate for these two)
_NULL_TYPES = {"expect_column_values_to_not_be_null", "expect_column_values_to_be_null"}
_SCHEMA_TYPES = {"expect_table_columns_to_match_set", "expect_column_values_to_be_of_type"}
UNIQUE_TYPES = ("expect_compound_columns_to_be_unique", "expect_column_values_to_be_unique")
SUPPORTED = _MAP_WITH_MISSING | _NULL_TYPES | _SCHEMA_TYPES
# Spark column types GX refuses to compare with numeric bounds (its InvalidColumnTypeError)
_NOT_COMPARABLE = ("STRING", "BOOLEAN", "VARCHAR", "CHAR")


def supported(exps: list[dict]) -> bool:
    return all(e["type"] in SUPPORTED for e in exps)


@dataclass
class Outcome:
    """One expectation's result, shaped like GX's ``ExpectationValidationResult``."""

    expectation: dict
    success: bool = True
    result: dict = field(default_factory=dict)
    exception_info: dict = field(
        default_factory=lambda: {
            "raised_exception": False,
            "exception_message": None,
            "exception_traceback": None,
        }
    )

    def raised(self, message: str) -> Outcome:
        self.success = False
        self.result = {}
        self.exception_info = {
            "raised_exception": True,
            "exception_message": message,
            "exception_traceback": None,
        }
        return self


class ExpectationError(ValueError):
    """An expectation that cannot be evaluated on this frame (GX would raise it too)."""


# ----------------------------------------------------------------------------- parameters
def resolve(kwargs: dict, params: dict) -> dict:
    """``kwargs`` with ``{"$PARAMETER": name}`` replaced by ``params[name]``."""
    out = {}
    for k, v in (kwargs or {}).items():
        if isinstance(v, dict) and set(v) == {"$PARAMETER"}:
            if v["$PARAMETER"] not in params:
                raise ExpectationError(f"suite parameter {v['$PARAMETER']!r} is not set")
            v = params[v["$PARAMETER"]]
        out[k] = v
    return out


def _columns_of(e: dict, kw: dict) -> list[str]:
    if e["type"] == "expect_table_columns_to_match_set":
        return []
    if "column_list" in kw:
        return list(kw["column_list"])
    if "column_A" in kw:
        return [kw["column_A"], kw["column_B"]]
    return [kw["column"]]


def _condition_columns(cond) -> list[str]:
    if not cond:
        return []
    if cond.get("type") in ("and", "or"):
        return [c for sub in cond["conditions"] for c in _condition_columns(sub)]
    return [cond["column"]["name"]]


# ----------------------------------------------------------------------------- Spark
def _spark_condition(cond):
    """A GX row condition (``comparison``, ``nullity``, ``and``, ``or``) as a Spark column,
    as GX's Spark engine builds its filter clause."""
    from pyspark.sql import functions as F

    kind = cond.get("type")
    if kind in ("and", "or"):
        parts = [_spark_condition(c) for c in cond["conditions"]]
        out = parts[0]
        for p in parts[1:]:
            out = (out & p) if kind == "and" else (out | p)
        return out
    col = F.col(cond["column"]["name"])
    if kind == "nullity":
        return col.isNull() if cond["is_null"] else col.isNotNull()
    if kind == "comparison":
        op, v = cond["operator"], cond["parameter"]
        if op == "IN":
            return col.isin(list(v))
        if op == "NOT_IN":
            return ~col.isin(list(v))
        ops = {
            "==": col == F.lit(v),
            "!=": col != F.lit(v),
            "<": col < F.lit(v),
            "<=": col <= F.lit(v),
            ">": col > F.lit(v),
            ">=": col >= F.lit(v),
        }
        if op in ops:
            return ops[op]
    raise ExpectationError(f"row condition not understood: {cond!r}")


def _spark_type_name(dtype) -> str:
    return type(dtype).__name__


def _spark_parts(e: dict, kw: dict, schema):
    """(missing, unexpected) Spark conditions of a column-map expectation, over the rows its
    row condition keeps; ``missing`` None where GX reports no missing count."""
    from pyspark.sql import functions as F

    t = e["type"]
    if t == "expect_column_values_to_not_be_null":
        return None, F.col(kw["column"]).isNull()
    if t == "expect_column_values_to_be_null":
        return None, F.col(kw["column"]).isNotNull()
    if t == "expect_column_pair_values_a_to_be_greater_than_b":
        a, b = F.col(kw["column_A"]), F.col(kw["column_B"])
        ignore = kw.get("ignore_row_if", "both_values_are_missing")
        missing = {
            "either_value_is_missing": a.isNull() | b.isNull(),
            "both_values_are_missing": a.isNull() & b.isNull(),
            "neither": F.lit(False),
        }.get(ignore)
        if missing is None:
            raise ExpectationError(f'Unrecognized value of ignore_row_if ("{ignore}").')
        ok = (a >= b) if kw.get("or_equal") else (a > b)
        return missing, ~ok
    if t == "expect_compound_columns_to_be_unique":
        cols = [F.col(c) for c in kw["column_list"]]
        ignore = kw.get("ignore_row_if", "all_values_are_missing")
        if ignore == "all_values_are_missing":
            missing = cols[0].isNull()
            for c in cols[1:]:
                missing = missing & c.isNull()
        elif ignore == "any_value_is_missing":
            missing = cols[0].isNull()
            for c in cols[1:]:
                missing = missing | c.isNull()
        elif ignore == "never":
            missing = F.lit(False)
        else:
            raise ExpectationError(f'Unrecognized value of ignore_row_if ("{ignore}").')
        return missing, None  # unexpected: the key count
    col = F.col(kw["column"])
    missing = col.isNull()
    if t == "expect_column_values_to_be_unique":
        return missing, None
    if t == "expect_column_values_to_be_in_set":
        vs = kw.get("value_set")
        return missing, (F.lit(False) if vs is None else ~col.isin(list(vs)))
    if t == "expect_column_values_to_match_regex":
        return missing, ~col.rlike(kw["regex"])
    if t == "expect_column_values_to_be_between":
        lo, hi = kw.get("min_value"), kw.get("max_value")
        if lo is not None and hi is not None and lo > hi:
            raise ExpectationError("min_value cannot be greater than max_value")
        if lo is None and hi is None:
            raise ExpectationError("min_value and max_value cannot both be None")
        bounds = [b for b in (lo, hi) if b is not None]
        dtype = schema[kw["column"]].dataType
        if not all(isinstance(b, str) for b in bounds) and (
            dtype.simpleString().upper().startswith(_NOT_COMPARABLE)
        ):
            raise ExpectationError(
                f"ColumnValuesBetween metrics cannot be computed on column of type {dtype!r}."
            )
        ok = None
        if lo is not None:
            ok = (col > F.lit(lo)) if kw.get("strict_min") else (col >= F.lit(lo))
        if hi is not None:
            up = (col < F.lit(hi)) if kw.get("strict_max") else (col <= F.lit(hi))
            ok = up if ok is None else (ok & up)
        return missing, ~ok
    raise ExpectationError(f"{t} is not computed by the aggregate")


def _map_result(n: int, missing: int | None, unexpected, mostly) -> tuple[bool, dict]:
    """GX's success rule and result fields of a column-map expectation (``_format_map_output``
    in BASIC format, without samples). ``unexpected`` None: GX's Spark sum over no rows."""
    mostly = 1.0 if mostly is None else mostly
    considered = n if missing is None else n - missing
    if unexpected is None or n == 0 or considered == 0:
        success = True  # GX: vacuously true
    else:
        success = (float(considered) - float(unexpected)) / float(considered) >= mostly
    known = unexpected is not None and n > 0
    total = unexpected / n * 100 if known else None
    if missing is None:
        nonmissing_pct = total
    else:
        nonmissing_pct = unexpected / considered * 100 if known and considered > 0 else None
    res: dict[str, Any] = {
        "element_count": n,
        "unexpected_count": unexpected,
        "unexpected_percent": nonmissing_pct,
        "partial_unexpected_list": [],
    }
    if missing is not None:
        res.update(
            missing_count=missing,
            missing_percent=missing / n * 100 if known else None,
            unexpected_percent_total=total,
            unexpected_percent_nonmissing=nonmissing_pct,
        )
    return success, res


def _schema_outcome(o: Outcome, kw: dict, schema) -> Outcome:
    names = list(schema.names)
    if o.expectation["type"] == "expect_table_columns_to_match_set":
        want = list(kw.get("column_set") or [])
        observed = sorted(names)
        missing = sorted(set(want) - set(names))
        extra = sorted(set(names) - set(want))
        exact = kw.get("exact_match", True)
        o.success = not missing and (not exact or not extra)
        o.result = {"observed_value": observed}
        mismatched = {}
        if extra:
            mismatched["unexpected"] = extra
        if missing:
            mismatched["missing"] = missing
        if mismatched:
            o.result["details"] = {"mismatched": mismatched}
        return o
    col = kw["column"]
    if col not in names:
        return o.raised(f'The column "{col}" in BatchData does not exist.')
    observed = _spark_type_name(schema[col].dataType)
    o.success = observed == kw.get("type_")
    o.result = {"observed_value": observed}
    return o


def _sample_value(v):
    """A sampled value as GX reports it (dates and timestamps as text)."""
    import datetime as dt

    if isinstance(v, (dt.datetime, dt.date)):
        return str(v)
    if isinstance(v, float) and math.isnan(v):
        return None
    return v


def evaluate_spark(
    df,
    exps: list[dict],
    params: dict,
    *,
    keys: list[str] | None = None,
    sample_rows: int = 0,
    duplicates=None,
) -> list[Outcome]:
    """Every expectation of ``exps`` on the Spark DataFrame ``df``: one aggregate for the
    column-map expectations, one key count per uniqueness expectation, one sample query per
    failed expectation (``sample_rows`` > 0). ``duplicates(cols, where)`` overrides how a
    uniqueness expectation counts its duplicated rows (the gate's per-bucket count); it returns
    ``(rows whose key is duplicated, their sample)``."""

    keys = [k for k in (keys or []) if k in df.columns]
    schema = df.schema
    outcomes = [Outcome(e) for e in exps]
    plans: list[tuple[int, dict, Any, Any, Any]] = []  # (i, kwargs, where, missing, unexpected)
    for i, (e, o) in enumerate(zip(exps, outcomes)):
        try:
            kw = resolve(e.get("kwargs") or {}, params)
            if e["type"] in _SCHEMA_TYPES:
                _schema_outcome(o, kw, schema)
                continue
            absent = [
                c
                for c in _columns_of(e, kw) + _condition_columns(kw.get("row_condition"))
                if c not in schema.names
            ]
            if absent:
                raise ExpectationError(f'The column "{absent[0]}" in BatchData does not exist.')
            where = _spark_condition(kw["row_condition"]) if kw.get("row_condition") else None
            missing, unexpected = _spark_parts(e, kw, schema)
            plans.append((i, kw, where, missing, unexpected))
        except ExpectationError as exc:
            o.raised(str(exc))

    counts = _aggregate(df, plans)
    for i, kw, where, missing, unexpected in plans:
        o = outcomes[i]
        if isinstance(counts.get(i), Exception):
            o.raised(str(counts[i]))
            continue
        n, n_missing, n_bad = counts[i]
        if n == 0 and "column" in kw:
            # GX sums a single column's unexpected rows: no rows, no sum (pair and compound
            # expectations count them instead: 0)
            n_bad = None
        sample = None
        if unexpected is None:  # uniqueness: the key count
            cols = kw.get("column_list") or [kw["column"]]
            keep = ~missing if where is None else (where & ~missing)
            try:
                if duplicates is not None:
                    n_bad, sample = duplicates(cols, keep)
                else:
                    n_bad = duplicate_count(df.where(keep), cols)
            except Exception as exc:  # noqa: BLE001 - reported like GX's raised metric
                o.raised(_short_error(exc))
                continue
        o.success, o.result = _map_result(
            n, n_missing if missing is not None else None, n_bad, kw.get("mostly")
        )
        if not o.success and sample_rows > 0:
            try:
                _add_samples(df, o, kw, where, missing, unexpected, keys, sample_rows, sample)
            except Exception as exc:  # noqa: BLE001 - a sample is an extra; keep the verdict
                o.result["partial_unexpected_list"] = [f"sample not available: {exc}"[:200]]
    return outcomes


def _short_error(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:500] if text else type(exc).__name__


def _aggregate(df, plans) -> dict:
    """{i: (rows, missing, unexpected)} of every planned expectation from ONE ``agg`` over
    ``df``; if the combined query fails (a condition the engine refuses, e.g. a regex on a
    number), each expectation is computed alone so that only the broken ones report an error."""
    from pyspark.sql import functions as F

    if not plans:
        return {}

    def exprs(i, where, missing, unexpected):
        def count_if(cond):
            if cond is None:
                return F.lit(None).cast("bigint")
            c = cond if where is None else (where & cond)
            return F.count(F.when(c, F.lit(1)))

        n = F.count(F.lit(1)) if where is None else count_if(F.lit(True))
        m = count_if(missing) if missing is not None else F.lit(None).cast("bigint")
        if unexpected is None:
            u = F.lit(None).cast("bigint")
        else:
            judged = unexpected if missing is None else (~missing & unexpected)
            u = count_if(judged)
        return [n.alias(f"n{i}"), m.alias(f"m{i}"), u.alias(f"u{i}")]

    def read(row, i):
        return tuple(None if row[f"{k}{i}"] is None else int(row[f"{k}{i}"]) for k in "nmu")

    try:
        row = df.agg(*[x for p in plans for x in exprs(p[0], *p[2:])]).first()
        return {p[0]: read(row, p[0]) for p in plans}
    except Exception:  # noqa: BLE001 - isolate the expectation the engine cannot compute
        out = {}
        for p in plans:
            try:
                out[p[0]] = read(df.agg(*exprs(p[0], *p[2:])).first(), p[0])
            except Exception as exc:  # noqa: BLE001
                out[p[0]] = ExpectationError(_short_error(exc))
        return out


def duplicate_count(df, cols: list[str]) -> int:
    """Rows of ``df`` whose ``cols`` value occurs more than once (every copy counts, as GX's
    uniqueness expectations count them)."""
    from pyspark.sql import functions as F

    row = df.groupBy(*cols).count().where(F.col("count") > 1).agg(F.sum("count").alias("n")).first()
    return int(row["n"] or 0)


def duplicate_sample(df, cols: list[str], keys: list[str], limit: int) -> list[dict]:
    """Up to ``limit`` rows of ``df`` whose ``cols`` value is duplicated: their ``keys`` and
    ``cols``."""
    from pyspark.sql import functions as F

    dup = df.groupBy(*cols).count().where(F.col("count") > 1).select(*cols)
    show = list(dict.fromkeys([*keys, *cols]))
    rows = df.join(dup, on=cols, how="left_semi").select(*show).limit(limit).collect()
    return [{k: _sample_value(r[k]) for k in show} for r in rows]


def _add_samples(df, o: Outcome, kw, where, missing, unexpected, keys, limit, sample) -> None:
    """GX's SUMMARY fields of a failed expectation: up to ``limit`` offending values and, with
    row keys, the offending rows' keys (``partial_unexpected_index_list``)."""
    t = o.expectation["type"]
    if t in UNIQUE_TYPES:
        cols = kw.get("column_list") or [kw["column"]]
        if sample is None:
            keep = ~missing if where is None else (where & ~missing)
            sample = duplicate_sample(df.where(keep), cols, keys, limit)
        sample = sample[:limit]
        if t == "expect_column_values_to_be_unique":
            values = [s[cols[0]] for s in sample]
        else:
            values = [{c: s[c] for c in cols} for s in sample]
        index = [{k: s[k] for k in keys} | {c: s[c] for c in cols} for s in sample]
    else:
        cols = _columns_of(o.expectation, kw)
        judged = unexpected if missing is None else (~missing & unexpected)
        cond = judged if where is None else (where & judged)
        show = list(dict.fromkeys([*keys, *cols]))
        rows = df.where(cond).select(*show).limit(limit).collect()
        if len(cols) == 1:
            values = [_sample_value(r[cols[0]]) for r in rows]
        else:
            values = [[_sample_value(r[c]) for c in cols] for r in rows]
        index = [{k: _sample_value(r[k]) for k in show} for r in rows]
    o.result["partial_unexpected_list"] = values
    if keys:
        o.result["unexpected_index_column_names"] = list(keys)
        o.result["partial_unexpected_index_list"] = index
    counts = Counter(_hashable(v) for v in values)
    o.result["partial_unexpected_counts"] = [
        {"value": v, "count": c} for v, c in counts.most_common()
    ]


def _hashable(v):
    if isinstance(v, dict):
        return tuple(v.values())
    if isinstance(v, list):
        return tuple(v)
    return v


# ----------------------------------------------------------------------------- small frames
def _is_missing(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def evaluate_rows(
    records: list[dict],
    columns: list[str],
    exps: list[dict],
    params: dict,
    *,
    keys: list[str] | None = None,
    sample_rows: int = 0,
    complete: bool = False,
) -> list[Outcome] | None:
    """The same for a small frame given as records (the gate's one-row summaries, one row per
    day or per landing file), computed in Python with GX's pandas semantics. Only
    ``expect_column_values_to_be_between`` without row conditions (what those frames use);
    None for anything else (the caller asks GX). ``complete``: every offending row in
    ``unexpected_index_list`` (GX's COMPLETE format)."""
    if any(
        e["type"] != "expect_column_values_to_be_between"
        or (e.get("kwargs") or {}).get("row_condition")
        for e in exps
    ):
        return None
    keys = [k for k in (keys or []) if k in columns]
    outcomes = []
    for e in exps:
        o = Outcome(e)
        outcomes.append(o)
        try:
            kw = resolve(e.get("kwargs") or {}, params)
            col = kw["column"]
            if col not in columns:
                raise ExpectationError(f'The column "{col}" in BatchData does not exist.')
            lo, hi = kw.get("min_value"), kw.get("max_value")
            if lo is None and hi is None:
                raise ExpectationError("min_value and max_value cannot both be None")
            bad = []
            missing = 0
            for r in records:
                v = r.get(col)
                if _is_missing(v):
                    missing += 1
                    continue
                ok = True
                if lo is not None:
                    ok = ok and (v > lo if kw.get("strict_min") else v >= lo)
                if hi is not None:
                    ok = ok and (v < hi if kw.get("strict_max") else v <= hi)
                if not ok:
                    bad.append(r)
        except (ExpectationError, TypeError) as exc:
            o.raised(str(exc))
            continue
        o.success, o.result = _map_result(len(records), missing, len(bad), kw.get("mostly"))
        if not o.success and (sample_rows > 0 or complete):
            show = [*keys, col] if col not in keys else keys
            index = [{k: _plain(r.get(k)) for k in show} for r in bad]
            values = [_plain(r.get(col)) for r in bad]
            o.result["partial_unexpected_list"] = values[: max(sample_rows, 20)]
            if keys:
                o.result["unexpected_index_column_names"] = list(keys)
                o.result["partial_unexpected_index_list"] = index[: max(sample_rows, 20)]
            if complete:
                o.result["unexpected_list"] = values
                o.result["unexpected_index_list"] = index
    return outcomes


def _plain(v):
    if hasattr(v, "item") and not isinstance(v, (list, dict, str)):
        v = v.item()  # numpy scalars
    return None if _is_missing(v) else v


# ----------------------------------------------------------------------------- Data Docs
def statistics(outcomes: list[Outcome]) -> dict:
    good = sum(1 for o in outcomes if o.success)
    n = len(outcomes)
    return {
        "evaluated_expectations": n,
        "successful_expectations": good,
        "unsuccessful_expectations": n - good,
        "success_percent": 100.0 * good / n if n else None,
    }


def to_gx_result(suite_name: str, suite_meta: dict, outcomes: list[Outcome]):
    """The outcomes as GX's ``ExpectationSuiteValidationResult``, for GX's Data Docs renderer
    (imports GX: call it where the docs are built, not on the gate's path)."""
    from great_expectations.core.expectation_validation_result import (
        ExpectationSuiteValidationResult,
        ExpectationValidationResult,
    )
    from great_expectations.expectations.expectation_configuration import (
        ExpectationConfiguration,
    )

    results = [
        ExpectationValidationResult(
            success=o.success,
            expectation_config=ExpectationConfiguration(
                type=o.expectation["type"],
                kwargs=dict(o.expectation.get("kwargs") or {}),
                meta=dict(o.expectation.get("meta") or {}),
            ),
            result=_json_safe(o.result),
            exception_info=dict(o.exception_info),
        )
        for o in outcomes
    ]
    return ExpectationSuiteValidationResult(
        success=all(o.success for o in outcomes),
        results=results,
        suite_name=suite_name,
        statistics=statistics(outcomes),
        meta=dict(suite_meta or {}),
    )


def _json_safe(v):
    if isinstance(v, dict):
        return {k: _json_safe(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_json_safe(x) for x in v]
    if isinstance(v, float) and math.isnan(v):
        return None
    if hasattr(v, "isoformat"):
        return str(v)
    return v
