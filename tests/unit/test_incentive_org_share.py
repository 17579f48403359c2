"""The org-level incentive share from the aggregate excess (``stages.incentives.org_shares``,
``checkpoint_burst.excess_replicates``): hand-worked figures on tiny arrays, and a seeded
simulation in which review bursts that look like genuine work (per interaction they cannot be
told apart) must still be covered by the org's 90% interval."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from theater.signals import checkpoint_burst as cb
from theater.signals.quota_bunching import Estimate
from theater.stages.incentives import Incentives, org_shares

START, END = date(2026, 7, 1), date(2026, 10, 1)


def test_excess_by_hand():
    # two users, two window days, two ordinary days at 1 a day each: the counterfactual is 2
    # interactions a window day for the org, 4 over the window; observed 6 + 4 -> excess 6
    window = np.array([6.0, 4.0])
    ordinary = np.array([[1.0, 1.0], [1.0, 1.0]])
    a, b = np.ones((5, 2)), np.ones((5, 2))
    e, reps, sd = cb.excess_replicates(window, ordinary, 2, a, b, np.random.default_rng(0))
    assert e == pytest.approx(6.0)
    # unit weights reproduce the point; the day totals do not vary: no common shock
    assert reps == pytest.approx([6.0] * 5)
    assert sd == 0.0


def test_excess_replicate_reweights_users_and_days():
    window = np.array([6.0, 4.0])
    # day totals 2, 6, 4 (variance 4); each user's own days 1, 3, 2 (variance 1 each)
    ordinary = np.array([[1.0, 3.0, 2.0], [1.0, 3.0, 2.0]])
    a = np.array([[2.0, 0.0]])  # user 0 twice, user 1 dropped
    b = np.array([[1.0, 0.0, 0.0]])  # only the first ordinary day
    _, reps, sd = cb.excess_replicates(window, ordinary, 2, a, b, np.random.default_rng(0))
    # common shock variance 4 - (1 + 1) = 2
    assert sd == pytest.approx(np.sqrt(2.0))
    # 2 * 6 - 2 * (2 * 1) = 8, plus a N(0, 2 window days * 2) shock
    shock = np.random.default_rng(0).normal(0.0, 2.0, 1)
    assert reps == pytest.approx(8.0 + shock)


def _org(seed: int, users: int = 80, burst: float = 0.6, crunch: bool = True):
    """One org-quarter: user-day counts on working days, a review with bursts over a 1-5 day
    lead (rising towards it), some users bursting; optionally a team-wide crunch on 4 ordinary
    days. Returns (calendar, day counts, usage per user, planted burst share)."""
    rng = np.random.default_rng(seed)
    review = date(2026, 8, 20 + int(rng.integers(0, 8)))
    cal = cb.lead_calendar(["o1"], [("o1", review)], START, END, 3, cb.MAX_LEAD_DAYS)["o1"]
    days = sorted(cal)
    lead = int(rng.integers(1, 6))
    lam = np.exp(rng.normal(np.log(3.0), 0.6, users))
    counts = rng.poisson(lam[:, None] * np.ones(len(days)))
    if crunch:
        ordinary = [i for i, d in enumerate(days) if cal[d][0] == "ordinary"]
        j = int(rng.integers(0, len(ordinary) - 4))
        for i in ordinary[j : j + 4]:
            counts[:, i] += rng.poisson(lam)
    bursts = np.zeros_like(counts)
    who = rng.random(users) < burst
    window = [i for i, d in enumerate(days) if cal[d][0] == "window" and cal[d][1] <= lead]
    ramp = np.array([lead - cal[days[i]][1] + 1.0 for i in window])
    ramp /= ramp.sum()
    for k, i in enumerate(window):
        bursts[who, i] = rng.poisson(lam[who] * 2.5 * ramp[k])
    total = counts + bursts
    keys = [f"u{u}" for u in range(users)]
    rows = [
        ("o1", keys[u], days[i], float(total[u, i]))
        for u in range(users)
        for i in range(len(days))
        if total[u, i]
    ]
    dc = pd.DataFrame(rows, columns=["org_id", "user_key", "event_date", "n"])
    usage = pd.DataFrame(
        {"org_id": "o1", "user_key": keys, "usage": total.sum(1).astype(float), "filler": np.nan}
    )
    return cal, dc, usage, bursts.sum() / total.sum()


def test_interval_covers_planted_bursts():
    covered, widths = [], []
    for seed in range(40):
        cal, dc, usage, planted = _org(seed)
        inc = Incentives(calendar={"o1": cal}, day_counts=dc)
        (s,) = org_shares(inc, usage, 200, 0.9, seed)
        assert s.low <= s.share <= s.high and s.filler == 0.0
        covered.append(s.low <= planted <= s.high)
        widths.append(s.high - s.low)
    assert np.mean(covered) >= 0.85, f"coverage {np.mean(covered):.2f}"
    # and not by being uninformative: a few points wide
    assert np.mean(widths) <= 0.05, f"mean width {np.mean(widths):.3f}"


def test_no_burst_covers_zero_and_reaches_it():
    covered = 0
    for seed in range(20):
        cal, dc, usage, planted = _org(seed, burst=0.0)
        assert planted == 0.0
        (s,) = org_shares(Incentives(calendar={"o1": cal}, day_counts=dc), usage, 200, 0.9, seed)
        covered += s.low == 0.0  # clipped at 0: the interval reaches zero
    assert covered >= 17


def test_quota_top_ups_and_not_measurable():
    # top-ups from the bunching weights: 2 users x 10 usage x w_q 0.3 = 6 of 40; the regime's
    # excess has a 10% bootstrap SE, so the interval is about +-16% of the point, not zero-width
    usage = pd.DataFrame(
        {
            "org_id": ["q", "q", "q", "q", "none"],
            "user_key": ["a", "b", "c", "d", "e"],
            "usage": [10.0, 10.0, 10.0, 10.0, 5.0],
            "filler": [3.0, 3.0, 0.0, 0.0, np.nan],
        }
    )
    regime = Estimate("q", 20, "ok", B=50.0, se=5.0, weight=0.3)
    inc = Incentives(bunching=[regime])
    by = {s.org_id: s for s in org_shares(inc, usage, 400, 0.9, 3)}
    assert by["q"].share == pytest.approx(6 / 40)
    assert by["q"].filler == pytest.approx(6 / 40) and by["q"].burst == 0.0
    assert by["q"].low < by["q"].share < by["q"].high
    # an org with neither a quota nor a review: not measurable, not 0
    assert by["none"].share is None and by["none"].low is None


def test_unestimated_regime_is_na_and_no_zero_width():
    usage = pd.DataFrame(
        {
            "org_id": ["na", "na", "flat", "flat"],
            "user_key": ["a", "b", "c", "d"],
            "usage": [10.0, 10.0, 10.0, 10.0],
            "filler": [np.nan, np.nan, 0.0, 0.0],
        }
    )
    inc = Incentives(
        bunching=[
            Estimate("na", 20, "insufficient_sample"),
            Estimate("flat", 20, "ok", B=1.0, se=2.0, weight=0.0),  # not significant
        ]
    )
    by = {s.org_id: s for s in org_shares(inc, usage, 200, 0.9, 0)}
    # a quota in force whose bunching is not estimated: the top-ups are unknown, not 0
    assert by["na"].share is None
    # no weight and no replicate moves: 0 is not exact, so the Wilson interval over 2 users
    # (z = 1.645: upper bound z^2 / (n + z^2) = 2.706 / 4.706)
    assert by["flat"].share == 0.0 and by["flat"].low == 0.0
    assert by["flat"].high == pytest.approx(2.706 / 4.706, abs=1e-3)


def test_unmatched_excess_widens_only_the_upper_limit():
    from theater.stages.incentives import _unmatched_factor

    # by hand: excess B = 100 user-weeks, missing mass found in [16, 20) M = 60: 40% of the
    # excess came from below zL = 16; mean gap counted (20 - 16) / 2 = 2, up to 16 more each:
    # 0.4 * 16 / 2 = 3.2 times the counted top-ups
    e = Estimate("q", 20, "ok", B=100.0, M=60.0, se=0.0, z_low=16, weight=0.2)
    assert _unmatched_factor([e], 1.645) == pytest.approx(3.2)
    matched = Estimate("q", 20, "ok", B=100.0, M=120.0, se=0.0, z_low=16, weight=0.2)
    assert _unmatched_factor([matched], 1.645) == 0.0
    usage = pd.DataFrame(
        {"org_id": "q", "user_key": list("abcd"), "usage": 10.0, "filler": [3.0, 3.0, 0, 0]}
    )
    wide = org_shares(Incentives(bunching=[e]), usage, 400, 0.9, 3)[0]
    tight = org_shares(Incentives(bunching=[matched]), usage, 400, 0.9, 3)[0]
    assert wide.share == tight.share == pytest.approx(6 / 40)
    assert wide.low == tight.low and wide.high > 2 * tight.high
