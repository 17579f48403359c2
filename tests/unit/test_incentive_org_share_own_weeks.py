"""The quota top-ups' upper end read from the same users' own weeks
(``stages.incentives.own_week_topups``): a bunched user-week's top-up is at most the quota less
the mean of the user's weeks left below it; ``org_shares`` carries it in the interval's upper
end (the figure itself does not move)."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest

from theater.signals.quota_bunching import Estimate
from theater.stages.incentives import Incentives, org_shares, own_week_topups, wilson

START, END = date(2026, 7, 1), date(2026, 10, 1)


def _regime(quota, z_high, status="ok", weight=0.1):
    return Estimate("o1", quota, status, weight=weight, z_high=z_high)


def _weeks(rows):
    return pd.DataFrame(rows, columns=["user_key", "week_start", "n"])


def test_own_week_topups_by_hand():
    mon = [date(2026, 6, 29) + timedelta(weeks=k) for k in range(6)]  # mon[0] is cut by START
    rows = [
        # a: bunched 10 and 11 (cell [10, 11]); low weeks 4 and 6 (mean 5); 15 is above the
        # quota (not low); the cut week's 1 does not count: (10 - 5) + (10 - 5) = 10
        ("a", mon[0], 1),
        ("a", mon[1], 10),
        ("a", mon[2], 4),
        ("a", mon[3], 6),
        ("a", mon[4], 11),
        ("a", mon[5], 15),
        # b: only bunched weeks, no low week of its own: not known, absent
        ("b", mon[1], 10),
        ("b", mon[2], 11),
        # c: never bunched
        ("c", mon[1], 3),
        ("c", mon[2], 4),
        # d: 12 is above the cell, 9 is low: no bunched week
        ("d", mon[1], 9),
        ("d", mon[2], 12),
        # e: bunched at both quotas (20 in [20, 21], 10 in [10, 11]); low weeks are those
        # below the lower quota it bunched at (2 only): (20 - 2) + (10 - 2) = 26
        ("e", mon[1], 20),
        ("e", mon[2], 10),
        ("e", mon[3], 2),
        ("e", mon[4], 15),
    ]
    regimes = [_regime(10, 11), _regime(20, 21)]
    got = own_week_topups(_weeks(rows), regimes, (START, END))
    assert got == {"a": pytest.approx(10.0), "e": pytest.approx(26.0)}
    # without the period the cut week counts as a low week: a's mean (1 + 4 + 6) / 3
    loose = own_week_topups(_weeks(rows), regimes, None)
    assert loose["a"] == pytest.approx(2 * (10 - 11 / 3))
    # a regime that is not estimated or carries no weight bounds nothing
    assert own_week_topups(_weeks(rows), [_regime(10, 11, status="fit_failed")], None) == {}
    assert own_week_topups(_weeks(rows), [_regime(10, 11, weight=0.0)], None) == {}


def _org(n_users=4):
    # per user: Wed 1 Jul (cut week) 1; Mon 6 Jul 10 (bunched at quota 10); Mon 13 Jul 4;
    # Mon 20 Jul 6: usage 21, own-week top-up 10 - (4 + 6) / 2 = 5, weighted top-up 1
    days = [(date(2026, 7, 1), 1.0), (date(2026, 7, 6), 10.0)]
    days += [(date(2026, 7, 13), 4.0), (date(2026, 7, 20), 6.0)]
    users = [f"u{i}" for i in range(n_users)]
    dc = pd.DataFrame(
        [("o1", u, d, n, 0.0) for u in users for d, n in days],
        columns=["org_id", "user_key", "event_date", "n", "n_unused"],
    )
    usage = pd.DataFrame({"org_id": "o1", "user_key": users, "usage": 21.0, "filler": 1.0})
    return dc, usage


def test_org_share_upper_end_from_own_weeks_by_hand():
    dc, usage = _org()
    regimes = [_regime(10, 11)]
    # identical users: every replicate's ratio is the same, so the ends are exact.
    # figure F / usage = 1 / 21 (no calendar, no SE, no unmatched factor: z_low unknown);
    # upper end max(F, T) / usage = 5 / 21
    (s,) = org_shares(
        Incentives(bunching=regimes, day_counts=dc, period=(START, END)), usage, 200, 0.9, 1
    )
    assert s.share == pytest.approx(1 / 21, abs=1e-6)
    assert s.low == pytest.approx(1 / 21, abs=1e-6)
    assert s.high == pytest.approx(5 / 21, abs=1e-6)
    assert s.parts["filler_own_weeks"] == [pytest.approx(5 / 21, abs=1e-6)] * 2
    # without the user-day counts no replicate widens the interval (F / usage in each): the
    # Wilson interval of the share over the org's 4 users, and the same figure
    (t,) = org_shares(Incentives(bunching=regimes), usage, 200, 0.9, 1)
    assert t.share == s.share
    assert t.high == pytest.approx(wilson(1 / 21, 4, 0.9)[1], abs=1e-6)
    assert "filler_own_weeks" in t.parts and t.parts["filler_own_weeks"] == [0.0, 0.0]
    # own-week top-ups below the weighted ones do not lower the upper end: with F = 6 per user
    # every replicate's upper end is F / usage = 6 / 21, as without the days
    big = usage.assign(filler=6.0)
    (b,) = org_shares(
        Incentives(bunching=regimes, day_counts=dc, period=(START, END)), big, 200, 0.9, 1
    )
    (c,) = org_shares(Incentives(bunching=regimes), big, 200, 0.9, 1)
    assert b.share == c.share == pytest.approx(6 / 21, abs=1e-6)
    assert (b.low, b.high) == (c.low, c.high)
    assert b.parts["filler"] == c.parts["filler"] == [pytest.approx(6 / 21, abs=1e-6)] * 2
