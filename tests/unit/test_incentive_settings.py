"""The incentive estimators read their typed config sections and nothing else: each is called
here with small hand-made frames (or binned tables) and a settings dataclass; the expected
values are worked out by hand in the comments."""

from __future__ import annotations

import dataclasses
import math
from datetime import date

import numpy as np
import pytest

from theater.config import CheckpointBurst, QuotaBunching, load_config
from theater.signals import checkpoint_burst, quota_bunching

QB = QuotaBunching(
    enabled=True,
    bin_width=1,
    window=12,
    poly_order=6,
    exclude_below=4,
    exclude_above=1,
    choose_exclusion=True,
    max_exclude_below=8,
    bootstrap_replicates=2,
    min_user_weeks=1000,
    min_users=100,
    min_z=1.645,
    min_pre_user_weeks=300,
)
CB = CheckpointBurst(enabled=True, working_days_before=2, min_users=5, min_z=1.645)


def _notch(x: float) -> np.ndarray:
    """Counts over bins 1..22 (z* = 10, window 12): 100 each, x user-weeks moved from 7, 8, 9
    (x/3 each) up to 10."""
    c = np.full(22, 100.0)
    c[9] += x  # bin 10
    c[6:9] -= x / 3  # bins 7, 8, 9
    return c


def test_the_config_sections_are_the_dataclasses_the_estimators_take():
    s = load_config(env="local", environ={}).incentives
    assert isinstance(s.quota_bunching, QuotaBunching)
    assert isinstance(s.checkpoint_burst, CheckpointBurst)


def test_bunching_regime_from_a_hand_made_binned_table():
    # point: 90 moved; replicates: 80 and 100 moved. A flat polynomial fits exactly off the
    # notch, so B = the moved mass: 90 (point), 80 and 100 (replicates).
    table = {("q", -1): _notch(90), ("q", 0): _notch(80), ("q", 1): _notch(100)}
    e = quota_bunching.estimate_regime("o1", 10, table, {"q": (2290, 150)}, QB)
    assert e.status == "ok" and e.reference == "none"
    assert e.B == pytest.approx(90) and e.M == pytest.approx(90)
    assert e.b == pytest.approx(0.9)  # B / c_hat(10) = 90 / 100
    assert e.z_low == 7 and e.z_high == 11  # narrowest window with B = M; z* + exclude_above
    # SE of B over the replicates: sd(80, 100) = sqrt(200) = 14.142; z = 90 / 14.142 = 6.364
    assert e.se == pytest.approx(math.sqrt(200), abs=1e-6)
    assert e.z == pytest.approx(90 / math.sqrt(200), abs=1e-5)
    # b quantiles over (0.8, 1.0): 5% -> 0.81, 95% -> 0.99
    assert e.b_low == pytest.approx(0.81) and e.b_high == pytest.approx(0.99)
    # w_q = (B / n_bunch) * (shortfall / z*); n_bunch = 190 at 10 + 100 at 11 = 290, the
    # shortfall (30 x 3 + 30 x 2 + 30 x 1) / 90 = 2 -> (90 / 290) * 0.2 = 0.062069
    assert e.weight == pytest.approx(round(90 / 290 * 0.2, 6))


def test_bunching_settings_decide_significance_and_the_sample_rule():
    table = {("q", -1): _notch(90), ("q", 0): _notch(80), ("q", 1): _notch(100)}
    strict = dataclasses.replace(QB, min_z=7.0)  # z = 6.364 < 7: weight 0, not NA
    e = quota_bunching.estimate_regime("o1", 10, table, {"q": (2290, 150)}, strict)
    assert e.status == "ok" and e.weight == 0.0
    bigger = dataclasses.replace(QB, min_users=151)  # 150 users in the window: NA
    e = quota_bunching.estimate_regime("o1", 10, table, {"q": (2290, 150)}, bigger)
    assert e.status == "insufficient_sample" and e.weight is None


def test_estimators_refuse_a_plain_dict_by_name(spark):
    uw = spark.createDataFrame(
        [],
        "org_id string, user_key string, n_interactions long, weekly_quota long, full_week boolean",
    )
    with pytest.raises(TypeError, match="quota_bunching: settings must be"):
        quota_bunching.estimate_all(spark, uw, dataclasses.asdict(QB), seed=1)
    rows = spark.createDataFrame([], "org_id string, user_key string, event_date date")
    days = spark.createDataFrame([], "org_id string, event_date date, day_type string")
    with pytest.raises(TypeError, match="checkpoint_burst: settings must be"):
        checkpoint_burst.estimate(spark, rows, days, dataclasses.asdict(CB))


def _calendar(spark):
    # one org, one week: Mon 6, Tue 7 ordinary; Wed 8, Thu 9 the window; Fri 10 after
    types = {6: "ordinary", 7: "ordinary", 8: "window", 9: "window", 10: "after"}
    return spark.createDataFrame(
        [("o1", date(2026, 7, d), t) for d, t in types.items()],
        "org_id string, event_date date, day_type string",
    )


def _rows(spark):
    # u0-u4: 1 a day, 3 a day on the window days; u5-u9: 1 a day throughout
    rows = []
    for u in range(10):
        for d in range(6, 11):
            n = 3 if (u < 5 and d in (8, 9)) else 1
            rows += [("o1", f"u{u}", date(2026, 7, d))] * n
    return spark.createDataFrame(rows, "org_id string, user_key string, event_date date")


def test_checkpoint_burst_from_a_hand_made_calendar(spark):
    (e,), frame = checkpoint_burst.estimate(spark, _rows(spark), _calendar(spark), CB)
    # cf_u = ordinary_u / 2 ordinary days x 2 window days = 2; u0-u4 obs 6 (e = 4), others 2
    # (e = 0): E = 20, SE = sqrt(5 x 16) = 8.944, z = 2.236; obs = 5 x 6 + 5 x 2 = 40
    assert e.status == "ok" and e.n_users == 10
    assert e.excess == pytest.approx(20) and e.se == pytest.approx(math.sqrt(80))
    assert e.z == pytest.approx(20 / math.sqrt(80), abs=1e-6)
    assert e.burst_ratio == pytest.approx(0.5)
    assert e.reversion == pytest.approx(0.0)  # Friday: 1 each, as ordinary
    assert e.scale == pytest.approx(1.0)  # E / sum of positive excess = 20 / 20
    got = {(r.user_key, r.event_date.day): r.sig_checkpoint_burst for r in frame.collect()}
    # w_u = scale x e_u / window_u = 4 / 6 on u0's window days, 0 for u5
    assert got[("u0", 8)] == pytest.approx(4 / 6, abs=1e-6)
    assert got[("u0", 9)] == pytest.approx(4 / 6, abs=1e-6)
    assert got[("u5", 8)] == 0.0
    assert set(d for _, d in got) == {8, 9}  # window days only


def test_checkpoint_burst_settings_decide_significance_and_the_sample_rule(spark):
    strict = dataclasses.replace(CB, min_z=2.5)  # z = 2.236 < 2.5: measured, weight 0
    (e,), frame = checkpoint_burst.estimate(spark, _rows(spark), _calendar(spark), strict)
    assert e.status == "ok" and e.scale == 0.0
    assert {r.sig_checkpoint_burst for r in frame.collect()} == {0.0}
    few = dataclasses.replace(CB, min_users=11)  # 10 users active in the window: NA
    (e,), frame = checkpoint_burst.estimate(spark, _rows(spark), _calendar(spark), few)
    assert e.status == "insufficient_sample" and frame.count() == 0
