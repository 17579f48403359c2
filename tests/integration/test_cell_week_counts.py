"""The period's rows counted once per user-week and cell (``quota_bunching.cell_week_counts``,
staged by ``incentives.cell_week_table``) give the user-week counts and the cell rates that the
rows themselves give."""

from __future__ import annotations

from datetime import date

from pyspark.sql import functions as F
from quota_frames import generated_frames, hand_frames

from theater.signals.quota_bunching import cell_rates, cell_week_counts
from theater.stages.incentives import cell_week_table, user_week_counts


def test_hand_worked_cell_week_counts(spark):
    rows, _ = hand_frames(spark)
    got = {
        (r.org_id, r.user_key, r.week_start, r._cell): r._n
        for r in cell_week_counts(rows, F.col("cell")).collect()
    }
    # u1: week of 01-05 three rows in cell 1, one in cell 0; week of 01-12 one in cell 1, one
    # in cell 2; week of 01-19 one in cell 1; u2 one in cell 1; the row without org: none
    assert got == {
        ("A", "u1", date(2026, 1, 5), 1): 3,
        ("A", "u1", date(2026, 1, 5), 0): 1,
        ("A", "u1", date(2026, 1, 12), 1): 1,
        ("A", "u1", date(2026, 1, 12), 2): 1,
        ("A", "u1", date(2026, 1, 19), 1): 1,
        ("A", "u2", date(2026, 1, 5), 1): 1,
    }


def _weeks(frame):
    return sorted(
        (r.org_id, r.user_key, r.week_start, r.n_interactions, r.full_week) for r in frame.collect()
    )


def test_user_week_counts_from_cell_counts(spark):
    rows, _ = hand_frames(spark)
    start, end = date(2026, 1, 5), date(2026, 1, 19)
    counted = cell_week_counts(rows, F.col("cell"))
    want = [
        ("A", "u1", date(2026, 1, 5), 4, True),
        ("A", "u1", date(2026, 1, 12), 2, True),
        ("A", "u1", date(2026, 1, 19), 1, False),
        ("A", "u2", date(2026, 1, 5), 1, True),
    ]
    assert _weeks(user_week_counts(rows, start, end)) == want
    assert _weeks(user_week_counts(rows, start, end, cell_counts=counted)) == want
    # aggregate units add to the same user-week either way
    units = spark.createDataFrame(
        [("A", "u2", date(2026, 1, 5), 2.6)],
        "org_id string, user_key string, week_start date, n double",
    )
    with_units = _weeks(user_week_counts(rows, start, end, units, cell_counts=counted))
    assert with_units == _weeks(user_week_counts(rows, start, end, units))
    assert ("A", "u2", date(2026, 1, 5), 4, True) in with_units


def test_staged_cell_counts_give_the_same_cell_rates(spark, tmp_path):
    rows, weeks = generated_frames(spark, seed=11)
    celled = rows.withColumnRenamed("cell", "_cell")
    one = cell_rates(rows, weeks, F.col("cell"))
    for n in (1, 3):
        table = cell_week_table(spark, celled, str(tmp_path / f"cells{n}"), n)
        assert table.count() == cell_week_counts(rows, F.col("cell")).count()
        for b in (1, 3):
            assert cell_rates(table, weeks, F.col("_cell"), buckets=b, counted=True) == one, (n, b)
