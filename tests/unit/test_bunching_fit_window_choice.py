"""Quota bunching's fit with the excluded window chosen from the data
(``quota_bunching.fit_bunching``, ``choose_exclusion``) is the fit of the window whose bunched
mass B and missing mass M agree best (ties to 1e-6: the narrowest), the same as fitting each
window on its own and picking by hand; and the own-week top-ups do not depend on the order in
which the users' rows arrive (``incentives.own_week_topups``)."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from theater.signals.quota_bunching import Estimate, fit_bunching
from theater.stages.incentives import own_week_topups


def _fits(z, c, z_star, lo_max):
    return {
        lo: fit_bunching(z, c, z_star, order=2, exclude_below=lo, exclude_above=1)
        for lo in range(1, lo_max + 1)
    }


def test_chosen_window_is_the_best_single_window():
    # bins 1..19 around z* = 10: a flat 20 per bin, 12 missing below z* (bins 7-9: 4 each),
    # 12 extra at z* and z* + 1 (6 each)
    z = np.arange(1, 20, dtype=float)
    c = np.full(len(z), 20.0)
    c[(z >= 7) & (z <= 9)] -= 4
    c[(z >= 10) & (z <= 11)] += 6
    each = _fits(z, c, 10, 6)
    best = min(each, key=lambda lo: (round(abs(each[lo].B - each[lo].M), 6), lo))
    got = fit_bunching(
        z,
        c,
        10,
        order=2,
        exclude_below=1,
        exclude_above=1,
        choose_exclusion=True,
        max_exclude_below=6,
    )
    want = each[best]
    assert got.z_low == want.z_low == 10 - best
    for k in ("B", "M", "b", "c_hat_z", "n_bunch", "shortfall"):
        assert getattr(got, k) == getattr(want, k), k
    assert np.array_equal(got.counterfactual, want.counterfactual)
    # the flat level is recovered where the whole dip is excluded: B = 12 bunched, M = 12
    assert best == 3
    assert got.B == pytest.approx(12.0, abs=1e-9)
    assert got.M == pytest.approx(12.0, abs=1e-9)
    assert got.n_bunch == 52.0


def test_no_bin_at_the_quota_and_too_few_bins():
    z = np.array([1.0, 2.0, 3.0, 5.0, 6.0])
    assert fit_bunching(z, np.ones(5), 4, order=1, exclude_below=1, exclude_above=0) is None
    z = np.arange(8, 13, dtype=float)  # 5 bins, 3 excluded: 2 left for a 3-term polynomial
    assert fit_bunching(z, np.ones(5), 10, order=2, exclude_below=1, exclude_above=1) is None


def test_own_week_topups_rows_in_any_order():
    mon = [date(2026, 7, 6) + timedelta(weeks=k) for k in range(4)]
    rows = [
        ("b", mon[0], 10),  # b: bunched 10, low 2 and 4 (mean 3): 10 - 3 = 7
        ("a", mon[0], 11),  # a: bunched 11 (quota 10), low 6: 10 - 6 = 4
        ("b", mon[1], 2),
        ("a", mon[1], 6),
        ("c", mon[0], 3),  # c: never bunched
        ("b", mon[2], 4),
        ("a", mon[2], 12),  # above the cell: neither bunched nor low
    ]
    regimes = [Estimate("o1", 10, "ok", weight=0.1, z_high=11)]
    weeks = pd.DataFrame(rows, columns=["user_key", "week_start", "n"])
    want = {"a": 4.0, "b": 7.0}
    assert own_week_topups(weeks, regimes) == want
    assert own_week_topups(weeks.iloc[::-1].reset_index(drop=True), regimes) == want
    assert own_week_topups(weeks.iloc[:0], regimes) == {}
