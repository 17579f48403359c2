"""The filler cells' counts read only the rows of users with a row in an org that has a quota
(``incentives.quota_users_rows``): hand-made rows and policies."""

from __future__ import annotations

from datetime import date, datetime

from theater.stages import incentives

POLICY = "org_id string, kind string, start_date date, end_date date, weekly_quota bigint"
ROWS = [
    (1, "q1", "a"),  # a has a row in the quota org ...
    (2, "o2", "a"),  # ... so all of a's rows are kept: the sitting window is per user
    (3, "o2", "b"),  # b never uses a quota org: left out
    (4, "q1", None),  # rows without a user share one partition: kept with it
    (5, "o2", None),
    (6, "o3", "c"),  # an org with a checkpoint policy only: left out
]


def _rows(spark):
    return spark.createDataFrame(
        [(i, o, u, datetime(2026, 7, 6, 12)) for i, o, u in ROWS],
        "id int, org_id string, user_key string, event_ts timestamp",
    )


def _ids(df) -> set[int]:
    return {r.id for r in df.collect()}


def test_rows_of_users_seen_in_a_quota_org_all_of_them(spark):
    policies = spark.createDataFrame(
        [
            ("q1", "quota", date(2026, 5, 1), None, 20),
            ("o3", "checkpoint", date(2026, 7, 1), None, None),
        ],
        POLICY,
    )
    assert _ids(incentives.quota_users_rows(_rows(spark), policies)) == {1, 2, 4, 5}


def test_every_row_when_a_quota_names_every_org_or_none_is_set(spark):
    rows = _rows(spark)
    everyone = spark.createDataFrame([("*", "quota", date(2026, 5, 1), None, 20)], POLICY)
    assert _ids(incentives.quota_users_rows(rows, everyone)) == {1, 2, 3, 4, 5, 6}
    none = spark.createDataFrame([("o3", "checkpoint", date(2026, 7, 1), None, None)], POLICY)
    assert _ids(incentives.quota_users_rows(rows, none)) == {1, 2, 3, 4, 5, 6}
