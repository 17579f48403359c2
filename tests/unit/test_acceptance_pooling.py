"""How the excess-unused estimator pools a person's features (theater.signals.acceptance_excess
``spread_weights``): hand-made counts, expected values worked out in the comments."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from theater.signals import acceptance_excess as ax


def test_spread_weights_are_the_median_spread_over_each_features_spread():
    # feature 0: 10 users of 100 outputs, baseline 0.1, 5 leave 10 unused (excess 0) and 5
    # leave 30 ((0.3 - 0.1) / 0.9 = 2/9): spread (1/9)^2 = 0.0123457.
    # feature 1: baseline 0.5, 5 users at 50 (0) and 5 at 60 ((0.6 - 0.5) / 0.5 = 0.2):
    # spread 0.1^2 = 0.01. Median spread (0.0123457 + 0.01) / 2 = 0.0111728:
    # weights 0.0111728 / 0.0123457 = 0.905 and 0.0111728 / 0.01 = 1.117.
    # feature 2: 3 users (< min_baseline_users 10): weight 1. A row of feature 0 with 4
    # outputs (< min_user_outputs 10) does not enter the spread but takes its feature's weight.
    feature = np.array([0] * 10 + [1] * 10 + [2] * 3 + [0])
    n = np.array([100.0] * 23 + [4.0])
    k = np.array([10.0] * 5 + [30.0] * 5 + [50.0] * 5 + [60.0] * 5 + [1.0, 2.0, 3.0] + [4.0])
    b = np.array([0.1] * 10 + [0.5] * 10 + [0.2] * 3 + [0.1])
    got = ax.spread_weights(feature, n, k, b, np.ones(24), ax.Settings())
    assert got[0] == pytest.approx(0.0111728 / 0.0123457, rel=1e-4)
    assert got[10] == pytest.approx(1.11728, rel=1e-4)
    assert got[20] == 1.0
    assert got[23] == got[0]
    # bootstrap weights: rows weighted 0 leave the spread (feature 1 then has 9 users: 1)
    w = np.ones(24)
    w[10] = 0.0
    assert ax.spread_weights(feature, n, k, b, w, ax.Settings())[11] == 1.0


def test_spread_weights_are_capped_and_flat_when_nobody_varies():
    # feature 0 as above (0.0123457); feature 1: 10 users all at the baseline (spread 0);
    # feature 2: 10 users, 5 at excess 0 and 5 at 0.5 (spread 0.0625). Median spread
    # 0.0123457: feature 1 weighs at most 10, feature 2 0.0123457 / 0.0625 = 0.1975.
    feature = np.array([0] * 10 + [1] * 10 + [2] * 10)
    n = np.full(30, 100.0)
    k = np.array([10.0] * 5 + [30.0] * 5 + [10.0] * 10 + [10.0] * 5 + [55.0] * 5)
    b = np.full(30, 0.1)
    got = ax.spread_weights(feature, n, k, b, np.ones(30), ax.Settings())
    assert (got[0], got[10]) == (pytest.approx(1.0), pytest.approx(10.0))
    assert got[20] == pytest.approx(0.0123457 / 0.0625, rel=1e-4)
    # every feature without spread: nothing to weigh by, all 1
    flat = ax.spread_weights(feature, n, np.full(30, 10.0), b, np.ones(30), ax.Settings())
    assert (flat == 1.0).all()


def test_a_persons_excess_pools_features_by_their_spread():
    # 'ref' sets both baselines (25% user quantile 0.1) and spreads, 12 users each:
    # a/noisy 6 at 10 of 100 and 6 at 50 (excess 0 or 4/9: spread 4/81);
    # b/steady 6 at 10 and 6 at 20 (0 or 1/9: spread 0.25/81). Median 2.125/81: weights
    # 2.125/4 = 0.53125 and 2.125/0.25 = 8.5.
    # 'g': one user (too few outputs to enter baselines or spreads) with a/noisy 5 of 5 unused
    # and b/steady 1 of 9. Pooled by spread: E = 0.53125 (5 - 0.5) + 8.5 (1 - 0.9) = 3.240625,
    # D = 0.53125 x 4.5 + 8.5 x 8.1 = 71.240625: 0.0455; pooled flat
    # (4.5 + 0.1) / (4.5 + 8.1) = 0.365 (the five unused outputs of a feature whose users
    # scatter widely would make the person mostly theater).
    rows = [("ref", f"n{i}", "a/noisy", 100.0, 10.0 if i < 6 else 50.0) for i in range(12)]
    rows += [("ref", f"s{i}", "b/steady", 100.0, 10.0 if i < 6 else 20.0) for i in range(12)]
    rows += [("g", "p", "a/noisy", 5.0, 5.0), ("g", "p", "b/steady", 9.0, 1.0)]
    acc = pd.DataFrame(rows, columns=["org_id", "user_key", "feature", "n", "k"])
    users = acc.groupby(["org_id", "user_key"], as_index=False)["n"].sum()
    users = users.rename(columns={"n": "usage"}).assign(incentive=np.nan)
    s = ax.Settings(replicates=0, min_measured_users=1)
    got = ax.estimate(acc, users, s).set_index("org_id")
    # the org's figure is its one user's own excess on all 14 outputs
    assert got.loc["g", "share"] == pytest.approx(3.240625 / 71.240625, abs=1e-6)
    flat = ax.estimate(
        acc, users, ax.Settings(replicates=0, min_measured_users=1, pool_by_spread=False)
    )
    assert flat.set_index("org_id").loc["g", "share"] == pytest.approx(4.6 / 12.6, abs=1e-6)


def test_a_thin_features_baseline_pulls_each_rate_toward_the_pooled_one():
    # 12 users of 3 outputs each (none has min_user_outputs 10): 6 leave 0 unused, 6 leave 1.
    # Raw rates 0 and 1/3: their 25% quantile is 0, and every unused output would read as
    # theater. Pooled rate 6 / 36 = 1/6; each rate as if it had 10 more outputs at 1/6:
    # (0 + 10/6) / 13 = 0.128205 and (1 + 10/6) / 13 = 0.205128; the 25% quantile 0.128205.
    feature = np.array(["thin"] * 12)
    n = np.full(12, 3.0)
    k = np.array([0.0] * 6 + [1.0] * 6)
    b = ax.baselines(feature, n, k, np.ones(12), ax.Settings())
    assert b["thin"] == pytest.approx((10 / 6) / 13, abs=1e-9)
    # with 10 users of 100 outputs the big users alone set it, unshrunk (25% of 0.1 x5, 0.3 x5)
    feature = np.array(["thin"] * 12 + ["big"] * 10)
    n = np.array([3.0] * 12 + [100.0] * 10)
    k = np.array([0.0] * 6 + [1.0] * 6 + [10.0] * 5 + [30.0] * 5)
    b = ax.baselines(feature, n, k, np.ones(22), ax.Settings())
    assert b["big"] == pytest.approx(0.10)
