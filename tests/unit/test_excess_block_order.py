"""The acceptance estimator's replicate arithmetic read in another order gives the same bits:
the org mix's sums in an order that interleaves the orgs (``_interleaved``, ``_group_sums``,
``mix_baselines``) against the plain per-org sums, and a replicate's drawn rows read in
block order (``_resample_positions``, ``_block_rows``) against the drawn rows themselves
(``_org_resample``). Hand-made groups, then random rows."""

import numpy as np
import pandas as pd

from theater.signals import acceptance_excess as ax


def test_interleaved_takes_one_row_of_each_group_in_turn():
    # groups 0: rows 0-2, 1: rows 3-4, 2: row 5 -> 0, 3, 5, 1, 4, 2
    group = np.array([0, 0, 0, 1, 1, 2])
    order, grouped = ax._interleaved(group)
    assert order.tolist() == [0, 3, 5, 1, 4, 2]
    assert grouped.tolist() == [0, 1, 2, 0, 1, 0]


def test_group_sums_are_the_plain_sums_bit_for_bit():
    # 0.1 + 0.2 + 0.3 in that order is 0.6000000000000001, not 0.6: the order is kept
    group = np.array([0, 0, 0, 1, 1])
    x = np.array([0.1, 0.2, 0.3, 1.0, 2.0])
    got = ax._group_sums(group, x, ax._interleaved(group))
    assert got.tolist() == [0.1 + 0.2 + 0.3, 3.0]
    rng = np.random.default_rng(4)
    group = np.sort(rng.integers(0, 9, 5000))
    x = rng.normal(0, 1e3, 5000) * rng.random(5000) ** 8  # magnitudes far apart
    plain = np.bincount(group, weights=x)
    assert plain.tobytes() == ax._group_sums(group, x, ax._interleaved(group)).tobytes()


def test_mix_baselines_with_interleave_and_an_org_without_weight():
    # org 0: baselines 0.1 (weight 1) and 0.4 (weight 2) -> 0.9 / 3 = 0.3 on both rows;
    # org 1: no weight -> each row keeps its own baseline
    group = np.array([0, 0, 1, 1])
    bf = np.array([0.1, 0.4, 0.2, 0.5])
    weight = np.array([1.0, 2.0, 0.0, 0.0])
    for inter in (None, ax._interleaved(group)):
        got = ax.mix_baselines(group, bf, weight, inter)
        assert got.tolist() == [(0.1 + 0.8) / 3, (0.1 + 0.8) / 3, 0.2, 0.5]
    weight[2] = 1.0  # every org weighted: one gather
    assert ax.mix_baselines(group, bf, weight, ax._interleaved(group))[3] == 0.2


def _random_frame(seed):
    rng = np.random.default_rng(seed)
    rows = [
        (f"org-{o}", f"u{o}-{u}", f"src/{f}", float(n), float(rng.integers(0, n + 1)))
        for o in range(6)
        for u in range(int(rng.integers(3, 15)))
        for f in range(int(rng.integers(1, 4)))
        for n in [int(rng.integers(1, 40))]
    ]
    acc = pd.DataFrame(rows, columns=["org_id", "user_key", "feature", "n", "k"])
    users = acc.groupby(["org_id", "user_key"], as_index=False)["n"].sum()
    users = users.rename(columns={"n": "usage"}).assign(incentive=np.nan)
    return ax._frame(acc, users)


def test_block_order_reads_the_drawn_rows():
    for seed in range(5):
        fr = _random_frame(seed)
        pos, copy, feature = ax._resample_positions(fr, np.random.default_rng(seed))
        rows, copy_rows = ax._org_resample(fr, np.random.default_rng(seed))
        n_b, k_b, rate_b, user_b = ax._block_rows(fr)
        assert np.array_equal(copy, copy_rows)
        assert np.array_equal(feature, fr.row_feature[rows])
        assert np.array_equal(n_b[pos], fr.n[rows]) and np.array_equal(k_b[pos], fr.k[rows])
        assert np.array_equal(user_b[pos], fr.row_user[rows])
        assert rate_b[pos].tobytes() == ax._fixed(fr).rate[rows].tobytes()


def test_interleave_used_only_for_rows_in_org_order():
    fr = _random_frame(1)
    assert ax._fixed(fr).org_interleave is not None  # _frame sorts by org
    fr.row_user = fr.row_user[::-1].copy()
    fr.n, fr.k = fr.n[::-1].copy(), fr.k[::-1].copy()
    fr.fixed = None
    assert ax._fixed(fr).org_interleave is None
