"""Incentive signals on hand-made data; expected values worked out by hand (comments) or
analytically (scipy distributions), never by the code under test."""

from __future__ import annotations

import math
import statistics
from dataclasses import replace
from datetime import date, datetime, timedelta

import numpy as np
import pytest
from pyspark.sql import functions as F
from scipy.stats import nbinom

from theater.config import CheckpointBurst, OutcomeDecoupling, QuotaBunching, Sensitivity
from theater.signals import checkpoint_burst, outcome_decoupling, quota_bunching, sensitivity
from theater.transforms.score import agg_org_signals, with_labels

QB = QuotaBunching(
    enabled=True,
    bin_width=1,
    window=12,
    poly_order=6,
    exclude_below=4,
    exclude_above=1,
    choose_exclusion=True,
    max_exclude_below=8,
    bootstrap_replicates=200,
    min_user_weeks=1000,
    min_users=100,
    min_z=1.645,
    min_pre_user_weeks=300,
)


# ----------------------------------------------------------------------------- bunching, numpy


def test_flat_counterfactual_with_a_notch_is_recovered_exactly():
    # z* = 10, window 12 -> bins 1..22 (counts start at 1), 100 user-weeks each.
    z = np.arange(1, 23)
    c = np.full(22, 100.0)
    # compliers: 30 user-weeks from each of 7, 8, 9 move up to 10
    c[z == 10] += 90
    c[np.isin(z, (7, 8, 9))] -= 30
    f = quota_bunching.fit_bunching(
        z,
        c,
        10,
        order=2,
        exclude_below=4,
        exclude_above=1,
        choose_exclusion=True,
        max_exclude_below=8,
    )
    # a constant fits exactly off the notch: B = 90 at 10..11, M = 90 at 7..9, b = 90/100
    assert f.B == pytest.approx(90) and f.M == pytest.approx(90) and f.b == pytest.approx(0.9)
    assert f.z_low == 7  # narrowest window with B = M
    assert f.n_bunch == 290  # 190 at 10 + 100 at 11
    assert f.shortfall == pytest.approx(2.0)  # (3 + 2 + 1) / 3
    # w_q = (B / n_bunch) * (shortfall / z*) = (90 / 290) * (2 / 10)
    w = quota_bunching.quota_weight(f.B, f.n_bunch, f.shortfall, 10)
    assert w == pytest.approx(90 / 290 * 0.2)


def test_fixed_exclusion_window_uses_the_configured_start():
    z = np.arange(1, 23)
    c = np.full(22, 50.0)
    f = quota_bunching.fit_bunching(z, c, 10, order=2, exclude_below=4, exclude_above=1)
    assert f.z_low == 6 and f.B == pytest.approx(0) and f.M == pytest.approx(0)


# ----------------------------------------------------------------------------- bunching, Spark


def _user_weeks(
    spark, counts_by_n: dict[int, int], users: int, quota: int | None, org="o1", full=True
):
    """User-week rows: ``counts_by_n[n]`` user-weeks with n interactions, dealt round-robin
    to ``users`` users."""
    rows, i = [], 0
    for n, k in sorted(counts_by_n.items()):
        for _ in range(k):
            rows.append(
                (
                    org,
                    f"{org}-u{i % users}",
                    date(2026, 7, 6) + timedelta(weeks=i // users),
                    int(n),
                    quota,
                    full,
                )
            )
            i += 1
    return spark.createDataFrame(
        rows,
        "org_id string, user_key string, week_start date, "
        "n_interactions long, weekly_quota long, full_week boolean",
    )


def _nb_counts(total: int, mean: float, size: float, ns) -> dict[int, int]:
    p = size / (size + mean)
    return {int(n): int(round(total * nbinom.pmf(n, size, p))) for n in ns}


def test_bunching_recovers_planted_compliers_within_its_interval(spark):
    # Methodology 1's Monte Carlo set-up, made deterministic: negative-binomial weekly counts
    # (mean 14, size 4), quota 10; 30% of the user-weeks at 6..9 comply and move to 10.
    base = _nb_counts(4000, 14.0, 4.0, range(1, 40))
    planted = {n: int(round(0.3 * base[n])) for n in (6, 7, 8, 9)}
    counts = dict(base)
    for n, k in planted.items():
        counts[n] -= k
    counts[10] += sum(planted.values())
    B_true = sum(planted.values())
    # the counterfactual at z* is the negative-binomial count there
    b_true = B_true / base[10]
    uw = _user_weeks(spark, counts, users=400, quota=10)
    (est,) = quota_bunching.estimate_all(spark, uw, QB, seed=11)
    assert est.status == "ok" and est.n_users == 400
    assert est.b_low <= b_true <= est.b_high, (est, b_true)
    assert est.z >= QB.min_z and est.weight > 0
    # B within two standard errors of the planted excess
    assert abs(est.B - B_true) <= 2 * est.se, (est.B, B_true, est.se)


def test_smooth_counts_with_a_round_quota_show_no_significant_bunching(spark):
    counts = _nb_counts(4000, 14.0, 4.0, range(1, 40))  # no compliers; quota 10 (round)
    uw = _user_weeks(spark, counts, users=400, quota=10)
    (est,) = quota_bunching.estimate_all(spark, uw, QB, seed=11)
    assert est.status == "ok"
    assert est.z < QB.min_z and est.weight == 0.0
    assert est.b_low <= 0.0 + 0.1  # interval reaches (about) zero


def test_bunching_is_na_below_the_sample_rule_and_weights_follow(spark):
    counts = _nb_counts(900, 14.0, 4.0, range(1, 40))  # < 1,000 user-weeks in the window
    uw = _user_weeks(spark, counts, users=90, quota=10)
    (est,) = quota_bunching.estimate_all(spark, uw, QB, seed=11)
    assert est.status == "insufficient_sample" and est.weight is None
    w = quota_bunching.weights_frame(spark, uw, [est], QB)
    assert w.where(F.col("sig_quota_bunching").isNotNull()).count() == 0  # NA, not 0


def test_weights_only_on_bunched_full_weeks_of_measured_regimes(spark):
    est = quota_bunching.Estimate("o1", 10, "ok", weight=0.25, z_high=11)
    rows = [
        ("o1", "a", 9, 10, True),
        ("o1", "b", 10, 10, True),
        ("o1", "c", 11, 10, True),
        ("o1", "d", 12, 10, True),
        ("o1", "e", 10, 10, False),  # cut week: NA
        ("o2", "f", 10, None, True),
    ]  # no quota: NA
    uw = spark.createDataFrame(
        rows,
        "org_id string, user_key string, n_interactions long, weekly_quota long, full_week boolean",
    )
    got = {
        r.user_key: r.sig_quota_bunching
        for r in quota_bunching.weights_frame(spark, uw, [est], QB).collect()
    }
    assert got == {"a": 0.0, "b": 0.25, "c": 0.25, "d": 0.0, "e": None, "f": None}


# ----------------------------------------------------------------------------- checkpoints

CB = CheckpointBurst(enabled=True, working_days_before=3, min_users=5, min_z=1.645)
START, END = date(2026, 7, 6), date(2026, 7, 20)  # two weeks, Monday to Monday
CK = date(2026, 7, 16)  # Thursday -> window Mon 13, Tue 14, Wed 15


def _policies(spark, rows):
    return spark.createDataFrame(
        [(o, k, d, None, None, None) for o, k, d in rows],
        "org_id string, kind string, start_date date, end_date date, weekly_quota bigint, "
        "note string",
    )


def _days(spark, rows, pol):
    """The checkpoint calendar the score stage builds from the policies (driver side)."""
    from theater.stages.incentives import checkpoint_days

    return checkpoint_days(spark, rows, pol, START, END, CB.working_days_before)


def _daily(spark, per_user_day):
    rows = []
    for (org, user, day), n in per_user_day.items():
        for i in range(n):
            rows.append(
                (
                    org,
                    user,
                    day,
                    datetime.combine(day, datetime.min.time()) + timedelta(hours=9, minutes=i),
                )
            )
    return spark.createDataFrame(
        rows, "org_id string, user_key string, event_date date, event_ts timestamp"
    )


def _working_days():
    d, out = START, []
    while d < END:
        if d.weekday() < 5:
            out.append(d)
        d += timedelta(days=1)
    return out


def test_window_is_three_working_days_before_not_the_day_itself():
    assert checkpoint_burst.working_days_before(date(2026, 7, 16), 3) == [
        date(2026, 7, 13),
        date(2026, 7, 14),
        date(2026, 7, 15),
    ]
    # a Tuesday checkpoint reaches back over the weekend: Thu, Fri, Mon
    assert checkpoint_burst.working_days_before(date(2026, 7, 14), 3) == [
        date(2026, 7, 9),
        date(2026, 7, 10),
        date(2026, 7, 13),
    ]


def _burst_data(spark, planted: bool):
    per = {}
    for u in range(10):
        for d in _working_days():
            extra = (
                2
                if planted
                and u < 5
                and d in (date(2026, 7, 13), date(2026, 7, 14), date(2026, 7, 15))
                else 0
            )
            per[("o1", f"u{u}", d)] = 2 + extra
            per[("o2", f"v{u}", d)] = 2
    return _daily(spark, per)


def test_checkpoint_burst_planted_excess_goes_to_the_bursting_users(spark):
    df = _burst_data(spark, planted=True)
    pol = _policies(spark, [("o1", "checkpoint", CK)])  # o2 has no checkpoint: NA
    ests, frame = checkpoint_burst.estimate(spark, df, _days(spark, df, pol), CB)
    (e,) = ests
    # ordinary days: Jul 6-10 (Jul 16-17 are the checkpoint day and the one after) -> 2 a day
    # cf = 2 x 3 = 6 per user; bursting users obs 12 (e = 6), others 6 (e = 0)
    assert e.org_id == "o1" and e.status == "ok"
    assert e.excess == pytest.approx(30)  # 5 users x 6
    assert e.se == pytest.approx(math.sqrt(5 * 36))  # sqrt(180) = 13.42, z = 2.24
    assert e.burst_ratio == pytest.approx(30 / 90)  # obs = 5 x 12 + 5 x 6
    assert e.reversion == pytest.approx(0.0)  # after: 2 a day, as ordinary
    out = checkpoint_burst.apply(df, frame, ["o1"])
    got = {
        (r.user_key, r.event_date): r.sig_checkpoint_burst
        for r in out.select("user_key", "event_date", "sig_checkpoint_burst").distinct().collect()
    }
    # scale E / sum(max(e, 0)) = 1; w = 6 / 12 = 0.5 for bursting users on window days
    assert got[("u0", date(2026, 7, 13))] == pytest.approx(0.5)
    assert got[("u7", date(2026, 7, 13))] == 0.0  # did not burst
    assert got[("u0", date(2026, 7, 8))] == 0.0  # ordinary day
    assert got[("v0", date(2026, 7, 13))] is None  # org without a checkpoint: NA


def test_checkpoint_without_a_burst_gives_no_weight(spark):
    df = _burst_data(spark, planted=False)
    pol = _policies(spark, [("*", "checkpoint", CK)])  # '*' applies to both orgs
    ests, frame = checkpoint_burst.estimate(spark, df, _days(spark, df, pol), CB)
    assert {e.org_id: e.excess for e in ests} == {"o1": 0.0, "o2": 0.0}
    out = checkpoint_burst.apply(df, frame, [e.org_id for e in ests if e.status == "ok"])
    vals = {r.sig_checkpoint_burst for r in out.select("sig_checkpoint_burst").distinct().collect()}
    assert vals == {0.0}


# ----------------------------------------------------------------------------- decoupling

OD = OutcomeDecoupling(
    enabled=True,
    max_pre_weeks=0,  # 0: no cut, the pre side reaches back to the first data
    min_pre_weeks=1,
    min_post_weeks=1,
    min_users=3,
    bootstrap_replicates=50,
    confidence=0.90,
)
D_START, D_END, MANDATE = date(2026, 7, 6), date(2026, 8, 3), date(2026, 7, 20)


def _decoupling_data(spark, effect_days: float):
    """Org T (mandate Jul 20) and C (none), 4 users each, 2 weeks either side.

    Usage: everyone 10 interactions before; T users 20 after, C users 10.
    Work items: user i has one item before with cycle 2 + i days and one after with the same
    cycle, minus ``effect_days`` for T users.
    """
    per, items = {}, []
    for org in ("T", "C"):
        for i in range(4):
            u = f"{org}{i}"
            for k in range(10):
                per[(org, u, D_START + timedelta(days=k))] = 1
            n_post = 20 if org == "T" else 10
            for k in range(n_post):
                d = MANDATE + timedelta(days=k % 10)
                per[(org, u, d)] = per.get((org, u, d), 0) + 1
            pre_open = datetime(2026, 7, 7, 9)
            post_open = datetime(2026, 7, 21, 9)
            cyc_post = 2 + i - (effect_days if org == "T" else 0)
            items.append(
                (f"w{u}a", u, org, "ticket", pre_open, pre_open + timedelta(days=2 + i), 0, False)
            )
            items.append(
                (
                    f"w{u}b",
                    u,
                    org,
                    "ticket",
                    post_open,
                    post_open + timedelta(days=cyc_post),
                    0,
                    False,
                )
            )
    wi = spark.createDataFrame(
        items,
        "work_item_id string, user_key string, org_id string, "
        "kind string, opened_ts timestamp, closed_ts timestamp, "
        "reopened_count bigint, escalated boolean",
    )
    pol = _policies(spark, [("T", "mandate", MANDATE)])
    return _daily(spark, per), wi, pol


def test_decoupling_recovers_a_planted_outcome_effect(spark):
    df, wi, pol = _decoupling_data(spark, effect_days=1.0)
    (e,) = outcome_decoupling.estimate(spark, df, wi, pol, D_START, D_END, OD, seed=3)
    # dU = (20/2 - 10/2) - (10/2 - 10/2) = 5 interactions per user-week
    assert e.status == "ok" and e.usage_change == pytest.approx(5.0)
    # cycle times (16 items): 2,3,4,5 three times and 1,2,3,4 -> sample sd sqrt(23/15)
    sd = math.sqrt(23 / 15)
    # T users' cycle fell 1 day: dy = -(-1 / sd) each; C: 0. ratio = dY / dU
    assert e.outcome_change == pytest.approx(1 / sd, rel=1e-4)
    assert e.ratio == pytest.approx(1 / sd / 5, rel=1e-4)
    assert e.ratio_low > 0 and e.decoupled is False  # usage moved outcomes


def test_decoupling_with_staged_usage_gives_the_same_estimate(spark, tmp_path):
    """score passes a staging folder: the per-user usage is written once and read back (the
    history is aggregated once); the estimate, intervals included, must not change."""
    df, wi, pol = _decoupling_data(spark, effect_days=1.0)
    (plain,) = outcome_decoupling.estimate(spark, df, wi, pol, D_START, D_END, OD, seed=3)
    (staged,) = outcome_decoupling.estimate(
        spark, df, wi, pol, D_START, D_END, OD, seed=3, staging=str(tmp_path)
    )
    assert (tmp_path / "decoupling-usage").is_dir()
    assert staged.status == "ok" and staged.usage_change == pytest.approx(5.0)
    assert staged == plain


def test_decoupling_in_user_buckets_gives_the_same_estimate(spark, tmp_path):
    """score passes its label bucket count: the bootstrap sums are added bucket by bucket
    (integers), so the estimate, intervals included, is the one of a single plan."""
    df, wi, pol = _decoupling_data(spark, effect_days=1.0)
    (plain,) = outcome_decoupling.estimate(spark, df, wi, pol, D_START, D_END, OD, seed=3)
    (bucketed,) = outcome_decoupling.estimate(
        spark, df, wi, pol, D_START, D_END, OD, seed=3, staging=str(tmp_path), buckets=3
    )
    assert (tmp_path / "decoupling-days").is_dir()
    assert bucketed.status == "ok" and bucketed.usage_change == pytest.approx(5.0)
    assert bucketed == plain


def test_decoupling_orgs_with_the_same_mandate_share_one_control_group(spark):
    """T and T2 (T's users and items copied, mandate the same day) against C: each gets the
    single-org figures, with the item SD pooled over all 24 items (worked out below)."""
    df, wi, pol = _decoupling_data(spark, effect_days=1.0)
    from pyspark.sql import functions as F

    t2 = df.where(F.col("org_id") == "T").withColumn("org_id", F.lit("T2"))
    t2 = t2.withColumn("user_key", F.concat(F.lit("x"), "user_key"))
    wi2 = wi.where(F.col("org_id") == "T").withColumn("org_id", F.lit("T2"))
    wi2 = wi2.withColumn("user_key", F.concat(F.lit("x"), "user_key"))
    pol2 = _policies(spark, [("T", "mandate", MANDATE), ("T2", "mandate", MANDATE)])
    ests = outcome_decoupling.estimate(
        spark, df.unionByName(t2), wi.unionByName(wi2), pol2, D_START, D_END, OD, seed=3
    )
    # cycle times: 2,3,4,5 four times (pre of T, T2, C; post of C) and 1,2,3,4 twice
    sd = statistics.stdev([2, 3, 4, 5] * 4 + [1, 2, 3, 4] * 2)
    assert [e.org_id for e in ests] == ["T", "T2"]
    for e in ests:
        assert e.status == "ok" and e.usage_change == pytest.approx(5.0)
        assert e.n_treated == 4 and e.n_control == 4
        assert e.outcome_change == pytest.approx(1 / sd, rel=1e-4)
    assert ests[0].ratio == ests[1].ratio


def test_decoupling_null_effect_is_flagged_as_decoupled(spark):
    df, wi, pol = _decoupling_data(spark, effect_days=0.0)
    (e,) = outcome_decoupling.estimate(spark, df, wi, pol, D_START, D_END, OD, seed=3)
    assert e.usage_change == pytest.approx(5.0)
    assert e.outcome_change == pytest.approx(0.0, abs=1e-9) and e.ratio == pytest.approx(
        0.0, abs=1e-9
    )
    assert e.usage_low > 0 and e.ratio_low <= 0 and e.decoupled is True


def test_decoupling_needs_enough_weeks_on_each_side(spark):
    df, wi, pol = _decoupling_data(spark, effect_days=1.0)
    late = replace(OD, min_post_weeks=3)  # only 2 weeks after
    (e,) = outcome_decoupling.estimate(spark, df, wi, pol, D_START, D_END, late, seed=3)
    assert e.status == "insufficient_weeks" and e.ratio is None


def test_decoupling_takes_pre_weeks_from_history_before_the_period(spark):
    # The quarter starts on the mandate day: no pre weeks inside the period, but the two weeks
    # before it are in the data (silver history) and, within max_pre_weeks, are the pre window.
    df, wi, pol = _decoupling_data(spark, effect_days=1.0)
    (e,) = outcome_decoupling.estimate(
        spark, df, wi, pol, MANDATE, D_END, replace(OD, max_pre_weeks=2), seed=3
    )
    (same,) = outcome_decoupling.estimate(spark, df, wi, pol, D_START, D_END, OD, seed=3)
    assert e.status == "ok" and e.usage_change == pytest.approx(5.0)
    assert (e.outcome_change, e.ratio) == (same.outcome_change, same.ratio)


def test_decoupling_pre_window_stops_at_max_pre_weeks(spark):
    # One pre week, Jul 13-19: usage 3 a user (days 13-15), and no work item opened in it (all
    # pre items open Jul 7), so no user has outcomes on both sides: not enough sample.
    df, wi, pol = _decoupling_data(spark, effect_days=1.0)
    (e,) = outcome_decoupling.estimate(
        spark, df, wi, pol, MANDATE, D_END, replace(OD, max_pre_weeks=1), seed=3
    )
    assert e.status == "insufficient_sample" and e.ratio is None


def test_decoupling_never_counts_weeks_before_the_first_data_as_zero_usage(spark):
    # A 12-week cap reaching back before the first day with data: the pre window starts at the
    # first day (Jul 6), so dU is the same 5 interactions per user-week.
    df, wi, pol = _decoupling_data(spark, effect_days=1.0)
    (e,) = outcome_decoupling.estimate(
        spark, df, wi, pol, MANDATE, D_END, replace(OD, max_pre_weeks=12), seed=3
    )
    assert e.status == "ok" and e.usage_change == pytest.approx(5.0)


# ----------------------------------------------------------------------------- scoring, bands


def test_incentive_weights_enter_the_noisy_or_as_doubles(spark):
    df = spark.createDataFrame(
        [(1, True, 0.25, None), (2, False, 0.25, 0.5), (3, None, None, None), (4, False, 0.0, 0.0)],
        "id int, sig_a boolean, sig_quota_bunching double, sig_checkpoint_burst double",
    )
    out = df.transform(with_labels({"a": 1.0, "quota_bunching": 1.0, "checkpoint_burst": 1.0}, 0.5))
    got = {
        r.id: (
            None if r.theater_probability is None else round(r.theater_probability, 6),
            r.flags,
            r.is_theater,
        )
        for r in out.collect()
    }
    # 1: flag fired -> 1; 2: 1 - 0.75 x 0.5 = 0.625; 3: nothing measured -> NA (null, not 0);
    # 4: zero weights (measured) -> 0
    assert got == {
        1: (1.0, ["a", "quota_bunching"], True),
        2: (0.625, ["quota_bunching", "checkpoint_burst"], True),
        3: (None, [], None),
        4: (0.0, [], False),
    }


def test_org_share_of_a_weight_is_its_mean_over_measured_rows(spark):
    rows = [("o1", 0.5), ("o1", 0.0), ("o1", 0.25), ("o1", None), ("o2", None)]
    df = spark.createDataFrame(rows, "org_id string, sig_quota_bunching double")
    got = {
        r.org_id: r.signal_quota_bunching
        for r in agg_org_signals(df, ["quota_bunching"], 1).collect()
    }
    assert got == {"o1": pytest.approx(0.25), "o2": None}  # (0.5 + 0 + 0.25) / 3; o2 NA


def test_rank_bands_cover_the_ranks_over_the_grid():
    per_cfg = {"A": [0.5, 0.2, 0.5], "B": [0.3, 0.3, 0.3], "C": [0.1, 0.1, 0.4]}
    # ranks per config: (A1 B2 C3), (B1 A2 C3), (A1 C2 B3)
    bands = sensitivity.rank_bands(per_cfg, {"A": 0.5, "B": 0.3, "C": 0.1}, ["A", "B", "C"], 1.0)
    assert bands == {"A": (1, 2), "B": (1, 3), "C": (2, 3)}


def test_sensitivity_org_shares_recompute_each_setting_over_measured_rows(spark):
    # Shares worked out by hand. Weights: repeat_prompt 0.5, others 1. p = 1 - prod(1 - c).
    rows = [
        # org, repeat, bunching weight, disposition, view ms
        ("A", True, 0.0, None, None),  # unused NA; p = 0.5 (0 when repeat is dropped)
        ("A", False, 0.5, None, 4000),  # unused iff threshold 5000; bunching 0.5 (x2: 1)
        ("A", None, None, None, None),  # nothing measured: not counted
        ("A", False, 0.5, None, 4000),  # the same row again: counted twice
        ("B", True, None, "discarded", None),  # p = 1 under every setting
        ("B", False, None, None, 6000),  # viewed long enough: p = 0
        ("B", None, None, None, 3000),  # 3000 < 3000 no, 3000 < 5000 yes
        ("B", None, None, "accepted", 10),  # used: p = 0 whatever the view time
        (None, True, 1.0, "discarded", None),  # no org: left out
    ]
    labels = spark.createDataFrame(
        rows,
        "org_id string, sig_repeat_prompt boolean, sig_quota_bunching double, "
        "output_disposition string, dwell_ms bigint",
    )
    names = ["unused_output", "repeat_prompt", "quota_bunching"]
    configs = [
        {"dwell": 3000, "order": 5, "drop": None},
        {"dwell": 5000, "order": 5, "drop": None},
        {"dwell": 3000, "order": 6, "drop": None},
        {"dwell": 3000, "order": 5, "drop": "repeat_prompt"},
    ]
    got = sensitivity.org_shares(
        labels, {"repeat_prompt": 0.5}, names, configs, {"A": {5: 1.0, 6: 2.0}}
    )
    want = {
        "A": [1.5 / 3, 2.5 / 3, 2.5 / 3, 1.0 / 3],
        "B": [1 / 4, 2 / 4, 1 / 4, 1 / 4],
    }
    assert set(got) == set(want)
    for org, shares in want.items():
        assert got[org] == pytest.approx(shares), org


def test_sensitivity_grid_drops_each_signal_once():
    g = sensitivity.grid(
        Sensitivity(
            enabled=True,
            dwell_ms=(3000, 5000),
            poly_orders=(5, 7),
            drop_each_signal=True,
            band=0.9,
        ),
        ["a", "b"],
        5000,
        6,
    )
    assert len(g) == 2 * 2 * 3
    assert {c["drop"] for c in g} == {None, "a", "b"}


def test_round_number_heaping_is_removed_by_the_pre_quota_weeks(spark):
    # Smooth counts plus natural heaping: 150 extra user-weeks at exactly 10, both in the
    # quota weeks and in the same org's weeks before the quota. No compliers.
    base = _nb_counts(4000, 14.0, 4.0, range(1, 40))
    heaped = dict(base)
    heaped[10] += 150
    q = _user_weeks(spark, heaped, users=400, quota=10)
    pre = _user_weeks(spark, heaped, users=400, quota=None).withColumn(  # other users, before
        "user_key", F.concat(F.lit("pre-"), "user_key")
    )
    # without a reference the heap looks like bunching: b ~ 150 / base[10]
    (alone,) = quota_bunching.estimate_all(spark, q, QB, seed=11)
    assert alone.reference == "none" and alone.z >= QB.min_z
    assert alone.b_low <= 150 / base[10] <= alone.b_high
    # difference in bunching: the same heap before the quota cancels it
    (diff,) = quota_bunching.estimate_all(spark, q.unionByName(pre), QB, seed=11)
    assert diff.reference == "pre_quota" and diff.b_pre == pytest.approx(alone.b, abs=0.05)
    assert diff.z < QB.min_z and diff.weight == 0.0


def test_checkpoint_weight_skips_the_excess_the_flags_already_explain(spark):
    df = _burst_data(spark, planted=True)
    # the 2 extra interactions a day of the bursting users are flagged (e.g. output unused)
    window = [date(2026, 7, 13), date(2026, 7, 14), date(2026, 7, 15)]
    df = df.withColumn(
        "expl",
        F.col("user_key").isin("u0", "u1", "u2", "u3", "u4")
        & F.col("event_date").isin(*window)
        & (F.minute("event_ts") >= 2),
    )
    pol = _policies(spark, [("o1", "checkpoint", CK)])
    (e,), frame = checkpoint_burst.estimate(spark, df, _days(spark, df, pol), CB, F.col("expl"))
    assert e.excess == pytest.approx(30) and e.z >= CB.min_z  # the burst is still seen
    # ... but the unexplained interactions show no excess (2 a day as usual): no weight
    assert {r.sig_checkpoint_burst for r in frame.collect()} == {0.0}


def test_checkpoint_burst_reads_user_day_counts(spark):
    """The same burst given as one row per user-day with ``_n`` (silver/user_days requests)
    gives the estimate of one row per interaction: E = 30 (5 users x 6 extra), w = 0.5."""
    per = {}
    for u in range(10):
        for d in _working_days():
            extra = (
                2 if u < 5 and d in (date(2026, 7, 13), date(2026, 7, 14), date(2026, 7, 15)) else 0
            )
            per[("o1", f"u{u}", d)] = 2 + extra
    rows = spark.createDataFrame(
        [(o, u, d, float(n)) for (o, u, d), n in per.items()],
        "org_id string, user_key string, event_date date, _n double",
    )
    pol = _policies(spark, [("o1", "checkpoint", CK)])
    (e,), frame = checkpoint_burst.estimate(spark, rows, _days(spark, rows, pol), CB)
    assert e.status == "ok" and e.excess == pytest.approx(30)
    assert e.se == pytest.approx(math.sqrt(5 * 36)) and e.burst_ratio == pytest.approx(30 / 90)
    got = {(r.user_key, r.event_date): r.sig_checkpoint_burst for r in frame.collect()}
    assert got[("u0", date(2026, 7, 13))] == pytest.approx(0.5)
    assert got[("u7", date(2026, 7, 13))] == 0.0


def test_user_week_counts_add_aggregate_requests(spark):
    from theater.stages.incentives import user_week_counts

    # u1: 2 interactions in the week of Mon 2026-07-06 + 5 + 3 requests on user-days of that
    # week -> 10; u2: a Viva person-week from Sun 2026-07-12 (7 requests) -> ISO week of Mon
    # 2026-07-13; aggregates only
    events = spark.createDataFrame(
        [("o1", "u1", datetime(2026, 7, 6, 9)), ("o1", "u1", datetime(2026, 7, 8, 9))],
        "org_id string, user_key string, event_ts timestamp",
    )
    units = spark.createDataFrame(
        [
            ("o1", "u1", date(2026, 7, 6), 5.0),
            ("o1", "u1", date(2026, 7, 6), 3.0),
            ("o1", "u2", date(2026, 7, 13), 7.0),
        ],
        "org_id string, user_key string, week_start date, n double",
    )
    got = {
        (r.user_key, r.week_start): (r.n_interactions, r.full_week)
        for r in user_week_counts(events, date(2026, 7, 1), date(2026, 10, 1), units).collect()
    }
    assert got == {("u1", date(2026, 7, 6)): (10, True), ("u2", date(2026, 7, 13)): (7, True)}


# ----------------------------------------------------------------------------- evidence split


def test_evidence_split_puts_the_excess_on_interactions_without_evidence_of_use():
    # w 0.2, s 0.3, g 0.25: f = (0.3 - 0.8 * 0.25) / 0.2 = 0.5
    # p_no_use = 0.2 * 0.5 / 0.3 = 1/3; p_use = 0.2 * 0.5 / 0.7 = 1/7
    p_n, p_u = quota_bunching.evidence_split(0.2, 0.3, 0.25)
    assert p_n == pytest.approx(1 / 3) and p_u == pytest.approx(1 / 7)
    assert 0.3 * p_n + 0.7 * p_u == pytest.approx(0.2)  # the regime's share is kept
    # s 0.4: f = (0.4 - 0.2) / 0.2 = 1 -> every filler unused: p_no_use = 0.2 / 0.4, p_use 0
    assert quota_bunching.evidence_split(0.2, 0.4, 0.25) == pytest.approx((0.5, 0.0))
    # s 0.1 below g: f = (0.1 - 0.2) / 0.2 < 0 -> 0: p_no_use 0, p_use = 0.2 / 0.9
    assert quota_bunching.evidence_split(0.2, 0.1, 0.25) == pytest.approx((0.0, 0.2 / 0.9))


def test_evidence_split_keeps_w_without_both_rates_or_without_bunching():
    assert quota_bunching.evidence_split(0.2, None, 0.25) == (0.2, 0.2)
    assert quota_bunching.evidence_split(0.2, 0.3, None) == (0.2, 0.2)
    assert quota_bunching.evidence_split(0.2, 1.0, 0.25) == (0.2, 0.2)  # nothing used at all
    assert quota_bunching.evidence_split(0.0, 0.9, 0.1) == (0.0, 0.0)  # no significant bunching


def test_excess_lower_bound_only_when_the_excess_is_significant():
    # s 0.5 over 400 rows, g 0.25 over 1600: se = sqrt(.25/400 + .1875/1600) = 0.02724,
    # z = 0.25 / 0.02724 = 9.2 -> bound (0.5 - 0.25) / (1 - 0.25) = 1/3
    assert quota_bunching.excess_lower_bound(0.5, 0.25, 400, 1600, 1.645) == pytest.approx(1 / 3)
    # s 0.27 over 400, g 0.25 over 400: se = sqrt(.1971/400 + .1875/400) = 0.0310, z = 0.645
    assert quota_bunching.excess_lower_bound(0.27, 0.25, 400, 400, 1.645) == 0.0
    assert quota_bunching.excess_lower_bound(0.2, 0.25, 400, 400, 1.645) == 0.0  # a deficit
    assert quota_bunching.excess_lower_bound(0.9, 1.0, 400, 400, 1.645) == 0.0


def test_with_evidence_raises_w_to_the_bound_and_splits_it():
    est = quota_bunching.Estimate("o1", 10, "ok", weight=0.2, z_high=11)
    flat = quota_bunching.Estimate("o2", 10, "ok", weight=0.0, z_high=11)
    small = quota_bunching.Estimate("o3", 15, "ok", weight=0.2, z_high=16)
    na = quota_bunching.Estimate("o4", 10, "insufficient_sample")
    rates = {
        ("o1", 10): {True: (400, 200), False: (1600, 400)},  # s 0.5, g 0.25
        ("o2", 10): {True: (400, 200), False: (1600, 400)},
        ("o3", 15): {True: (150, 75), False: (1600, 400)},  # under MIN_EVIDENCE_ROWS
    }
    quota_bunching.with_evidence([est, flat, small, na], rates, 1.645)
    # bound 1/3 > w_q 0.2 -> w = 1/3; f = (0.5 - (2/3)(0.25)) / (1/3) = 1
    # p_no_use = (1/3) / 0.5 = 2/3, p_use = 0
    assert est.no_use_bunched == 0.5 and est.no_use_reference == 0.25
    assert est.weight_evidence == pytest.approx(1 / 3, abs=1e-6)
    assert est.weight_no_use == pytest.approx(2 / 3, abs=1e-6) and est.weight_use == 0.0
    assert est.weight == 0.2  # the bunching estimate itself is reported unchanged
    # not significant bunching: the excess of unused interactions alone gives no weight
    assert (flat.weight_no_use, flat.weight_use, flat.weight_evidence) == (0.0, 0.0, None)
    assert (small.weight_no_use, small.weight_use, small.no_use_bunched) == (0.2, 0.2, None)
    assert na.weight_no_use is None


def _ts(d: str, h: int = 12) -> datetime:
    return datetime.fromisoformat(d).replace(hour=h)


def test_interaction_weights_follow_evidence_of_use(spark):
    from theater.stages import incentives

    est = quota_bunching.Estimate("o1", 10, "ok", weight=0.25, z_high=11)
    est.weight_no_use, est.weight_use = 0.6, 0.05
    uw = spark.createDataFrame(
        [
            ("o1", "a", date(2026, 7, 6), 10, 10, True),  # bunched
            ("o1", "b", date(2026, 7, 6), 14, 10, True),  # other full week
            ("o1", "c", date(2026, 7, 6), 10, 10, False),  # cut week: NA
        ],
        "org_id string, user_key string, week_start date, n_interactions long, "
        "weekly_quota long, full_week boolean",
    )
    inc = incentives.Incentives(max_dwell_ms=5000)
    inc.user_weeks = quota_bunching.weights_frame(spark, uw, [est], QB).select(
        "org_id",
        "user_key",
        F.col("week_start").alias(incentives.WEEK),
        "sig_quota_bunching",
        "_wq_no_use",
        "_wq_use",
    )
    rows = [
        (1, "o1", "a", _ts("2026-07-07"), "accepted", None),  # used
        (2, "o1", "a", _ts("2026-07-08"), None, None),  # nothing reported: no evidence
        (3, "o1", "a", _ts("2026-07-09"), None, 8000),  # read 8 s: evidence of use
        (4, "o1", "a", _ts("2026-07-09"), "discarded", 8000),  # discarded: no use
        (5, "o1", "a", _ts("2026-07-10"), None, 1200),  # glanced at: no use
        (6, "o1", "b", _ts("2026-07-10"), None, None),  # not bunched: 0
        (7, "o1", "c", _ts("2026-07-10"), None, None),  # cut week: NA
    ]
    df = spark.createDataFrame(
        rows,
        "id int, org_id string, user_key string, event_ts timestamp, "
        "output_disposition string, dwell_ms long",
    )
    got = {r.id: r.sig_quota_bunching for r in incentives.apply(df, inc).collect()}
    assert got == {1: 0.05, 2: 0.6, 3: 0.05, 4: 0.6, 5: 0.6, 6: 0.0, 7: None}


def test_evidence_rates_count_rows_without_use_in_bunched_and_other_weeks(spark):
    from theater.stages import incentives

    ww = spark.createDataFrame(
        [
            ("o1", "a", date(2026, 7, 6), 10, 0.25),
            ("o1", "b", date(2026, 7, 6), 10, 0.0),
            ("o1", "c", date(2026, 7, 6), 10, None),  # NA week: left out
        ],
        "org_id string, user_key string, week_start date, weekly_quota long, "
        "sig_quota_bunching double",
    )
    rows = [
        ("o1", "a", _ts("2026-07-07"), "accepted", None),
        ("o1", "a", _ts("2026-07-08"), None, None),
        ("o1", "a", _ts("2026-07-09"), "ignored", None),
        ("o1", "b", _ts("2026-07-07"), "accepted", None),
        ("o1", "b", _ts("2026-07-08"), None, 9000),
        ("o1", "b", _ts("2026-07-08"), None, None),
        ("o1", "b", _ts("2026-07-10"), "copied", None),
        ("o1", "c", _ts("2026-07-10"), None, None),
        ("o1", "a", _ts("2026-07-14"), None, None),  # a week with no weight row
    ]
    df = spark.createDataFrame(
        rows,
        "org_id string, user_key string, event_ts timestamp, output_disposition string, "
        "dwell_ms long",
    )
    got = quota_bunching.evidence_rates(df, ww, incentives.no_use_evidence(5000))
    # bunched (a, week of 6 July): 3 rows, 2 without use; other (b): 4 rows, 1 without use
    assert got == {("o1", 10): {True: (3, 2), False: (4, 1)}}


# ----------------------------------------------------------------------------- quota changes


def test_stacked_user_weeks_measure_each_week_from_its_own_quota(spark):
    uw = spark.createDataFrame(
        [
            ("o1", "a", 12, 15, True),  # 12 - 15 + 10 = 7
            ("o1", "b", 3, 15, True),  # 3 - 15 + 10 = -2: outside the common support
            ("o1", "c", 10, 10, True),  # at its own quota: 10
            ("o1", "d", 8, None, True),  # no quota: as it is
            ("o2", "e", 12, 15, True),  # an org not stacked
        ],
        "org_id string, user_key string, n_interactions long, weekly_quota long, full_week boolean",
    )
    got = {
        r.user_key: (r.n_interactions, r.weekly_quota)
        for r in quota_bunching.stacked_user_weeks(uw, {"o1": [10, 15]}).collect()
    }
    assert got == {"a": (7, 10), "c": (10, 10), "d": (8, None)}


def test_a_changed_quota_is_measured_on_the_stacked_weeks(spark):
    # two regimes of one org (quota 10, then 15), each 700 user-weeks: under the sample rule
    # (1,000) alone. Quota 15's counts are quota 10's shifted by 5, so stacked on 10 they are
    # exactly quota 10's counts twice: the pooled estimate is the fit of the doubled counts.
    base = _nb_counts(700, 14.0, 4.0, range(1, 40))
    counts = dict(base)
    for n in (6, 7, 8, 9):
        k = int(round(0.3 * base[n]))
        counts[n] -= k
        counts[10] += k
    uw10 = _user_weeks(spark, counts, users=100, quota=10)
    uw15 = _user_weeks(spark, {n + 5: k for n, k in counts.items()}, users=100, quota=15)
    uw15 = uw15.withColumn("user_key", F.concat(F.lit("x-"), "user_key"))
    ests = quota_bunching.estimate_all(spark, uw10.unionByName(uw15), QB, seed=11)
    e10, e15 = sorted(ests, key=lambda e: e.weekly_quota)
    assert e10.status == e15.status == "ok"
    assert e10.reference.startswith("stacked") and e15.reference.startswith("stacked")
    edges = quota_bunching.bin_edges(10, QB.window, 1)
    doubled = [2 * counts.get(int(z), 0) for z in edges]
    kw = {k: getattr(QB, k) for k in ("exclude_below", "exclude_above", "max_exclude_below")}
    f = quota_bunching.fit_bunching(
        edges, doubled, 10, order=QB.poly_order, choose_exclusion=True, **kw
    )
    assert e10.B == pytest.approx(f.B, abs=1e-4) and e15.B == pytest.approx(f.B, abs=1e-4)
    assert e10.n_user_weeks == sum(doubled)
    assert e10.weight > 0
    # the same excess in a week at 15 is a smaller share of it: weight x 10/15
    assert e15.weight == pytest.approx(e10.weight * 10 / 15, abs=1e-6)
    assert (e15.z_low, e15.z_high) == (e10.z_low + 5, e10.z_high + 5)
