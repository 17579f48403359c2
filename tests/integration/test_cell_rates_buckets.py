"""Quota bunching's cell counts (``quota_bunching.cell_rates``) one user bucket at a time are
those of one plan over the period: the join is on the user, so each pair of rows meets in one
bucket and the integer counts add up."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

from pyspark.sql import functions as F

from theater.buckets import bucket_of
from theater.signals.quota_bunching import cell_rates

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
        ("A", "u1", mon + timedelta(days=7), 1),  # week of 01-12: not bunched
        ("A", "u1", mon + timedelta(days=8), 2),
        ("A", "u1", mon + timedelta(days=14), 1),  # week of 01-19: NA, left out
        ("A", "u2", mon, 1),  # no user-week: left out
        (None, "u1", mon, 1),  # no org: left out
    ]
    weeks = [
        ("A", "u1", date(2026, 1, 5), 10, 0.2),
        ("A", "u1", date(2026, 1, 12), 10, 0.0),
        ("A", "u1", date(2026, 1, 19), 10, None),
    ]
    return spark.createDataFrame(rows, ROWS), spark.createDataFrame(weeks, WEEKS)


def generated_frames(spark, seed=7):
    """3 orgs (two quotas in org o0), 15 users, 3 weeks, 4 cells; random counts and weights."""
    rnd = random.Random(seed)
    rows, weeks = [], []
    for u in range(15):
        org = f"o{u % 3}"
        for w in range(3):
            start = date(2026, 2, 2) + timedelta(weeks=w)
            quota = 20 if (org == "o0" and w == 2) else 10
            sig = rnd.choice([None, 0.0, 0.3])
            weeks.append((org, f"u{u}", start, quota, sig))
            for _ in range(rnd.randint(0, 6)):
                ts = datetime.combine(start, datetime.min.time()) + timedelta(
                    hours=rnd.randint(0, 24 * 7 - 1)
                )
                rows.append((org, f"u{u}", ts, rnd.randint(0, 3)))
    return spark.createDataFrame(rows, ROWS), spark.createDataFrame(weeks, WEEKS)


def test_hand_worked_counts_in_any_bucket_count(spark):
    rows, weeks = hand_frames(spark)
    want = {("A", 10): {True: {1: 3, 0: 1}, False: {1: 1, 2: 1}}}
    for n in (1, 2, 5):
        assert cell_rates(rows, weeks, F.col("cell"), buckets=n) == want, n


def test_buckets_give_the_one_plan_counts(spark):
    rows, weeks = generated_frames(spark)
    one = cell_rates(rows, weeks, F.col("cell"))
    assert sum(n for by in one.values() for cells in by.values() for n in cells.values()) > 0
    assert {k[1] for k in one if k[0] == "o0"} == {10, 20}
    # 15 users in 40 buckets: some bucket holds no user, its plan gives no rows
    users = {r.b for r in rows.select(bucket_of(40, "user_key").alias("b")).distinct().collect()}
    assert len(users) < 40
    for n in (3, 40):
        assert cell_rates(rows, weeks, F.col("cell"), buckets=n) == one, n
