"""The interactions written once by user bucket (``score.interaction_buckets``) and read by
every bucketed step of score in place of a filtered read of the period per bucket.

- Each bucket of the copy holds exactly the rows the filtered read gives (a row without a
  user too), without silver's columns that nothing there reads (``NOT_COPIED``).
- The incentive step's cell-week and user-day tables and adoption's activity computed from
  the copy's buckets equal the same tables from filtered reads and from one aggregate.
"""

from __future__ import annotations

from datetime import timedelta

from builders import T0, interaction, make_interactions
from pyspark.sql import functions as F

from theater.buckets import UserParts, user_bucket
from theater.columns import output_unused
from theater.period import Period
from theater.stages import incentives, score
from theater.transforms import adoption as adopt

JULY = Period.parse(start="2026-07-01", end="2026-08-01")
N = 4


def _interactions(spark):
    rows, i = [], 0
    for u in range(10):  # 10 users of three orgs, 3 weeks, runs of one to three a day
        for day in range(0, 21, 2):
            for k in range(1 + (u + day) % 3):
                rows.append(
                    interaction(
                        i,
                        ts=T0 + timedelta(days=day, minutes=3 * k + u),
                        user_key=f"u{u}",
                        org_id=f"o{u % 3}",
                        output_disposition="discarded" if i % 4 == 0 else "accepted",
                        dwell_ms=1000 if i % 3 == 0 else 20000,
                    )
                )
                i += 1
    rows.append(interaction(i, ts=T0, user_key=None, org_id="o1"))  # no user
    frame = make_interactions(spark, rows)
    # silver's bookkeeping columns, which the copy leaves out
    return frame.select(
        "*", *[F.lit("x").alias(c) for c in ("_row_hash", "session_id", "_source_file")]
    )


def _rows(df, keys):
    return [r.asDict() for r in df.orderBy(*keys).collect()]


def test_each_bucket_of_the_copy_is_the_filtered_read(spark, tmp_path):
    rows = _interactions(spark)
    parts = score.interaction_buckets(spark, rows, N, str(tmp_path))
    kept = [c for c in rows.columns if c not in score.NOT_COPIED]
    assert "session_id" in rows.columns and "session_id" not in kept
    seen = 0
    for b in range(N):
        mine = rows.where(user_bucket(N) == b).select(*kept)
        part = parts.rows(b)
        if part is None:
            assert mine.count() == 0
            continue
        assert part.columns == kept
        assert _rows(part, ["event_id"]) == _rows(mine, ["event_id"])
        seen += part.count()
    assert seen == rows.count()
    # the user-less row is in one bucket, and ``where`` filters every bucket
    nulls = parts.where(F.col("user_key").isNull())
    assert sum(p.count() for b in range(N) if (p := nulls.rows(b)) is not None) == 1
    late = parts.where(F.col("event_ts") >= F.lit(T0 + timedelta(days=10)))
    assert (
        sum(p.count() for b in range(N) if (p := late.rows(b)) is not None)
        == rows.where(F.col("event_ts") >= F.lit(T0 + timedelta(days=10))).count()
    )


def test_incentive_tables_from_the_copy_equal_filtered_reads(spark, tmp_path):
    rows = _interactions(spark)
    parts = score.interaction_buckets(spark, rows, N, str(tmp_path / "copy"))
    cell = incentives.with_filler_cell(5000)
    celled = rows.transform(cell)
    celled_parts = UserParts(N, lambda b: parts.rows(b).transform(cell))
    keys = ["org_id", "user_key", "week_start", "_cell"]
    filtered = incentives.cell_week_table(spark, celled, str(tmp_path / "c1"), N)
    copied = incentives.cell_week_table(spark, celled, str(tmp_path / "c2"), N, celled_parts)
    one = incentives.cell_week_table(spark, celled, str(tmp_path / "c3"), 1)
    a, b, c = _rows(copied, keys), _rows(filtered, keys), _rows(one, keys)
    assert len(a) > 30 and a == b == c

    explained = output_unused(5000)
    day_rows = incentives.checkpoint_rows(rows, explained, None).where(
        F.col("org_id").isin("o0", "o2")
    )
    day_parts = incentives._day_parts(parts, explained, None, ["o0", "o2"])
    keys = ["org_id", "user_key", "event_date"]
    filtered = incentives.checkpoint_day_table(spark, day_rows, str(tmp_path / "d1"), N)
    copied = incentives.checkpoint_day_table(spark, day_rows, str(tmp_path / "d2"), N, day_parts)
    a, b = _rows(copied, keys), _rows(filtered, keys)
    assert len(a) > 30 and a == b
    assert {r["org_id"] for r in a} == {"o0", "o2"}
    # u0, day 0 ((0 + 0) % 3 = 0: one interaction, id 0, discarded and read 1 s): unused
    first = next(r for r in a if r["user_key"] == "u0" and r["event_date"] == T0.date())
    assert (first["_n"], first["n_unused"]) == (1.0, 1.0)


def test_adoption_activity_from_the_copy_equals_one_aggregate(spark, tmp_path):
    rows = _interactions(spark)
    parts = score.interaction_buckets(spark, rows, N, str(tmp_path / "copy"))
    keys = ["org_id", "user_key", "source_format", "day"]
    copied = adopt.staged_event_activity(rows, None, str(tmp_path / "a"), N, parts=parts.rows)
    one = adopt.event_activity(rows, None)
    a, b = _rows(copied, keys), _rows(one, keys)
    assert len(a) == 10 * 11  # a row per person-day; the user-less row is no person
    assert a == b
