"""Scoring transforms on hand-made rows; expected values computed by hand in comments."""

from __future__ import annotations

import math
from datetime import date

import pytest
from pyspark.sql import functions as F

from theater.columns import poisson_weight
from theater.transforms.score import (
    agg_org_signals,
    agg_org_users,
    bootstrap_interval,
    org_index,
    with_labels,
)

NAMES = ["a", "b"]


def _q3_index(users, signals, interval, **kw):
    """``org_index`` of ``NAMES`` for 2026Q3, at least 10 users, dominance share 0.5."""
    return org_index(
        users,
        signals,
        interval,
        names=NAMES,
        min_users=10,
        dominance_share=0.5,
        period_start=date(2026, 7, 1),
        period_end=date(2026, 10, 1),
        **kw,
    )


def test_theater_probability_is_noisy_or_and_ignores_na(spark):
    df = spark.createDataFrame(
        [(1, True, True), (2, True, None), (3, False, None), (4, None, None), (5, False, True)],
        "id int, sig_a boolean, sig_b boolean",
    )
    out = df.transform(with_labels({"a": 0.5, "b": 0.2}, 0.5))
    got = {
        r.id: (
            None if r.theater_probability is None else round(r.theater_probability, 6),
            r.flags,
            r.is_theater,
        )
        for r in out.collect()
    }
    # 1 - (1-.5)(1-.2) = 0.6; 1-(1-.5) = .5; a measured false: 0; nothing measured: NA (null p,
    # null is_theater, never 0); 1-(1-.2) = .2
    assert got == {
        1: (0.6, ["a", "b"], True),
        2: (0.5, ["a"], True),
        3: (0.0, [], False),
        4: (None, [], None),
        5: (0.2, ["b"], False),
    }


def test_theater_probability_with_incentive_weight_only(spark):
    # flags NA, incentive weight measured: p = the weight (0.3); weight 0 measured: p = 0
    df = spark.createDataFrame(
        [(1, None, 0.3), (2, None, 0.0), (3, True, 0.5)], "id int, sig_a boolean, sig_w double"
    )
    out = df.transform(with_labels({"a": 1.0, "w": 1.0}, 0.5))
    got = {r.id: round(r.theater_probability, 6) for r in out.collect()}
    assert got == {1: 0.3, 2: 0.0, 3: 1.0}


def test_org_signal_shares_use_measurable_rows_only(spark):
    rows = [("o1", True, None)] * 3 + [("o1", False, None)] + [("o2", True, True)]
    df = spark.createDataFrame(rows, "org_id string, sig_a boolean, sig_b boolean")
    got = {r.org_id: (r.signal_a, r.signal_b) for r in agg_org_signals(df, NAMES, 1).collect()}
    assert got == {"o1": (0.75, None), "o2": (1.0, 1.0)}  # o1: 3 of 4; b never measured
    got2 = {r.org_id: r.signal_a for r in agg_org_signals(df, NAMES, 2).collect()}
    assert got2 == {"o1": 0.75, "o2": None}  # o2 has 1 < 2 measurable rows


def test_org_signal_coverage_and_measurable_flags(spark):
    # o1: a measured on 4 of 8 rows (0.5), b on 1 of 8 (0.125); o2: nothing measured
    rows = (
        [("o1", True, None)] * 3
        + [("o1", False, True)]
        + [("o1", None, None)] * 4
        + [("o2", None, None)] * 5
    )
    df = spark.createDataFrame(rows, "org_id string, sig_a boolean, sig_b boolean")
    got = {r.org_id: r for r in agg_org_signals(df, NAMES, 1, NAMES, 0.2).collect()}
    assert (got["o1"].coverage_a, got["o1"].coverage_b) == (0.5, 0.125)
    assert got["o1"]._n_measurable_flags == 1  # b is under the 0.2 minimum coverage
    assert (got["o2"].coverage_a, got["o2"].coverage_b) == (0.0, 0.0)
    assert got["o2"]._n_measurable_flags == 0
    # with min_rows 5, a (4 measured rows) is not measurable either
    got5 = {
        r.org_id: r._n_measurable_flags for r in agg_org_signals(df, NAMES, 5, NAMES, 0.2).collect()
    }
    assert got5 == {"o1": 0, "o2": 0}


def test_poisson_weights_have_mean_and_variance_one(spark):
    draws = spark.range(20000).select(poisson_weight(7, F.lit("u"), F.col("id")).alias("w"))
    r = draws.agg(F.avg("w").alias("m"), F.var_samp("w").alias("v")).collect()[0]
    # 20,000 draws: standard error of the mean is 1/sqrt(20000) = 0.007
    assert abs(r.m - 1) < 0.03 and abs(r.v - 1) < 0.05


def _org_users(spark, org, shares, n=10):
    return [(org, f"{org}-u{i}", n, n, s * n) for i, s in enumerate(shares)]


def test_bootstrap_interval_brackets_share_and_shrinks_with_users(spark):
    # 10 users: half at share 0.2, half at 0.6 -> org share 0.4
    small = _org_users(spark, "small", [0.2, 0.6] * 5)
    # 200 users with the same mix -> the same share, a ~sqrt(20) narrower interval
    big = _org_users(spark, "big", [0.2, 0.6] * 100)
    df = spark.createDataFrame(
        small + big, "org_id string, user_key string, n long, n_measured long, sum_p double"
    )
    got = {r.org_id: r for r in bootstrap_interval(spark, df, 400, 0.9, 1).collect()}
    for org in ("small", "big"):
        assert got[org].ci_low < 0.4 < got[org].ci_high
    w_small = got["small"].ci_high - got["small"].ci_low
    w_big = got["big"].ci_high - got["big"].ci_low
    # analytic: sd of a user mean = 0.2/sqrt(n_users); 90% width ~ 3.29 sd
    assert w_small == pytest.approx(3.29 * 0.2 / math.sqrt(10), rel=0.35)
    assert w_big == pytest.approx(3.29 * 0.2 / math.sqrt(200), rel=0.35)


def test_org_index_suppresses_small_and_dominated_orgs(spark):
    rows = (
        [("ok", f"u{i}", 10, 10, 3.0) for i in range(12)]  # 120 rows, share 0.3
        + [("tiny", f"t{i}", 10, 10, 1.0) for i in range(9)]  # 9 users < k=10
        + [("dom", "boss", 200, 200, 20.0)]
        + [("dom", f"d{i}", 10, 10, 1.0) for i in range(11)]
    )
    users = spark.createDataFrame(
        rows, "org_id string, user_key string, n long, n_measured long, sum_p double"
    )
    signals = spark.createDataFrame(
        [("ok", 0.25, None), ("tiny", 0.5, 0.5), ("dom", 0.1, 0.2)],
        "org_id string, signal_a double, signal_b double",
    )
    interval = spark.createDataFrame(
        [("ok", 0.28, 0.33), ("tiny", 0.0, 1.0), ("dom", 0.0, 1.0)],
        "org_id string, ci_low double, ci_high double",
    )
    out = _q3_index(users, signals, interval, top_n=3, run_id="r1")
    got = {r.org_id: r for r in out.collect()}
    ok = got["ok"]
    assert (ok.theater_index, ok.ci_low, ok.ci_high) == (30.0, 28.0, 33.0)
    assert (ok.n_users, ok.n_interactions, ok.suppressed) == (12, 120, False)
    assert ok.signal_coverage == 0.5 and ok.top_signals == ["a"] and ok.run_id == "r1"
    assert got["tiny"].suppression_reason == "min_users" and got["tiny"].theater_index is None
    # boss: 200 of 310 interactions = 65% > 50%
    assert got["dom"].suppression_reason == "dominance" and got["dom"].signal_a is None
    assert got["dom"].top_signals is None
    # suppressed: no figures at all, not even counts (the dominated org had 12 users)
    for org in ("tiny", "dom"):
        assert (got[org].n_users, got[org].n_interactions, got[org].ci_low) == (None, None, None)


def test_blank_suppressed_nulls_every_figure_but_keeps_the_reason(spark):
    from theater.transforms.score import blank_suppressed

    df = spark.createDataFrame(
        [("a", True, "min_users", 8, 40.0, "r1", "x"), ("b", False, None, 12, 30.0, "r1", "y")],
        "org_id string, suppressed boolean, suppression_reason string, n_users int, "
        "incentive_index double, run_id string, interval_kind string",
    )
    got = {r.org_id: r.asDict() for r in blank_suppressed(df).collect()}
    assert got["a"] == {
        "org_id": "a",
        "suppressed": True,
        "suppression_reason": "min_users",
        "n_users": None,
        "incentive_index": None,
        "run_id": "r1",
        "interval_kind": None,
    }
    assert got["b"]["n_users"] == 12 and got["b"]["incentive_index"] == 30.0


def test_org_index_widens_interval_to_contain_estimate(spark):
    users = spark.createDataFrame(
        [("o", f"u{i}", 10, 10, 5.0) for i in range(10)],
        "org_id string, user_key string, n long, n_measured long, sum_p double",
    )
    signals = spark.createDataFrame(
        [("o", 0.1, 0.2)], "org_id string, signal_a double, signal_b double"
    )
    interval = spark.createDataFrame(
        [("o", 0.51, 0.6)], "org_id string, ci_low double, ci_high double"
    )
    r = _q3_index(users, signals, interval, top_n=1, run_id="r").collect()[0]
    assert (r.ci_low, r.theater_index, r.ci_high) == (50.0, 50.0, 60.0)
    assert r.top_signals == ["b"]


def test_bootstrap_interval_uses_measured_rows_only(spark):
    # every user: 10 interactions, 4 with a probability summing to 2.0 -> share 0.5 over the
    # measured rows (over all rows it would be 0.2); every replicate gives exactly 0.5
    rows = [("o", f"u{i}", 10, 4, 2.0) for i in range(20)]
    df = spark.createDataFrame(
        rows, "org_id string, user_key string, n long, n_measured long, sum_p double"
    )
    r = bootstrap_interval(spark, df, 50, 0.9, 3).collect()[0]
    assert (r.ci_low, r.ci_high) == (0.5, 0.5)


def _index(spark, users, signals, interval, **kw):
    return {
        r.org_id: r
        for r in _q3_index(
            users, signals, interval, top_n=3, run_id="r", flag_names=NAMES, min_coverage=0.1, **kw
        ).collect()
    }


def test_org_index_unmeasured_org_is_null_with_reason_never_zero(spark):
    # 'gw': 12 users whose 10 interactions each have no measured component (n_measured 0,
    # sum_p 0): the old code published 0.0 [0.0, 0.0]. 'mix': measured on half, share 0.4.
    rows = [("gw", f"g{i}", 10, 0, 0.0) for i in range(12)] + [
        ("mix", f"m{i}", 10, 5, 2.0) for i in range(12)
    ]
    users = spark.createDataFrame(
        rows, "org_id string, user_key string, n long, n_measured long, sum_p double"
    )
    signals = spark.createDataFrame(
        [("gw", None, None, 0.0, 0.0, 0), ("mix", 0.4, None, 0.5, 0.0, 1)],
        "org_id string, signal_a double, signal_b double, coverage_a double, "
        "coverage_b double, _n_measurable_flags int",
    )
    interval = spark.createDataFrame(
        [("gw", 0.0, 0.0), ("mix", 0.35, 0.45)], "org_id string, ci_low double, ci_high double"
    )
    got = _index(spark, users, signals, interval)
    gw, mix = got["gw"], got["mix"]
    assert (gw.theater_index, gw.ci_low, gw.ci_high) == (None, None, None)
    assert gw.not_measurable_reason.startswith("no per-interaction signal measurable")
    assert gw.suppressed is False and gw.index_basis == "none" and gw.signal_coverage == 0.0
    assert gw.incentive_index is None and gw.incentive_not_measurable_reason is not None
    # 24 measured interactions... 12 users x 2.0 / (12 x 5) = 0.4
    assert (mix.theater_index, mix.ci_low, mix.ci_high) == (40.0, 35.0, 45.0)
    assert mix.not_measurable_reason is None and mix.index_basis == "interactions"
    assert (mix.coverage_a, mix.coverage_b, mix.signal_coverage) == (0.5, 0.0, 0.5)
    assert mix.n_interactions == 120


def test_org_index_aggregate_only_org_gets_incentive_index(spark):
    # 'agg' has no interactions: usage (requests) only from user-day aggregates, 12 users;
    # 'small' has 5 aggregate users < k: suppressed, no figures at all
    users = spark.createDataFrame(
        [], "org_id string, user_key string, n long, n_measured long, sum_p double"
    )
    usage = spark.createDataFrame(
        [("agg", f"a{i}", 30.0) for i in range(12)] + [("small", f"s{i}", 30.0) for i in range(5)],
        "org_id string, user_key string, usage double",
    )
    inc = spark.createDataFrame(
        [("agg", 0.125, 0.1, 0.15, "aggregates"), ("small", 0.5, 0.4, 0.6, "aggregates")],
        "org_id string, _inc_share double, _inc_ci_low double, "
        "_inc_ci_high double, incentive_basis string",
    )
    sources = spark.createDataFrame(
        [("agg", ["amazon_q_user_activity"])], "org_id string, sources array<string>"
    )
    signals = spark.createDataFrame(
        [],
        "org_id string, signal_a double, signal_b double, "
        "coverage_a double, coverage_b double, "
        "_n_measurable_flags int",
    )
    interval = spark.createDataFrame([], "org_id string, ci_low double, ci_high double")
    got = _index(spark, users, signals, interval, incentive=inc, usage=usage, sources=sources)
    a = got["agg"]
    assert (a.theater_index, a.ci_low, a.ci_high) == (None, None, None)
    assert a.not_measurable_reason.startswith("no interaction-level data")
    assert (a.incentive_index, a.incentive_ci_low, a.incentive_ci_high) == (12.5, 10.0, 15.0)
    assert (a.incentive_basis, a.index_basis, a.sources) == (
        "aggregates",
        "aggregates",
        ["amazon_q_user_activity"],
    )
    assert (a.n_users, a.n_interactions, a.suppressed) == (12, 0, False)
    s = got["small"]
    assert s.suppressed and s.suppression_reason == "min_users"
    assert (
        s.incentive_index,
        s.incentive_ci_low,
        s.incentive_ci_high,
        s.incentive_basis,
        s.not_measurable_reason,
        s.sources,
    ) == (None,) * 6


def test_org_users_count_only_flag_measured_interactions(spark):
    """An interaction measured only by an incentive weight (quota bunching) has a probability
    but is not in the index's numerator or denominator; nothing measured is left out too."""
    labels = spark.createDataFrame(
        [
            ("o1", "u1", 0.5, True, None, None),  # flag a measured (fired)
            ("o1", "u1", 0.2, None, None, 0.2),  # only the incentive weight
            ("o1", "u2", 0.0, None, False, None),  # flag b measured (not fired)
            ("o1", "u2", None, None, None, None),  # nothing measured
            (None, "u3", 0.9, True, None, None),  # no org: not aggregated
        ],
        "org_id string, user_key string, theater_probability double, sig_a boolean, "
        "sig_b boolean, sig_q double",
    )
    got = {
        r.user_key: (r.n, r.n_measured, round(r.sum_p, 9))
        for r in agg_org_users(labels, ["a", "b"]).collect()
    }
    # u1: 2 rows, 1 flag-measured, p 0.5; u2: 2 rows, 1 flag-measured, p 0.0
    assert got == {"u1": (2, 1, 0.5), "u2": (2, 1, 0.0)}
    # without flag names every row with a probability counts (u1: 0.5 + 0.2)
    old = {r.user_key: (r.n_measured, round(r.sum_p, 9)) for r in agg_org_users(labels).collect()}
    assert old == {"u1": (2, 0.7), "u2": (1, 0.0)}
