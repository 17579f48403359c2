"""Generator variation knobs (theater.synth.variation): the truth stays right under each."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from theater.synth import Variation
from theater.synth.steps import simulate_rows
from theater.synth.vocab import QUOTA_FILLER
from theater.synth.world import World

START, END = date(2026, 7, 1), date(2026, 10, 1)


def _world(var: Variation, seed: int = 5, n_orgs: int = 8, n_users: int = 600):
    rng = np.random.default_rng(seed)
    world = World(rng, n_orgs, n_users, START, END, 1.0, var, np.random.default_rng([seed, 13]))
    rows = simulate_rows(world, rng, lambda m: None)
    return world, rows


def _fillers_at_quota(world: World, rows: dict) -> np.ndarray:
    """Per filler row: does its user-week land at the quota in force (Q or Q + 1)?"""
    day = rows["ts"] // 86400
    wk = (day - world.week_start[0]) // 7
    counts = np.bincount(rows["user"] * world.n_weeks + wk, minlength=world.n_users * world.n_weeks)
    f = rows["mech"] == QUOTA_FILLER
    u, w = rows["user"][f], wk[f]
    org = world.org_at(u, world.week_start[w])
    q = world.quota_wk[org, w]
    c = counts[u * world.n_weeks + w]
    return (q > 0) & ((c == q) | (c == q + 1))


def test_changed_quotas_move_the_level_fillers_land_at():
    world, rows = _world(Variation(quota_levels=(8, 12, 30), quota_change=1.0, quota_share=0.5))
    changed = [
        o for o in range(world.n_orgs) if len({r[3] for r in world.quota_rows if r[0] == o}) > 1
    ]
    assert len(changed) >= 2
    assert {r[3] for r in world.quota_rows} <= {8, 12, 30, 10, 15}  # 10 -> 15: the standard raise
    at = _fillers_at_quota(world, rows)
    assert len(at) > 100 and at.all()
    # fillers on both sides of a change, each at its own level
    day = rows["ts"] // 86400
    f = rows["mech"] == QUOTA_FILLER
    for o in changed:
        (mid,) = {r[2] for r in world.quota_rows if r[0] == o and r[2] is not None}
        org_f = f & (world.org_at(rows["user"], day) == o)
        assert (org_f & (day < mid)).any() and (org_f & (day >= mid)).any()


def test_no_quota_anywhere_means_no_fillers():
    world, rows = _world(Variation(quota_share=0.0))
    assert not world.has_quota.any() and not world.quota_rows
    assert not (rows["mech"] == QUOTA_FILLER).any()


def test_fillers_only_in_orgs_with_a_quota_that_week():
    world, rows = _world(Variation(quota_share=0.15, rate_sigma=1.0))
    at = _fillers_at_quota(world, rows)
    assert len(at) and at.all()


def test_holiday_weeks_have_people_away_and_no_filling_by_them():
    world, rows = _world(Variation(holiday_weeks=2, holiday_away=0.8, quota_share=0.5))
    assert world.holiday.sum() == 2 and not world.holiday[~world.full_week].any()
    assert world.away[:, ~world.holiday].sum() == 0
    assert world.away[:, world.holiday].mean() == pytest.approx(0.8, abs=0.05)
    day = rows["ts"] // 86400
    wk = (day - world.week_start[0]) // 7
    f = rows["mech"] == QUOTA_FILLER
    assert not world.away[rows["user"][f], wk[f]].any()
    per_week = np.bincount(wk, minlength=world.n_weeks)
    normal = per_week[world.full_week & ~world.holiday].mean()
    assert (per_week[world.holiday] < 0.5 * normal).all()  # 80% away at a tenth of their rate


def test_filler_detectability_knob_sets_the_unused_share():
    from theater.synth.vocab import O_TH_UNUSED

    _, rows = _world(Variation(filler_unused=0.3, quota_share=0.5))
    f = rows["mech"] == QUOTA_FILLER
    assert f.sum() > 300
    assert (rows["out"][f] == O_TH_UNUSED).mean() == pytest.approx(0.3, abs=0.06)


def test_activity_heterogeneity_widens_the_rate_spread():
    narrow, _ = _world(Variation())
    wide, _ = _world(Variation(rate_sigma=1.0))
    ok = ~narrow.heavy & ~wide.heavy & (narrow.org_role[narrow.org1] == "regular")
    assert np.log(wide.rate[ok]).std() > 1.6 * np.log(narrow.rate[ok]).std()


def test_bad_knobs_are_refused():
    with pytest.raises(ValueError, match="quota_share"):
        Variation(quota_share=1.5)
    with pytest.raises(ValueError, match="quota_levels"):
        Variation(quota_levels=(1,))
