"""Where in a bunched week the fillers are (cell split) and how long before a review the burst
starts (leads read from the data): hand-made figures, expected values worked out by hand."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from theater.config import CheckpointBurst
from theater.signals import checkpoint_burst, quota_bunching
from theater.signals.checkpoint_burst import Lead
from theater.stages import incentives

CB = CheckpointBurst(enabled=True, working_days_before=3, min_users=5, min_z=1.645)
START, END = date(2026, 7, 1), date(2026, 8, 1)


def test_cell_split_moves_the_weight_onto_the_cells_with_the_excess():
    # bunched weeks: 600 rows in cell 0, 400 in cell 1; other weeks 8000 / 2000; w = 0.2.
    # f_1 = (0.4 - 0.8 x 0.2) / 0.2 = 1.2 -> all fillers in cell 1 (f_0 < 0 -> 0): p_1 =
    # 0.2 x 1 / 0.4 = 0.5, p_0 = 0; 0.6 x 0 + 0.4 x 0.5 = 0.2 = w
    got = quota_bunching.cell_split(0.2, {0: 600, 1: 400}, {0: 8000, 1: 2000}, 0.0)
    assert got == {0: pytest.approx(0.0), 1: pytest.approx(0.5)}


def test_cell_split_without_a_significant_excess_spreads_like_genuine_usage():
    # nothing significant: the fillers go over the cells as the other weeks' rows do (g):
    # p_0 = 0.2 x 0.8 / 0.6, p_1 = 0.2 x 0.2 / 0.4; still 0.6 p_0 + 0.4 p_1 = 0.2
    got = quota_bunching.cell_split(0.2, {0: 600, 1: 400}, {0: 8000, 1: 2000}, 100.0)
    assert got[0] == pytest.approx(0.16 / 0.6, abs=1e-6) and got[1] == pytest.approx(0.1)


def test_cell_split_needs_both_samples_and_a_weight():
    assert quota_bunching.cell_split(0.2, {0: 100, 1: 50}, {0: 8000, 1: 2000}, 0.0) == {}
    assert quota_bunching.cell_split(0.0, {0: 600, 1: 400}, {0: 8000, 1: 2000}, 0.0) == {}


def test_the_cells_bound_the_fillers_share_from_below():
    b, g = {0: 600, 1: 400}, {0: 8000, 1: 2000}
    # cell 1 has the excess: w >= (0.4 - 0.2) / (1 - 0.2) = 0.25
    assert quota_bunching.cells_lower_bound(b, g, 0.0) == pytest.approx(0.25)
    # less min_z standard errors: se = sqrt(0.4 x 0.6 / 1000 + 0.2 x 0.8 / 10000) = 0.016
    assert quota_bunching.cells_lower_bound(b, g, 1.645) == pytest.approx(
        (0.2 - 1.645 * 0.016) / 0.8
    )
    assert quota_bunching.cells_lower_bound({0: 800, 1: 200}, g, 1.645) == 0.0  # no excess
    assert quota_bunching.cells_lower_bound({0: 60, 1: 40}, g, 0.0) == 0.0  # too few rows


def test_with_cells_uses_the_raised_weight_and_skips_unmeasured_regimes():
    ok = quota_bunching.Estimate("o1", 10, "ok", weight=0.1, weight_evidence=0.2)
    na = quota_bunching.Estimate("o2", 10, "insufficient_sample")
    flat = quota_bunching.Estimate("o3", 10, "ok", weight=0.0, weight_evidence=0.0)
    rates = {
        ("o1", 10): {True: {0: 600, 1: 400}, False: {0: 8000, 1: 2000}},
        ("o3", 10): {True: {0: 600, 1: 400}, False: {0: 8000, 1: 2000}},
    }
    quota_bunching.with_cells([ok, na, flat], rates, 0.0)
    # w = max(0.1, 0.2, cells bound 0.25): f_1 = (0.4 - 0.75 x 0.2) / 0.25 = 1, p_1 = 0.25 / 0.4
    assert ok.weight_cells == pytest.approx(0.25)
    assert ok.cell_weights == {0: pytest.approx(0.0), 1: pytest.approx(0.625)}
    # no split where the regime is NA or its bunching is not significant
    assert na.cell_weights == {} and flat.cell_weights == {}
    # the no-use marginal of the cells (bit 8) is the evidence split's input
    assert quota_bunching.no_use_rates({("o1", 10): {True: {0: 5, 8: 3, 12: 2}}}, 8) == {
        ("o1", 10): {True: (10, 5)}
    }


def test_lead_calendar_numbers_the_working_days_before_each_checkpoint():
    cal = checkpoint_burst.lead_calendar(
        ["o1", "o2"], [("o1", date(2026, 7, 16))], START, END, 3, 6
    )
    assert set(cal) == {"o1"}  # o2 has no checkpoint: NA
    m = cal["o1"]
    # Thursday 16 July: Wed 15 is lead 1 ... back over the weekend to Wed 8 (lead 6)
    assert [m[date(2026, 7, d)] for d in (15, 14, 13, 10, 9, 8)] == [
        ("window", p) for p in range(1, 7)
    ]
    assert m[date(2026, 7, 16)] == ("after", None) and m[date(2026, 7, 20)] == ("after", None)
    assert m[date(2026, 7, 7)] == ("ordinary", None) and m[date(2026, 7, 21)] == ("ordinary", None)
    assert date(2026, 7, 11) not in m  # weekend


def _lead(p, excess, se, obs, rest_obs, rest_excess):
    # ordinary days: 1000 rows, none explained by a flag
    return Lead("o1", p, 1, obs, excess, se, rest_obs, rest_excess, 1000.0, 1000.0)


def test_kept_leads_extend_the_window_while_each_lead_is_significant_and_unused():
    prof = {
        1: _lead(1, 20, 8, 40, 30, 10),
        2: _lead(2, 0, 8, 30, 30, 0),  # inside the configured window: kept whatever its excess
        3: _lead(3, 10, 4, 30, 25, 5),
        4: _lead(4, 10, 4, 30, 25, 5),  # z = 2.5; 5 of 30 unused (z = 2.45 against 0)
        5: _lead(5, 5, 4, 30, 25, 5),  # z = 1.25: stops here
        6: _lead(6, 10, 4, 30, 25, 5),
    }
    assert checkpoint_burst.kept_leads(prof, 3, 1.645) == [1, 2, 3, 4]
    # a significant excess whose outputs are used as on ordinary days (a release crunch)
    # does not extend the window
    crunch = {**prof, 4: _lead(4, 10, 4, 30, 30, 10)}
    assert checkpoint_burst.kept_leads(crunch, 3, 1.645) == [1, 2, 3]
    # tilts: R+/rest per lead over the kept leads' mean (20 / 110), never above 1: lead 1
    # (1/3 against 0.18) and lead 3 (0.2) stay at 1, lead 2 (no excess) goes to 0
    t = checkpoint_burst.lead_tilts(prof, [1, 2, 3, 4])
    assert t == {1: 1.0, 2: 0.0, 3: 1.0, 4: 1.0}
    # lower than the mean: lowered in proportion (lead 2 at 0.1 against 23 / 110)
    low = {**prof, 2: _lead(2, 3, 4, 30, 30, 3)}
    t = checkpoint_burst.lead_tilts(low, [1, 2, 3, 4])
    assert t[2] == pytest.approx(0.1 / (23 / 110), abs=1e-6) and t[1] == 1.0


def _rows(spark, burst=True):
    # 10 users, 2 interactions a working day; u0-u4 burst before Wed 29 July: +4 on lead 1
    # (Tue 28), +2 on leads 2-5 (Mon 27, Fri 24, Thu 23, Wed 22), nothing on lead 6 (Tue 21);
    # half of the extra interactions have an unused output (explained by that flag)
    extra = {date(2026, 7, 28): 4, **{date(2026, 7, d): 2 for d in (27, 24, 23, 22)}}
    out, d = [], START
    while d < END:
        if d.weekday() < 5:
            for u in range(10):
                out.append(("o1", f"u{u}", d, 2.0, None))
                if burst and u < 5 and d in extra:
                    out.append(("o1", f"u{u}", d, extra[d] / 2, True))
                    out.append(("o1", f"u{u}", d, extra[d] / 2, None))
        d += timedelta(days=1)
    return spark.createDataFrame(
        out, "org_id string, user_key string, event_date date, _n double, _explained boolean"
    )


def test_the_window_grows_to_the_leads_with_an_excess_and_lowers_the_lighter_ones(spark):
    rows = _rows(spark)
    cal = checkpoint_burst.lead_calendar(["o1"], [("o1", date(2026, 7, 29))], START, END, 3, 6)
    inc = incentives.Incentives()
    incentives.checkpoint_estimates(spark, inc, rows, cal, CB)
    (e,) = inc.checkpoints
    # each of leads 1-5: z = 2.24 (5 users at e = 4 or 2) and unused outputs (none on
    # ordinary days); lead 6: no excess -> window 1-5
    assert e.leads == [1, 2, 3, 4, 5]
    # ordinary: Jul 1-20 (14 working days, 2 a day); bursting users: 22 on the 5 window days
    # against cf 10 -> e = 12 each, E = 60
    assert e.status == "ok" and e.excess == pytest.approx(60.0)
    # unexplained: lead 1 has 10 excess in 30 rows, leads 2-5 5 in 25; window mean 30 / 130:
    # lead 1 stays at 1 (never raised), leads 2-5 are lowered to 0.2 / (30 / 130)
    assert e.tilts["1"] == 1.0
    assert e.tilts["2"] == pytest.approx(0.2 / (30 / 130), abs=1e-5)
    got = {(r.user_key, r.event_date): r.sig_checkpoint_burst for r in inc.checkpoint.collect()}
    w = 6 / 16  # the user's unexplained excess share of the window (16 rows against cf 10)
    assert got[("u0", date(2026, 7, 28))] == pytest.approx(w, abs=1e-5)
    assert got[("u0", date(2026, 7, 22))] == pytest.approx(w * 0.2 / (30 / 130), abs=1e-5)
    assert got[("u7", date(2026, 7, 28))] == 0.0  # did not burst
    assert ("u0", date(2026, 7, 21)) not in got  # lead 6: not in the window


def test_without_a_burst_the_window_stays_the_configured_one(spark):
    rows = _rows(spark, burst=False)
    cal = checkpoint_burst.lead_calendar(["o1"], [("o1", date(2026, 7, 29))], START, END, 3, 6)
    inc = incentives.Incentives()
    incentives.checkpoint_estimates(spark, inc, rows, cal, CB)
    (e,) = inc.checkpoints
    assert e.leads == [1, 2, 3] and e.excess == pytest.approx(0.0)
    assert {r.sig_checkpoint_burst for r in inc.checkpoint.collect()} == {0.0}


def test_small_teams_are_measured_on_their_weeks_pooled_by_distance_to_their_quota(spark):
    # two teams (quota 10 and 12), each 700 user-weeks of 100 users: under the sample rule
    # (1,000) alone. Team 12's counts are team 10's shifted by 2; pooled on the median quota
    # 11 each is shifted by 1 to the same counts, so the pooled estimate is the fit of the
    # doubled counts at 11.
    from tests.unit.test_incentives import QB, _nb_counts, _user_weeks

    base = _nb_counts(700, 14.0, 4.0, range(1, 40))
    counts = dict(base)
    for n in (6, 7, 8, 9):
        k = int(round(0.3 * base[n]))
        counts[n] -= k
        counts[10] += k
    uw10 = _user_weeks(spark, counts, users=100, quota=10, org="t1")
    uw12 = _user_weeks(spark, {n + 2: k for n, k in counts.items()}, users=100, quota=12, org="t2")
    e10, e12 = quota_bunching.estimate_all(spark, uw10.unionByName(uw12), QB, seed=11)
    assert (e10.org_id, e12.org_id) == ("t1", "t2")
    assert e10.status == e12.status == "ok"
    assert e10.reference.startswith("pooled:") and e12.reference.startswith("pooled:")
    edges = quota_bunching.bin_edges(11, QB.window, 1)
    doubled = [2 * counts.get(int(z) - 1, 0) if z >= 1 else 0 for z in edges]
    kw = {k: getattr(QB, k) for k in ("exclude_below", "exclude_above", "max_exclude_below")}
    f = quota_bunching.fit_bunching(
        edges, doubled, 11, order=QB.poly_order, choose_exclusion=True, **kw
    )
    assert e10.B == pytest.approx(f.B, abs=1e-4) and e12.B == pytest.approx(f.B, abs=1e-4)
    assert e10.weight > 0
    # the pooled excess is a larger share of a week at 10 than at 12
    assert e12.weight == pytest.approx(e10.weight * 10 / 12, abs=1e-5)
    assert (e10.z_high, e12.z_high) == (e10.weekly_quota + 1, 13)


def test_one_small_team_alone_stays_na(spark):
    from tests.unit.test_incentives import QB, _nb_counts, _user_weeks

    uw = _user_weeks(spark, _nb_counts(700, 14.0, 4.0, range(1, 40)), users=100, quota=10)
    (e,) = quota_bunching.estimate_all(spark, uw, QB, seed=11)
    assert e.status == "insufficient_sample" and e.weight is None
