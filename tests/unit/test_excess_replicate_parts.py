"""The acceptance estimator's per-replicate shortcuts give what the plain computations give:
a resample's feature groups read from its feature runs (``_resample_groups``) against
``_feature_groups``, and every org's median at once (``_org_typical``) against ``np.median``
org by org, on hand-made and random rows with ties."""

import numpy as np

from theater.signals import acceptance_excess as ax


def _plain_typical(t, ok, org, n_orgs):
    out = np.zeros(n_orgs)
    for o in range(n_orgs):
        m = ok & (org == o)
        if m.sum() >= 3:
            out[o] = max(float(np.median(t[m])), 0.0)
    return out


def test_org_typical_by_hand():
    # org 0: 0.1, 0.3, 0.2 (0.5 not ok) -> 0.2; org 1: -0.4, -0.1, -0.2, 0.6 -> (-0.2 - 0.1) / 2
    # = -0.15 -> 0; org 2: two users -> 0
    t = np.array([0.1, 0.3, 0.5, 0.2, -0.4, -0.1, -0.2, 0.6, 0.9, 0.8])
    ok = np.array([1, 1, 0, 1, 1, 1, 1, 1, 1, 1], dtype=bool)
    org = np.array([0, 0, 0, 0, 1, 1, 1, 1, 2, 2])
    assert ax._org_typical(t, ok, org, 3).tolist() == [0.2, 0.0, 0.0]
    # org 1 up by 1: (0.8 + 0.9) / 2
    assert ax._org_typical(t + [0, 0, 0, 0, 1, 1, 1, 1, 0, 0], ok, org, 3)[1] == (0.8 + 0.9) / 2


def test_org_typical_equals_median_org_by_org():
    rng = np.random.default_rng(3)
    for size in (0, 5, 40, 500):
        org = rng.integers(0, 7, size)
        t = np.round(rng.normal(0.1, 0.3, size), 2)  # ties
        ok = rng.random(size) < 0.7
        got = ax._org_typical(t, ok, org, 7)
        assert np.array_equal(got, _plain_typical(t, ok, org, 7))
    t[3] = np.nan  # NaN: np.median's rule
    assert np.array_equal(
        ax._org_typical(t, ok, org, 7), _plain_typical(t, ok, org, 7), equal_nan=True
    )


def test_resample_groups_equal_feature_groups():
    rng = np.random.default_rng(8)
    feature = np.sort(rng.integers(0, 6, 400))  # a resample's rows come feature by feature
    feature = feature[feature != 2]  # a feature no org drew
    n = rng.integers(1, 20, len(feature)).astype(float)
    k = np.minimum(np.floor(n * rng.choice([0.0, 0.2, 0.5], len(feature))), n)
    names, order, bounds, by_rate = ax._feature_groups(feature, n, k)
    got = ax._resample_groups(feature, k / np.maximum(n, 1e-12))
    assert np.array_equal(order, np.arange(len(feature)))  # the identity, left out
    assert got[1] is None
    assert np.array_equal(got[0], names) and np.array_equal(got[2], bounds)
    assert all(np.array_equal(a, b) for a, b in zip(got[3], by_rate, strict=True))
    w = rng.poisson(1.0, len(feature)).astype(float)
    org = rng.integers(0, 4, len(feature))
    s = ax.Settings(min_baseline_users=3)
    assert ax.baselines(feature, n, k, w, s, org, got) == ax.baselines(feature, n, k, w, s, org)
