"""Quota bunching's cell counts (``quota_bunching.cell_rates``) one user bucket at a time are
those of one plan over the period: the join is on the user, so each pair of rows meets in one
bucket and the integer counts add up."""

from __future__ import annotations

from pyspark.sql import functions as F
from quota_frames import generated_frames, hand_frames

from theater.buckets import bucket_of
from theater.signals.quota_bunching import cell_rates


def test_hand_worked_counts_in_any_bucket_count(spark):
    rows, weeks = hand_frames(spark)
    want = {("A", 10): {True: {1: 3, 0: 1}, False: {1: 1, 2: 1}}}
    for n in (1, 2, 5):
        assert cell_rates(rows, weeks, F.col("cell"), buckets=n) == want, n


def test_buckets_give_the_one_plan_counts(spark):
    rows, weeks = generated_frames(spark, seed=7)
    one = cell_rates(rows, weeks, F.col("cell"))
    assert sum(n for by in one.values() for cells in by.values() for n in cells.values()) > 0
    assert {k[1] for k in one if k[0] == "o0"} == {10, 20}
    # 15 users in 40 buckets: some bucket holds no user, its plan gives no rows
    users = {r.b for r in rows.select(bucket_of(40, "user_key").alias("b")).distinct().collect()}
    assert len(users) < 40
    for n in (3, 40):
        assert cell_rates(rows, weeks, F.col("cell"), buckets=n) == one, n
