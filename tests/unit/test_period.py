"""Period predicates: Spark columns, SQL text, pyarrow and pandas agree on the same rows.

Boundaries: start inclusive, end exclusive, in UTC; a timestamp one microsecond before the end
is inside, the end itself is not; an offset timestamp is compared by its UTC instant.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pytest

from theater.period import Period, PeriodError

P = Period(date(2026, 7, 1), date(2026, 10, 1))

# (timestamp as naive UTC, inside?) worked out by hand from the boundaries above
TS_CASES = [
    (datetime(2026, 6, 30, 23, 59, 59, 999999), False),
    (datetime(2026, 7, 1, 0, 0, 0), True),
    (datetime(2026, 8, 15, 12, 0, 0), True),
    (datetime(2026, 9, 30, 23, 59, 59, 999999), True),
    (datetime(2026, 10, 1, 0, 0, 0), False),
    (datetime(2027, 1, 1), False),
]
DATE_CASES = [
    (date(2026, 6, 30), False),
    (date(2026, 7, 1), True),
    (date(2026, 9, 30), True),
    (date(2026, 10, 1), False),
]


def test_quarter_label_previous_and_days():
    assert Period.quarter("2026Q3") == P
    assert P.label == "2026Q3" and P.days == 92
    assert P.previous() == Period(date(2026, 4, 1), date(2026, 7, 1))
    assert Period.quarter("2026Q1").previous() == Period.quarter("2025Q4")
    odd = Period(date(2026, 7, 1), date(2026, 7, 8))
    assert odd.label == "2026-07-01_2026-07-08" and odd.quarter_label is None
    assert odd.previous() == Period(date(2026, 6, 24), date(2026, 7, 1))
    # a period the length of a quarter but not aligned is not a quarter
    assert Period(date(2026, 7, 2), date(2026, 10, 2)).quarter_label is None


@pytest.mark.parametrize("bad", ["9999Q4", "0001Q1", "2026Q5", "26Q1", ""])
def test_implausible_or_malformed_quarters_are_usage_errors(bad):
    with pytest.raises(PeriodError):
        Period.quarter(bad)


def test_end_must_follow_start():
    with pytest.raises(PeriodError):
        Period.parse(start="2026-07-02", end="2026-07-01")
    with pytest.raises(PeriodError):
        Period.parse(quarter="2026Q3", start="2026-07-01")


def test_pandas_timestamps_and_dates():
    naive = pd.Series([t for t, _ in TS_CASES], dtype="datetime64[us]")
    assert P.pandas_mask(naive).tolist() == [inside for _, inside in TS_CASES]
    # the same instants written with a +02:00 offset are the same instants
    aware = naive.dt.tz_localize("UTC").dt.tz_convert(timezone(timedelta(hours=2)))
    assert P.pandas_mask(aware).tolist() == [inside for _, inside in TS_CASES]
    dates = pd.Series([d for d, _ in DATE_CASES], dtype=object)
    assert P.pandas_mask(dates).tolist() == [inside for _, inside in DATE_CASES]


def test_arrow_date_and_matches():
    t = pa.table(
        {
            "d": pa.array([d for d, _ in DATE_CASES], pa.date32()),
            "period_start": pa.array([P.start, P.start, P.previous().start, P.start], pa.date32()),
            "period_end": pa.array(
                [P.end, date(2026, 9, 30), P.previous().end, P.end], pa.date32()
            ),
        }
    )
    d = ds.dataset(t)
    assert d.to_table(filter=P.arrow_date("d"))["d"].to_pylist() == [
        date(2026, 7, 1),
        date(2026, 9, 30),
    ]
    assert d.to_table(filter=P.arrow_matches()).num_rows == 2


def test_sql_rejects_non_identifiers():
    with pytest.raises(PeriodError):
        P.ts_sql("event_ts; DROP TABLE x")
    assert P.date_sql("event_date") == (
        "event_date >= DATE '2026-07-01' AND event_date < DATE '2026-10-01'"
    )


def test_spark_column_sql_and_pandas_agree(spark):
    rows = [(i, t, t.date()) for i, (t, _) in enumerate(TS_CASES)]
    df = spark.createDataFrame(rows, "i int, ts timestamp, d date")
    want = [i for i, (_, inside) in enumerate(TS_CASES) if inside]
    by_col = sorted(r.i for r in df.where(P.ts_col("ts")).collect())
    df.createOrReplaceTempView("period_cases")
    by_sql = sorted(
        r.i for r in spark.sql(f"SELECT i FROM period_cases WHERE {P.ts_sql('ts')}").collect()
    )
    by_pandas = [
        i
        for i, m in enumerate(
            P.pandas_mask(pd.Series([t for t, _ in TS_CASES], dtype="datetime64[us]"))
        )
        if m
    ]
    assert by_col == by_sql == by_pandas == want
    want_d = sorted(i for i, (t, _) in enumerate(TS_CASES) if P.contains_date(t.date()))
    assert sorted(r.i for r in df.where(P.date_col("d")).collect()) == want_d
    assert (
        sorted(
            r.i for r in spark.sql(f"SELECT i FROM period_cases WHERE {P.date_sql('d')}").collect()
        )
        == want_d
    )
