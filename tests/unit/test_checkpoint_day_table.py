"""The checkpoint estimates read from the per-user-day sums written once equal those read from
the period's rows: the same estimates, leads, tilts, weights and org-share day counts."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest

from theater.config import CheckpointBurst
from theater.signals import checkpoint_burst
from theater.stages import incentives

CB = CheckpointBurst(enabled=True, working_days_before=3, min_users=5, min_z=1.645)
START, END = date(2026, 7, 1), date(2026, 8, 1)
REVIEW = date(2026, 7, 29)


def _rows(spark):
    # 10 users, 2 interactions a working day (one row each: several rows per user-day);
    # u0-u4 burst before the review, part of it with unused outputs (explained), part not
    # known (null); a user-day aggregate unit of 3 requests; a user with no key; another org
    # with no calendar
    extra = {date(2026, 7, 28): 4, **{date(2026, 7, d): 2 for d in (27, 24, 23, 22)}}
    out, d = [], START
    while d < END:
        if d.weekday() < 5:
            for u in range(10):
                out += [("o1", f"u{u}", d, 1.0, False), ("o1", f"u{u}", d, 1.0, None)]
                if u < 5 and d in extra:
                    out += [("o1", f"u{u}", d, 1.0, True)] * (extra[d] // 2)
                    out += [("o1", f"u{u}", d, 1.0, None)] * (extra[d] // 2)
            out.append(("o2", "v1", d, 1.0, True))
        d += timedelta(days=1)
    out += [("o1", "u9", date(2026, 7, 28), 3.0, None), ("o1", None, date(2026, 7, 28), 1.0, True)]
    return spark.createDataFrame(
        out, "org_id string, user_key string, event_date date, _n double, _explained boolean"
    )


def _estimates(spark, src, cal):
    inc = incentives.Incentives()
    incentives.checkpoint_estimates(spark, inc, src, cal, CB)
    weights = sorted(
        (r.org_id, r.user_key or "", r.event_date, r.sig_checkpoint_burst)
        for r in inc.checkpoint.collect()
    )
    return [vars(e) for e in inc.checkpoints], inc.checkpoint_orgs, weights


@pytest.mark.parametrize("buckets", [1, 3])
def test_the_day_table_gives_the_estimates_of_the_rows(spark, tmp_path, buckets):
    rows = _rows(spark)
    cal = checkpoint_burst.lead_calendar(["o1", "o2"], [("o1", REVIEW)], START, END, 3, 6)
    assert set(cal) == {"o1"}
    table = incentives.checkpoint_day_table(spark, rows, str(tmp_path / "days"), buckets)
    by_day = {
        (r.org_id, r.user_key, r.event_date): (r._n, r._n_rest, r.n_unused) for r in table.collect()
    }
    # u0 on Tue 28 July: 2 + 4 rows, of which 2 explained (unused)
    assert by_day[("o1", "u0", date(2026, 7, 28))] == (6.0, 4.0, 2.0)
    # u9 that day: its 2 rows and the aggregate unit of 3 (not explained)
    assert by_day[("o1", "u9", date(2026, 7, 28))] == (5.0, 5.0, 0.0)
    assert by_day[("o1", None, date(2026, 7, 28))] == (1.0, 0.0, 1.0)
    # a row per user-day: o1's 10 users on 23 working days, the keyless one's day, o2's user
    assert len(by_day) == 10 * 23 + 1 + 23
    from_rows = _estimates(spark, rows, cal)
    from_table = _estimates(spark, table, cal)
    assert from_table == from_rows
    (e,) = from_rows[0]
    # the burst is measured: leads 1-5 (the rows' own figures, worked out in
    # test_incentive_cells_leads with the same shape)
    assert e["status"] == "ok" and e["leads"] == [1, 2, 3, 4, 5]


def test_the_day_table_gives_the_org_shares_day_counts(spark, tmp_path):
    rows = _rows(spark)
    table = incentives.checkpoint_day_table(spark, rows, str(tmp_path / "days"), 2)
    for n in (1, 3):
        a = pd.concat(list(incentives.day_chunks(rows, n)()), ignore_index=True)
        b = pd.concat(list(incentives.table_chunks(table, n)()), ignore_index=True)
        key = ["org_id", "user_key", "event_date"]
        a = a.sort_values(key, na_position="first").reset_index(drop=True)
        b = b.sort_values(key, na_position="first").reset_index(drop=True)
        pd.testing.assert_frame_equal(a[list(b.columns)], b, check_exact=True)
