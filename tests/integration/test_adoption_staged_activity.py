"""Adoption's person-day activity written once, by user bucket, then read by every figure.

- ``staged_event_activity`` aggregates one user bucket at a time and appends: the same rows
  as ``event_activity`` over the whole period (a row without a user is left out by both; empty
  buckets write nothing and break nothing), with a person-day's counts worked out by hand.
- ``score.adoption_frame`` with a staging folder (the score stage's path) gives the same
  gold/org_adoption rows as without one.
"""

from __future__ import annotations

import math
from datetime import date, timedelta

import pytest
from builders import T0, interaction, make_interactions

from theater.buckets import bucket_of
from theater.period import Period
from theater.stages import score
from theater.transforms import adoption as adopt

JULY = Period.parse(start="2026-07-01", end="2026-08-01")


def _interactions(spark):
    rows, i = [], 0
    for u in range(9):  # 9 users, three orgs, three weeks, one to three interactions a day
        for day in range(0, 21, 2):
            for k in range(1 + (u + day) % 3):
                rows.append(
                    interaction(
                        i,
                        ts=T0 + timedelta(days=day, minutes=17 * k + u),
                        user_key=f"u{u}",
                        org_id=f"o{u % 3}",
                        action="complete" if k == 1 else "chat",
                        output_disposition="rejected" if i % 5 == 0 else "accepted",
                    )
                )
                i += 1
    rows.append(interaction(i, ts=T0, user_key=None, org_id="o1"))  # no user: no person
    return make_interactions(spark, rows)


def _rows(df, keys):
    return [r.asDict() for r in df.orderBy(*keys).collect()]


def _same(a, b):
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, rel=1e-12)
    return a == b


def _equal(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x.keys() == y.keys()
        bad = {k: (x[k], y[k]) for k in x if not _same(x[k], y[k])}
        assert not bad, bad


def test_activity_by_bucket_equals_one_aggregate(spark, tmp_path):
    interactions = _interactions(spark)
    n = 16  # more buckets than users: some are empty
    used = {
        r.b
        for r in interactions.where("user_key is not null")
        .select(bucket_of(n, "user_key").alias("b"))
        .distinct()
        .collect()
    }
    assert 2 <= len(used) < n  # users split over several buckets, and some buckets empty

    staged = adopt.staged_event_activity(interactions, None, str(tmp_path / "act"), n)
    one = adopt.event_activity(interactions, None)
    keys = ["org_id", "user_key", "source_format", "day"]
    a, b = _rows(staged, keys), _rows(one, keys)
    assert len(a) == 9 * 11  # one row per person-day with a use; the user-less row is not one
    _equal(a, b)

    def day(user, d):
        return next(
            r for r in a if r["user_key"] == user and r["day"] == (T0 + timedelta(d)).date()
        )

    # u0, day 0: (0 + 0) % 3 = 0 -> one interaction, id 0 (a multiple of 5: rejected), a chat
    r = day("u0", 0)
    assert (r["active"], r["requests"], r["accepted"], r["offered"]) == (1, 1, 0, 1)
    # u0, day 2: (0 + 2) % 3 = 2 -> three, ids 1-3, all accepted; k = 1 is a pushed completion
    # (pushed: not a request)
    r = day("u0", 2)
    assert (r["active"], r["requests"], r["accepted"], r["offered"]) == (1, 2, 3, 3)


def test_adoption_frame_staged_equals_one_plan(spark, cfg, tmp_path):
    interactions = _interactions(spark)
    inputs = score.ScoreInputs(
        interactions=interactions,
        policies=spark.createDataFrame([], score.POLICY_SCHEMA),
        history=interactions.select("org_id", "user_key", "event_date"),
        work_items=None,
    )
    index = spark.createDataFrame(
        [("o0", False, None, 20.0, 10.0, 30.0), ("o1", False, None, 0.0, 0.0, 5.0)]
        + [("o2", True, "small_org", None, None, None)],
        "org_id string, suppressed boolean, suppression_reason string, "
        "theater_index double, ci_low double, ci_high double",
    )
    labels = score.labels_frame(interactions, JULY, cfg)
    plain = score.adoption_frame(inputs, index, JULY, cfg, "r", labels)
    staged = score.adoption_frame(
        inputs, index, JULY, cfg, "r", labels, staging=str(tmp_path / "s"), buckets=3
    )
    keys = ["org_id", "source_format"]
    a, b = _rows(staged, keys), _rows(plain, keys)
    assert {(r["org_id"], r["source_format"]) for r in a} >= {("o0", "all"), ("o1", "all")}
    _equal(a, b)
    assert (tmp_path / "s" / "adoption_activity").is_dir()  # the staged path really ran
    assert (tmp_path / "s" / "adoption_people").is_dir()  # the person rows by bucket too


def test_staged_with_seats_and_earlier_periods_equals_one_plan(spark, cfg, tmp_path):
    # The demo world's shape: seats (so days to first use and idle seats are computed) and
    # activity before the period (cohorts, first use). Days to first use unions the period's
    # activity with the earlier one and filters out the ``all`` rows; over a staged copy beside
    # its own literal ``all`` rows Sail 0.7.2 lost a column there ("No field named #2").
    # Ten people of one org (enough to publish), each with a native seat from 1 July; person u
    # first uses it on day 2 * (u % 3) after Monday 6 July, then every other day to day 20.
    rows, i = [], 0
    for u in range(10):
        for day in range(2 * (u % 3), 21, 2):
            ts = T0 + timedelta(days=day, minutes=u)
            rows.append(interaction(i, ts=ts, user_key=f"u{u}", org_id="o0"))
            i += 1
    interactions = make_interactions(spark, rows)
    # two of them used it in June too
    june = [interaction(900 + u, ts=T0 - timedelta(days=20), user_key=f"u{u}") for u in (0, 1)]
    seats = spark.createDataFrame(
        [
            ("native", "native", f"u{u}", None, None, date(2026, 7, 1), None, None, None)
            for u in range(10)
        ],
        "source_format string, tool string, user_key string, alias string, plan string, "
        "assigned_from date, assigned_to date, seen_on date, last_activity date",
    )
    inputs = score.ScoreInputs(
        interactions=interactions,
        policies=spark.createDataFrame([], score.POLICY_SCHEMA),
        history=interactions.select("org_id", "user_key", "event_date"),
        work_items=None,
        seats=seats,
        before_interactions=make_interactions(spark, [r | {"org_id": "o0"} for r in june]),
    )
    index = spark.createDataFrame(
        [("o0", False, None, 20.0, 10.0, 30.0)],
        "org_id string, suppressed boolean, suppression_reason string, "
        "theater_index double, ci_low double, ci_high double",
    )
    labels = score.labels_frame(interactions, JULY, cfg)
    plain = score.adoption_frame(inputs, index, JULY, cfg, "r", labels)
    keys = ["org_id", "source_format"]
    b = _rows(plain, keys)
    o0 = next(r for r in b if (r["org_id"], r["source_format"]) == ("o0", "all"))
    # days from 1 July to the first use: 5 (u0, u3, u6, u9), 7 (u1, u4, u7), 9 (u2, u5, u8);
    # the median of the ten is 7. Of the ten, u0 and u1 were active in June: eight are new
    assert o0["median_days_to_first_use"] == 7.0
    assert (o0["new_users"], o0["licensed_seats"]) == (8, 10)
    for n in (1, 3):
        staged = score.adoption_frame(
            inputs, index, JULY, cfg, "r", labels, staging=str(tmp_path / f"s{n}"), buckets=n
        )
        _equal(_rows(staged, keys), b)
    assert (tmp_path / "s3" / "adoption_activity").is_dir()
