"""The period's rows counted once per user-week and cell (``quota_bunching.cell_week_counts``,
staged by ``incentives.cell_week_table``) give the user-week counts and the cell rates that the
rows themselves give."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

from pyspark.sql import functions as F

from theater.signals.quota_bunching import cell_rates, cell_week_counts
from theater.stages.incentives import cell_week_table, user_week_counts

ROWS = "org_id string, user_key string, event_ts timestamp, cell int"
WEEKS = (
    "org_id string, user_key string, week_start date, weekly_quota long, sig_quota_bunching double"
)


def hand_frames(spark):
    """Org A (quota 10): u1's week of 2026-01-05 is bunched (sig 0.2), its week of 2026-01-12
    is not (sig 0), its week of 2026-01-19 is NA (sig null); u2's week of 2026-01-05 has no
    user-week row at all. A row without org is never counted."""
    mon = datetime(2026, 1, 5, 9)
    rows = [
        ("A", "u1", mon, 1),
        ("A", "u1", mon + timedelta(days=1), 1),
        ("A", "u1", mon + timedelta(days=4, hours=8), 1),  # Friday: same ISO week
        ("A", "u1", mon + timedelta(days=2), 0),
        ("A", "u1", mon + timedelta(days=7), 1),  # week of 01-12
        ("A", "u1", mon + timedelta(days=8), 2),
        ("A", "u1", mon + timedelta(days=14), 1),  # week of 01-19
        ("A", "u2", mon, 1),
        (None, "u1", mon, 1),  # no org: left out
    ]
    weeks = [
        ("A", "u1", date(2026, 1, 5), 10, 0.2),
        ("A", "u1", date(2026, 1, 12), 10, 0.0),
        ("A", "u1", date(2026, 1, 19), 10, None),
    ]
    return spark.createDataFrame(rows, ROWS), spark.createDataFrame(weeks, WEEKS)


def generated_frames(spark, seed=11):
    """3 orgs (two quotas in org o0), 15 users, 3 weeks, 4 cells; random counts and weights."""
    rnd = random.Random(seed)
    rows, weeks = [], []
    for u in range(15):
        org = f"o{u % 3}"
        for w in range(3):
            start = date(2026, 2, 2) + timedelta(weeks=w)
            quota = 20 if (org == "o0" and w == 2) else 10
            weeks.append((org, f"u{u}", start, quota, rnd.choice([None, 0.0, 0.3])))
            for _ in range(rnd.randint(0, 6)):
                ts = datetime.combine(start, datetime.min.time()) + timedelta(
                    hours=rnd.randint(0, 24 * 7 - 1)
                )
                rows.append((org, f"u{u}", ts, rnd.randint(0, 3)))
    return spark.createDataFrame(rows, ROWS), spark.createDataFrame(weeks, WEEKS)


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
    rows, weeks = generated_frames(spark)
    celled = rows.withColumnRenamed("cell", "_cell")
    one = cell_rates(rows, weeks, F.col("cell"))
    for n in (1, 3):
        table = cell_week_table(spark, celled, str(tmp_path / f"cells{n}"), n)
        assert table.count() == cell_week_counts(rows, F.col("cell")).count()
        for b in (1, 3):
            assert cell_rates(table, weeks, F.col("_cell"), buckets=b, counted=True) == one, (n, b)
