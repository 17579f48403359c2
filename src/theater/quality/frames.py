"""The small frames some expectations judge instead of the rows (``meta.frame``): a table's
one-row summary, one row per day of the period (volume against its baseline), one row per
landing file (quarantine share). Each is built with a few Spark aggregations and returned as
records; :func:`theater.quality.metrics.evaluate_rows` judges them."""

from __future__ import annotations

import statistics
from datetime import date, timedelta
from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

# the daily_volume frame: one row per day of the period
VOLUME_COLUMNS = ("day", "n", "baseline", "volume_ratio")


def summary_row(df: DataFrame, exps: list[dict], related: dict) -> dict:
    """``row_count``, ``quarantined_count`` / ``quarantine_share`` (rows of
    ``related["quarantined"]``) and ``orgs_missing`` (orgs of ``related["expected_orgs"]``
    absent from ``df``), each computed only when an expectation asks for it."""
    wanted = {(e.get("kwargs") or {}).get("column") for e in exps}
    row: dict[str, Any] = {}
    if wanted & {"row_count", "quarantine_share", "quarantined_count"}:
        row["row_count"] = df.count()
    if wanted & {"quarantine_share", "quarantined_count"}:
        q = related.get("quarantined")
        n_bad = q.count() if q is not None else 0
        total = row["row_count"] + n_bad
        row["quarantined_count"] = n_bad
        row["quarantine_share"] = (n_bad / total) if total else 0.0
    if "orgs_missing" in wanted:
        expected = related.get("expected_orgs")
        if expected is None:
            row["orgs_missing"] = None
        else:
            missing = (
                expected.where(F.col("org_id").isNotNull())
                .select("org_id")
                .distinct()
                .join(df.select("org_id").distinct(), "org_id", "left_anti")
            )
            row["orgs_missing"] = missing.count()
    return row or {"row_count": df.count()}


def daily_volume_rows(spark, lake, table: str, df: DataFrame, data: dict, period, q) -> list[dict]:
    """One row per day of ``period``: the day's rows in ``df``, its baseline (median of the
    same weekday in the previous ``q.volume_history_weeks`` weeks, from ``df`` and the table's
    own history; None with fewer than two) and their ratio. No period: no rows."""
    col = (data.get("meta") or {}).get("date_column", "event_date")
    if period is None:
        return []
    weeks = q.volume_history_weeks
    start, end = period.start, period.end
    counts = {r[0]: r[1] for r in df.groupBy(col).count().collect() if r[0] is not None}
    hist_start = start - timedelta(days=7 * weeks)
    known_before: dict[date, int] = {}
    if lake.exists(table):
        hist = (
            lake.read(spark, table)
            .where((F.col(col) >= F.lit(hist_start)) & (F.col(col) < F.lit(start)))
            .groupBy(col)
            .count()
            .collect()
        )
        known_before = {r[0]: r[1] for r in hist if r[0] is not None}
    rows = []
    d = start
    while d < end:
        past = []
        for w in range(1, weeks + 1):
            p = d - timedelta(days=7 * w)
            if p >= start:
                past.append(counts.get(p, 0))
            elif p in known_before:
                past.append(known_before[p])
        n = counts.get(d, 0)
        base = float(statistics.median(past)) if len(past) >= 2 else None
        ratio = (n / base) if base else None
        rows.append({"day": d.isoformat(), "n": n, "baseline": base, "volume_ratio": ratio})
        d += timedelta(days=1)
    return rows


def file_counts(df: DataFrame, quarantined: DataFrame | None, file_col: str) -> tuple[dict, dict]:
    """Rows per landing file: ``({file: rows of df}, {file: rows of quarantined})``.
    ``quarantined`` None: the caller knows there is none (no query to count nothing)."""
    good = {r[0]: r[1] for r in df.groupBy(file_col).count().collect()}
    if quarantined is None:
        return good, {}
    bad = {r[0]: r[1] for r in quarantined.groupBy(file_col).count().collect()}
    return good, bad


def files_rows(
    df: DataFrame, quarantined: DataFrame, file_col: str, counts: tuple[dict, dict] | None = None
) -> list[dict]:
    """One row per landing file of the batch: its loaded rows (``df``), quarantined rows and
    quarantine share. ``counts``: :func:`file_counts` of the two frames, when the caller has
    them."""
    good, bad = counts if counts is not None else file_counts(df, quarantined, file_col)
    rows = []
    for f in sorted(set(good) | set(bad), key=str):
        n, nq = good.get(f, 0), bad.get(f, 0)
        rows.append(
            {
                file_col: f,
                "row_count": int(n),
                "quarantined_count": int(nq),
                "quarantine_share": nq / (n + nq) if n + nq else 0.0,
            }
        )
    return rows
