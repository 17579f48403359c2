"""The labels' quota-bunching weight by filler cell, computed from the silver rows of the
bunched users alone (``incentives.filler_weights``) and from the window over every labelled
row: hand-made rows, cells and weights worked out by hand."""

from __future__ import annotations

from datetime import datetime

from pyspark.sql import functions as F

from theater.stages import incentives

#: cell = 8 (no evidence of use) + 4 (within 300 s of the user's previous or next row) + the
#: day group (0 Mon-Wed, 1 Thu, 2 Fri, 3 weekend)
CELLS = [("o1", 10, 12, 0.9), ("o1", 10, 0, 0.01), ("o1", 10, 6, 0.02), ("o1", 10, 14, 0.7)]

ROWS = [
    # a: Sunday 23:58 of an ordinary full week (weight 0); the next row's neighbour
    (1, "o1", "a", datetime(2026, 7, 5, 23, 58), "accepted", None),
    # a, bunched week: 180 s after row 1, nothing reported -> 8 + 4 + 0 = cell 12
    (2, "o1", "a", datetime(2026, 7, 6, 0, 1), None, None),
    # used, alone (row 4 is 600 s later) -> cell 0
    (3, "o1", "a", datetime(2026, 7, 8, 12, 0), "accepted", None),
    # no use, alone -> cell 8, no cell weight: the evidence split's 0.6
    (4, "o1", "a", datetime(2026, 7, 8, 12, 10), None, 1200),
    # Friday, 240 s before row 6: used -> 4 + 2 = cell 6; discarded -> 8 + 4 + 2 = cell 14
    (5, "o1", "a", datetime(2026, 7, 10, 9, 0), "accepted", None),
    (6, "o1", "a", datetime(2026, 7, 10, 9, 4), "discarded", 8000),
    (7, "o1", "b", datetime(2026, 7, 8, 12, 0), None, None),  # an ordinary full week: 0
    (8, "o1", "c", datetime(2026, 7, 8, 12, 0), None, None),  # a cut week: NA
    (9, "o1", None, datetime(2026, 7, 8, 12, 0), None, None),  # no user: NA
]


def _inputs(spark):
    inc = incentives.Incentives(max_dwell_ms=5000)
    inc.user_weeks = spark.createDataFrame(
        [
            ("o1", "a", datetime(2026, 6, 29).date(), 0.0, 0.0, 0.0, 10),
            ("o1", "a", datetime(2026, 7, 6).date(), 0.25, 0.6, 0.05, 10),
            ("o1", "b", datetime(2026, 7, 6).date(), 0.0, 0.0, 0.0, 10),
            ("o1", "c", datetime(2026, 7, 6).date(), None, None, None, 10),
        ],
        f"org_id string, user_key string, {incentives.WEEK} date, sig_quota_bunching double, "
        "_wq_no_use double, _wq_use double, _cz long",
    )
    inc.filler_cells = spark.createDataFrame(
        CELLS, "org_id string, _cz long, _cell int, _wc double"
    )
    rows = spark.createDataFrame(
        [("t", f"e{i}", *r) for i, *r in ROWS],
        "tool string, event_id string, org_id string, user_key string, event_ts timestamp, "
        "output_disposition string, dwell_ms long",
    )
    return inc, rows


EXPECTED = {
    "e1": 0.0,
    "e2": 0.9,
    "e3": 0.01,
    "e4": 0.6,
    "e5": 0.02,
    "e6": 0.7,
    "e7": 0.0,
    "e8": None,
    "e9": None,
}


def test_cell_weights_from_the_rows_equal_the_window_over_every_labelled_row(spark):
    inc, rows = _inputs(spark)
    # the labelled rows carry more columns than the silver rows they came from
    labelled = rows.withColumn("sig_other", F.lit(1.0))
    over_labels = incentives.apply(labelled, inc)
    from_rows = incentives.apply(labelled, inc, rows=rows)
    got = {r.event_id: r.sig_quota_bunching for r in from_rows.collect()}
    assert got == EXPECTED
    assert {r.event_id: r.sig_quota_bunching for r in over_labels.collect()} == EXPECTED
    assert sorted(from_rows.columns) == sorted(over_labels.columns)


def test_filler_weights_hold_the_weighted_rows_of_bunched_weeks_alone(spark):
    inc, rows = _inputs(spark)
    got = {r.event_id: r._wc for r in incentives.filler_weights(rows, inc).collect()}
    # row 1 is in an ordinary week, row 4's cell has no weight, b, c and the null user are
    # not bunched
    assert got == {"e2": 0.9, "e3": 0.01, "e5": 0.02, "e6": 0.7}
