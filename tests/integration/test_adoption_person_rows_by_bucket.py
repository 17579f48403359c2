"""Adoption's person rows aggregated one user bucket at a time from the staged activity.

- ``staged_person_rows`` over activity rows held by user bucket gives the rows of
  ``_person_rows`` over all of them (a person's distinct weeks and days, counts), worked out
  by hand for two people in different buckets.
- ``score._adoption_activity`` with a staging folder and user-day aggregates (the activity
  written by user bucket): the same rows as the one-plan ``combined`` activity, whole and
  bucket by bucket, and the same person rows.
"""

from __future__ import annotations

from datetime import date, timedelta

from builders import T0, interaction, make_interactions

from theater.buckets import UserParts, bucket_of, read_bucket, user_bucket, write_partitioned
from theater.stages import score
from theater.transforms import adoption as adopt

N = 3
MON = T0.date()  # Monday 6 July 2026
ACTIVITY = (
    "org_id string, user_key string, source_format string, day date, period_days int, "
    "active int, requests long, accepted long, offered long, auto_active int, "
    "auto_requests long, cost double, cost_vendor int, cost_priced int, cost_converted int, "
    "cost_unconverted int, own_elsewhere int, auto_elsewhere int"
)


def _users_in_two_buckets(spark) -> tuple[str, str]:
    """Two user keys that hash to different buckets of ``N``."""
    keys = spark.createDataFrame([(f"p{i}",) for i in range(8)], "user_key string")
    by = {
        r.user_key: r.b
        for r in keys.select("user_key", bucket_of(N, "user_key").alias("b")).collect()
    }
    first = "p0"
    second = next(k for k, b in by.items() if b != by[first])
    return first, second


def _row(user, source, day, period_days=1, active=1, requests=1, auto_active=0):
    return (
        "o0", user, source, day, period_days, active, requests, requests, requests,
        auto_active, None, 0.5, 0, 1, 0, 0, 0, 0,
    )  # fmt: skip


def _activity(spark, a: str, b: str):
    rows = [
        # a, native: Monday and Tuesday of week 6 July in use, Monday 13 July automation only
        _row(a, "native", MON, requests=2),
        _row(a, "native", MON + timedelta(1)),
        _row(a, "native", MON + timedelta(7), active=0, requests=0, auto_active=1),
        # a, all: the same days, Tuesday twice (an event day and a user-day export's), and a
        # person-week row starting Sunday 19 July (its week: Monday 20 July)
        _row(a, "all", MON, requests=2),
        _row(a, "all", MON + timedelta(1)),
        _row(a, "all", MON + timedelta(1), requests=4),
        _row(a, "all", MON + timedelta(13), period_days=7, requests=3),
        # b: one day in week 6 July, two in week 13 July
        _row(b, "native", MON + timedelta(2)),
        _row(b, "native", MON + timedelta(7)),
        _row(b, "native", MON + timedelta(9), requests=5),
    ]
    return spark.createDataFrame(rows, ACTIVITY)


def _by_bucket(spark, activity, path) -> UserParts:
    write_partitioned(activity, user_bucket(N), path, append=False, files=N)
    return UserParts(N, lambda b: read_bucket(spark, path, b, activity.schema))


def _rows(df, keys):
    return [r.asDict() for r in df.orderBy(*keys).collect()]


PEOPLE = ["org_id", "source_format", "user_key"]


def test_person_rows_by_bucket_equal_one_aggregate(spark, tmp_path):
    a, b = _users_in_two_buckets(spark)
    activity = _activity(spark, a, b)
    parts = _by_bucket(spark, activity, str(tmp_path / "act"))
    assert sum(parts.rows(k) is not None for k in range(N)) == 2  # two buckets hold a person

    staged = adopt.staged_person_rows(parts, str(tmp_path / "people"))
    got = _rows(staged, PEOPLE)
    assert got == _rows(adopt._person_rows(activity), PEOPLE)
    figures = {
        (r["source_format"], r["user_key"]): (
            r["_active"], r["_weeks"], r["_days"], r["_weekly"], r["requests"], r["_auto_active"]
        )
        for r in got
    }  # fmt: skip
    # a, native: active; weeks with a use 6 July only (13 July is automation alone); days 6 and
    # 7 July; no person-week row; requests 2 + 1 + 0
    assert figures[("native", a)] == (1, 1, 2, None, 3, 1)
    # a, all: weeks 6 and 20 July; days 6 and 7 July (7 July counted once); requests
    # 2 + 1 + 4 + 3
    assert figures[("all", a)] == (1, 2, 2, 1, 10, 0)
    # b: weeks 6 and 13 July; days 8, 13 and 15 July; requests 1 + 1 + 5
    assert figures[("native", b)] == (1, 2, 3, None, 7, 0)
    assert len(got) == 3


def test_no_bucket_with_rows_gives_none(spark, tmp_path):
    empty = UserParts(N, lambda b: None)
    assert adopt.staged_person_rows(empty, str(tmp_path / "people")) is None


def test_an_empty_last_bucket_is_skipped(spark, tmp_path):
    a, b = _users_in_two_buckets(spark)
    activity = _activity(spark, a, b)
    parts = _by_bucket(spark, activity, str(tmp_path / "act"))
    more = UserParts(N + 1, lambda k: parts.rows(k) if k < N else None)
    staged = adopt.staged_person_rows(more, str(tmp_path / "people"))
    assert _rows(staged, PEOPLE) == _rows(adopt._person_rows(activity), PEOPLE)


def test_staged_activity_with_user_day_aggregates_equals_one_plan(spark, tmp_path):
    a, b = _users_in_two_buckets(spark)
    rows = [
        interaction(i, ts=T0 + timedelta(days=d, minutes=i), user_key=u, org_id="o0")
        for i, (u, d) in enumerate([(a, 0), (a, 1), (a, 1), (b, 2), (b, 9)])
    ]
    interactions = make_interactions(spark, rows)
    # user-day exports of another tool: a on 7 July, b on 20 July
    aggs = spark.createDataFrame(
        [
            ("o0", a, "github_copilot_users", MON + timedelta(1), 1, 1, 4, 2, 3, 0, None)
            + (None, 0, 0, 0, 0, 0, 0),
            ("o0", b, "github_copilot_users", MON + timedelta(14), 1, 1, 6, 1, 2, 0, None)
            + (None, 0, 0, 0, 0, 0, 0),
        ],
        ACTIVITY,
    )
    period_rows = interactions.where("event_ts >= '2026-07-01'")
    one = adopt.combined(adopt.event_activity(period_rows, None), aggs)
    staged, parts = score._adoption_activity(period_rows, None, aggs, str(tmp_path), N)
    # a's 7 July is an event day and a user-day export's: two ``all`` rows, told apart by
    # their requests
    keys = ["org_id", "user_key", "source_format", "day", "requests"]
    want = _rows(one, keys)
    # events: a on 2 days, b on 2 days; aggregates: 2 days; and each of those as ``all``
    assert len(want) == 12
    assert _rows(staged, keys) == want
    by_bucket = [parts.rows(k) for k in range(N)]
    in_buckets = [r for p in by_bucket if p is not None for r in _rows(p, keys)]
    assert sorted(in_buckets, key=lambda r: [r[k] for k in keys]) == want
    people = adopt.staged_person_rows(parts, str(tmp_path / "people"))
    assert _rows(people, PEOPLE) == _rows(adopt._person_rows(one), PEOPLE)
    # one bucket: no copy by bucket
    _, none = score._adoption_activity(period_rows, None, aggs, str(tmp_path / "one"), 1)
    assert none is None
    assert date(2026, 7, 20) in {r["day"] for r in want if r["user_key"] == b}
