"""The incentive weights' per-user tables cut to the labels' user buckets
(``score.incentive_buckets``): each bucket's labels join only their own users' user-weeks and
checkpoint user-days, and get the same weights as from the whole tables.

- Bucket ``b`` of each table holds exactly the rows whose user hashes to ``b`` (a bucket with
  none: an empty frame, not None; a table that is None stays None).
- ``incentives.apply`` over a bucket's interactions with that bucket's tables gives the same
  ``sig_quota_bunching`` and ``sig_checkpoint_burst`` as with the whole tables.
"""

from __future__ import annotations

from datetime import date

from pyspark.sql import functions as F

from theater.buckets import user_bucket
from theater.stages import incentives, score

N = 3
USERS = [f"u{i}" for i in range(8)]


def _tables(spark):
    # user-weeks: one week each, a weight that says which user it is (0.1 * i); checkpoint
    # user-days: one day each, 0.01 * i, for org o1 (measured) only
    weeks = spark.createDataFrame(
        [("o1", u, date(2026, 7, 6), 0.1 * i, 0.1 * i, 0.1 * i) for i, u in enumerate(USERS)],
        "org_id string, user_key string, _week date, sig_quota_bunching double, "
        "_wq_no_use double, _wq_use double",
    )
    days = spark.createDataFrame(
        [("o1", u, date(2026, 7, 7), 0.01 * i) for i, u in enumerate(USERS)],
        "org_id string, user_key string, event_date date, sig_checkpoint_burst double",
    )
    return weeks, days


def _rows(spark):
    # per user: one row in its week on its checkpoint day, one the next week (no weight there)
    return (
        spark.createDataFrame(
            [
                (f"e{i}-{k}", "t", "o1", u, f"2026-07-{7 + 7 * k:02d} 10:00:00", "accepted", 9000)
                for i, u in enumerate(USERS)
                for k in (0, 1)
            ],
            "event_id string, tool string, org_id string, user_key string, ts string, "
            "output_disposition string, dwell_ms long",
        )
        .select(
            "*",
            F.col("ts").cast("timestamp").alias("event_ts"),
            F.to_date(F.col("ts").cast("timestamp")).alias("event_date"),
        )
        .drop("ts")
    )


def _weights(frame):
    return sorted(
        (r.event_id, r.sig_quota_bunching, r.sig_checkpoint_burst)
        for r in frame.select("event_id", "sig_quota_bunching", "sig_checkpoint_burst").collect()
    )


def test_each_bucket_holds_its_users_rows_and_gives_the_same_weights(spark, tmp_path):
    weeks, days = _tables(spark)
    inc = incentives.Incentives(user_weeks=weeks, checkpoint=days, checkpoint_orgs=["o1"])
    of = score.incentive_buckets(spark, inc, N, str(tmp_path))
    rows = _rows(spark)
    hashed = {
        r.user_key: r.b for r in weeks.select("user_key", user_bucket(N).alias("b")).collect()
    }
    assert set(hashed.values()) != {0}  # the users spread over more than one bucket
    whole = _weights(incentives.apply(rows, inc, rows=rows))
    got = []
    for b in range(N):
        mine = of(b)
        assert mine is not inc and inc.user_weeks is weeks  # a copy; the whole tables kept
        users = sorted(u for u, h in hashed.items() if h == b)
        assert sorted(r.user_key for r in mine.user_weeks.collect()) == users
        assert sorted(r.user_key for r in mine.checkpoint.collect()) == users
        assert mine.checkpoint_orgs == ["o1"]
        part = rows.where(user_bucket(N) == b)
        got += _weights(incentives.apply(part, mine, rows=part))
    assert sorted(got) == whole
    # worked by hand: u3's row in its week on its checkpoint day -> 0.3 and 0.03; its row of
    # the next week: no user-week (null), not a checkpoint day of a measured org (0.0)
    assert ("e3-0", 0.30000000000000004, 0.03) in whole
    assert ("e3-1", None, 0.0) in whole


def test_a_bucket_without_users_gets_empty_tables_and_none_stays_none(spark, tmp_path):
    weeks, days = _tables(spark)
    one = weeks.where(F.col("user_key") == "u0")
    b0 = one.select(user_bucket(N).alias("b")).first().b
    inc = incentives.Incentives(user_weeks=one, checkpoint=None)
    of = score.incentive_buckets(spark, inc, N, str(tmp_path))
    for b in range(N):
        mine = of(b)
        assert mine.checkpoint is None
        assert mine.user_weeks.count() == (1 if b == b0 else 0)
    assert score.incentive_buckets(spark, None, N, str(tmp_path))(0) is None
