"""Score's per-user tables bucket by bucket, and refine's bucket count from bronze's log.

- ``bucketed_gold`` writes each user bucket's user-weeks from that bucket's staged labels: the
  same rows as ``user_weeks_frame`` over the whole period's labels (one plan), quota in force
  included, and the same labels.
- ``refine._event_buckets`` needs no pass over bronze when bronze's Delta log says the whole
  table fits one bucket, and counts the period's rows otherwise.
"""

from __future__ import annotations

import math
from datetime import date, timedelta

import pytest
from builders import T0, interaction, make_interactions

from theater.buckets import bucket_of
from theater.lake import Lake
from theater.period import Period
from theater.stages import refine, score

JULY = Period.parse(start="2026-07-01", end="2026-08-01")
POLICIES = [
    ("o1", "quota", date(2026, 7, 13), None, 20, "from the third week"),
    ("*", "quota", date(2026, 7, 1), None, 40, "company"),
]


def _interactions(spark):
    rows, i = [], 0
    for u in range(8):  # 8 users, two orgs, three weeks, a few interactions a day
        for day in range(0, 21, 2):
            for k in range(1 + (u + day) % 3):
                ts = T0 + timedelta(days=day, minutes=17 * k + u)
                rows.append(
                    interaction(
                        i,
                        ts=ts,
                        user_key=f"u{u}",
                        org_id="o1" if u % 2 else "o2",
                        prompt_tokens=20 + 37 * ((i * 7) % 11),
                        dwell_ms=500 if i % 4 == 0 else 30000,
                        output_disposition="rejected" if i % 5 == 0 else "accepted",
                        prompt_fingerprint=f"{(i % 6):016x}",
                    )
                )
                i += 1
    return make_interactions(spark, rows)


def _sorted(df, keys):
    return [r.asDict(recursive=True) for r in df.orderBy(*keys).collect()]


def _same(a, b):
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, rel=1e-12)
    return a == b


def test_user_weeks_written_by_bucket_equal_one_plan(spark, cfg, tmp_path):
    interactions = _interactions(spark)
    policies = spark.createDataFrame(POLICIES, score.POLICY_SCHEMA)
    n = 3
    users = {r.user_key for r in interactions.select("user_key").distinct().collect()}
    buckets = {
        r.b for r in interactions.select(bucket_of(n, "user_key").alias("b")).distinct().collect()
    }
    assert len(users) == 8 and len(buckets) >= 2  # the users really are split

    labels, weeks = score.bucketed_gold(
        spark, interactions, JULY, cfg, None, str(tmp_path / "staging"), n, None, policies
    )
    one_labels = score.labels_frame(interactions, JULY, cfg)
    one_weeks = score.user_weeks_frame(one_labels, policies, JULY, cfg)

    keys = ["org_id", "user_key", "week_start"]
    a, b = _sorted(weeks, keys), _sorted(one_weeks, keys)
    assert len(a) == len(b) == 8 * 3
    for x, y in zip(a, b):
        assert x.keys() == y.keys() and all(_same(x[k], y[k]) for k in x), (x, y)
    # the quota in force: o1's own from its third week on, else the company's
    o1 = {(r["week_start"], r["weekly_quota"]) for r in a if r["org_id"] == "o1"}
    assert o1 == {(date(2026, 7, 6), 40), (date(2026, 7, 13), 20), (date(2026, 7, 20), 20)}

    la, lb = _sorted(labels, ["event_id"]), _sorted(one_labels, ["event_id"])
    assert len(la) == len(lb) == interactions.count()
    assert all(x == y for x, y in zip(la, lb))


def test_one_bucket_leaves_user_weeks_to_the_caller(spark, cfg, tmp_path):
    interactions = _interactions(spark)
    policies = spark.createDataFrame(POLICIES, score.POLICY_SCHEMA)
    labels, weeks = score.bucketed_gold(
        spark, interactions, JULY, cfg, None, str(tmp_path / "staging"), 1, None, policies
    )
    assert weeks is None
    assert labels.count() == interactions.count()


def _bronze(spark, tmp_path, n_rows):
    lake = Lake(str(tmp_path / "lake"), "delta")
    rows = [
        (f"e{i}", "ide", f"2026-07-{1 + i % 28:02d}T10:00:00Z", "u1", None) for i in range(n_rows)
    ]
    df = spark.createDataFrame(
        rows, "event_id string, tool string, event_ts string, user_id string, source_format string"
    )
    lake.overwrite(df, "bronze/interactions")
    return lake, lake.read(spark, "bronze/interactions")


class _Counted:
    """``resolved`` whose count is recorded (refine counts only when its log says it must)."""

    def __init__(self, df):
        self.df, self.counts = df, 0

    def where(self, cond):
        parent = self

        class _Filtered:
            def count(self):
                parent.counts += 1
                return parent.df.where(cond).count()

        return _Filtered()


def test_event_buckets_from_the_delta_log(spark, tmp_path):
    lake, bronze = _bronze(spark, tmp_path, 30)
    assert refine._rows_at_most(lake, "bronze/interactions") == 30
    assert refine._rows_at_most(lake, "bronze/none_such") == 0

    resolved = _Counted(bronze)
    assert refine._event_buckets(lake, resolved, JULY, 30) == 1  # 30 rows, 30 a bucket
    assert refine._event_buckets(lake, resolved, JULY, 0) == 1  # 0: one plan
    assert resolved.counts == 0  # neither needed a pass over bronze
    assert refine._event_buckets(lake, resolved, JULY, 10) == 3  # 30 rows in July
    assert (
        refine._event_buckets(
            lake, resolved, Period.parse(start="2026-08-01", end="2026-09-01"), 10
        )
        == 1
    )
    assert resolved.counts == 2


def test_decoupling_days_aggregated_by_bucket_equal_one_aggregate(spark, tmp_path):
    from theater.signals import outcome_decoupling as od

    history = _interactions(spark).select("org_id", "user_key", "event_date")
    # a row without a user (bucket 0) and one without an org (left out) as well
    extra = spark.createDataFrame(
        [("o1", None, date(2026, 7, 7)), (None, "u1", date(2026, 7, 7))],
        "org_id string, user_key string, event_date date",
    )
    history = history.unionByName(extra)
    keys = ["org_id", "user_key", "_d"]
    whole = _sorted(od.usage_days(history), keys)
    staged = _sorted(od.staged_usage_days(spark, history, str(tmp_path / "d"), 3), keys)
    assert staged == whole
    assert len(whole) > 8 * 5 and sum(r["n"] for r in whole) == history.count() - 1
