"""The acceptance estimator's baselines with each feature's rows grouped and ordered by rate
once for all replicates (``_feature_groups``) give the same values as a plain weighted quantile
of each replicate's rows: worked by hand on a small frame, and against a direct computation
over random bootstrap weights with many tied rates."""

import numpy as np
import pytest

from theater.signals import acceptance_excess as ax


def _frame():
    # feature 0: 8 users in two orgs (rates with ties; u2 has weight 0 in this replicate);
    # feature 1: 3 users of 3-4 outputs (under min_user_outputs: the shrunk-rate path)
    feature = np.array([0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1])
    org = np.array([0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0])
    n = np.array([10, 10, 20, 10, 10, 10, 10, 10, 3, 3, 4], dtype=float)
    k = np.array([2, 1, 2, 5, 0, 3, 1, 4, 0, 3, 2], dtype=float)
    w = np.array([1, 2, 0, 1, 1, 1, 1, 3, 1, 1, 1], dtype=float)
    return feature, org, n, k, w


@pytest.mark.parametrize("q, want", [(0.25, 0.1), (0.5, 0.2), (0.75, 0.4)])
def test_baselines_worked_by_hand(q, want):
    feature, org, n, k, w = _frame()
    s = ax.Settings(baseline_quantile=q, min_user_outputs=10, min_baseline_users=3)
    # feature 0, users with >= 10 outputs and weight: each org weighs 1, shared by its users
    # (org 0: 1+2+1, org 1: 1+1+1+3). By rate: u4 0.0 (1/6), u1 0.1 (2/4), u6 0.1 (1/6),
    # u0 0.2 (1/4), u5 0.3 (1/6), u7 0.4 (3/6), u3 0.5 (1/4); total 2, cumulated
    # 1/6, 2/3, 5/6, 13/12, 5/4, 7/4, 2: q=0.25 -> 0.5 -> u1; 0.5 -> 1 -> u0; 0.75 -> 1.5 -> u7.
    # feature 1: pooled (0+3+2)/10 = 0.5; raw rates 0, 1, 0.5. How far they are pulled is set
    # by their spread beyond sampling: spread (1/4 + 1/4 + 0)/3 = 1/6, sampling
    # (1/4)(1/3 + 1/3 + 1/4)/3 = 11/144, tau^2 = 13/144, a prior of 0.25/tau^2 - 1 = 23/13
    # outputs (within 1..10). Rates (k + a/2)/(n + a): 23/124, 101/124, 1/2; one org, 1/3 each:
    # q=0.25 -> 23/124, 0.5 -> 1/2, 0.75 -> 101/124
    b = ax.baselines(feature, n, k, w, s, org)
    assert b[0] == pytest.approx(want, abs=0)
    assert b[1] == pytest.approx({0.25: 23 / 124, 0.5: 0.5, 0.75: 101 / 124}[q], rel=1e-12)
    groups = ax._feature_groups(feature, n, k)
    assert ax.baselines(feature, n, k, w, s, org, groups) == b


def _direct(feature, n, k, w, s, org):
    """Each feature's baseline from its own rows, sorted in each replicate (no grouping)."""
    out = {}
    for f in np.unique(feature):
        m = feature == f
        nn, kk, ww, oo = n[m], k[m], w[m], org[m]
        den = (ww * nn).sum()
        pooled = (ww * kk).sum() / den if den > 0 else 0.0
        big = (nn >= s.min_user_outputs) & (ww > 0)
        rate = kk / nn
        if big.sum() < s.min_baseline_users:
            big = (nn > 0) & (ww > 0)
            # the pull toward the pooled rate: a prior of p(1 - p) / tau^2 - 1 outputs, tau^2
            # the users' spread beyond sampling, within 1 .. min_user_outputs
            a = float(s.min_user_outputs)
            if big.any():
                spread = np.average((kk[big] / nn[big] - pooled) ** 2, weights=ww[big])
                noise = np.average(pooled * (1 - pooled) / nn[big], weights=ww[big])
                tau2 = max(spread - noise, 1e-9)
                a = float(np.clip(pooled * (1 - pooled) / tau2 - 1, 1.0, s.min_user_outputs))
            rate = (kk + a * pooled) / (nn + a)
        if big.sum() < s.min_baseline_users:
            out[f] = pooled
            continue
        per_org = np.bincount(oo[big], weights=ww[big])
        ew = ww[big] / per_org[oo[big]]
        out[f] = ax._weighted_quantile(rate[big], ew, s.baseline_quantile)
    return out


def test_grouped_baselines_equal_a_direct_computation_over_replicates():
    rng = np.random.default_rng(5)
    rows = 3000
    feature = rng.integers(0, 7, rows)
    org = rng.integers(0, 5, rows)
    n = rng.integers(1, 30, rows).astype(float)
    k = np.floor(n * rng.choice([0.0, 0.1, 0.25, 0.5, 1.0], rows))  # many tied rates
    n[feature == 6] = rng.integers(1, 4, (feature == 6).sum())  # a thin feature
    k = np.minimum(k, n)
    s = ax.Settings()
    groups = ax._feature_groups(feature, n, k)
    for _ in range(30):
        w = rng.poisson(1.0, rows).astype(float)
        got = ax.baselines(feature, n, k, w, s, org, groups)
        want = _direct(feature, n, k, w, s, org)
        assert got.keys() == want.keys()
        for f in want:
            assert got[f] == want[f], f
