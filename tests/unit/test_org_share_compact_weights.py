"""The incentive org shares hold every org's Poisson weights as bytes until the org is
estimated (``incentives._compact``): read back they are the same doubles, and the day sums
built from them are the same numbers."""

from __future__ import annotations

import numpy as np

from theater.signals import checkpoint_burst
from theater.stages import incentives


def test_compact_weights_are_the_same_doubles():
    a = np.random.default_rng(7).poisson(1.0, (200, 57))
    small = incentives._compact(a)
    assert small.dtype == np.uint8 and small.nbytes * 8 == a.astype(float).nbytes
    assert np.array_equal(small.astype(float), a.astype(float))
    big = incentives._compact(np.array([[3, 300]]))  # a weight past a byte: kept as doubles
    assert big.dtype == np.float64 and big.tolist() == [[3.0, 300.0]]
    assert incentives._compact(np.zeros((0, 0), dtype=int)).dtype == np.float64


def test_day_sums_from_compact_weights_are_identical():
    rng = np.random.default_rng(3)
    a = rng.poisson(1.0, (40, 9))
    window, ordinary = rng.uniform(0, 5, 4), rng.uniform(0, 5, (4, 6))
    idx = np.array([1, 4, 5, 8])
    sums = []
    for w in (a.astype(float), incentives._compact(a)):
        s = checkpoint_burst.DaySums.empty(9, 40, 6, 2)
        s.add(idx, window, ordinary, w)
        sums.append(s)
    assert np.array_equal(sums[0].per_day, sums[1].per_day)
    # one user's row by hand: replicate 0's weights of users 1, 4, 5, 8 times their days
    assert np.allclose(sums[0].per_day[0], a[0, idx].astype(float) @ ordinary)
