"""The acceptance estimate's interval carries the baseline's between-org uncertainty: each
bootstrap replicate sets a feature's baseline from its orgs drawn with replacement
(theater.signals.acceptance_excess). Hand-made counts; expected values worked out in the
comments."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from theater.signals import acceptance_excess as ax


def _frame(rows):
    acc = pd.DataFrame(rows, columns=["org_id", "user_key", "feature", "n", "k"])
    users = acc.groupby(["org_id", "user_key"], as_index=False)["n"].sum()
    users = users.rename(columns={"n": "usage"}).assign(incentive=np.nan)
    return acc, users


def _org_rows(org, feature, users, n, k_of_user):
    return [(org, f"{org}-u{i:02d}", feature, float(n), float(k_of_user(i))) for i in range(users)]


def _resampled_baseline(fr, s, rng):
    rows, copy = ax._org_resample(fr, rng)
    w = np.ones(len(rows))
    return ax.baselines(fr.row_feature[rows], fr.n[rows], fr.k[rows], w, s, copy)


def test_two_orgs_give_the_worked_out_resampled_baseline():
    # one feature, org A: 12 users at 2 of 20 unused (0.1), org B: 12 users at 6 of 20 (0.3).
    # Two orgs drawn with replacement: {A, A} (1/4) -> 0.1; {B, B} (1/4) -> 0.3; {A, B} (1/2):
    # each org weighs 1, A's users fill the lowest half, the 25% quantile is 0.1.
    # So the resampled baseline is 0.1 with probability 3/4 and 0.3 with 1/4.
    rows = _org_rows("A", "x/cmp", 12, 20, lambda i: 2) + _org_rows(
        "B", "x/cmp", 12, 20, lambda i: 6
    )
    acc, users = _frame(rows)
    fr = ax._frame(acc, users)
    s = ax.Settings()
    rng = np.random.default_rng(7)
    got = np.array([_resampled_baseline(fr, s, rng)[0] for _ in range(4000)])
    assert set(np.round(got, 9)) == {0.1, 0.3}
    # binomial sd of the share at 4000 draws: 0.0068; 0.25 +- 0.03 is > 4 sd
    assert (got > 0.2).mean() == pytest.approx(0.25, abs=0.03)
    # the point reads every org once: 0.1
    assert ax.baselines(fr.row_feature, fr.n, fr.k, np.ones(len(fr.n)), s, fr.user_org)[0] == 0.1


def test_one_org_per_feature_adds_nothing_to_the_replicate():
    # each feature reached by one org: every draw is that org once, the same rows and weights as
    # the user-only replicate, so the replicate's figures are identical
    rows = _org_rows("p", "x/cmp", 12, 40, lambda i: 4 + i)
    rows += _org_rows("q", "y/chat", 12, 30, lambda i: 3 + (i % 5))
    acc, users = _frame(rows)
    fr = ax._frame(acc, users)
    s = ax.Settings()
    point = ax._shares(fr, np.ones(fr.n_users), s)
    tau2 = point[-1]
    rng_w = np.random.default_rng(3)
    for _ in range(5):
        w = rng_w.poisson(1.0, fr.n_users).astype(float)
        plain = ax._shares(fr, w, s, tau2)
        drawn = ax._shares(fr, w, s, tau2, np.random.default_rng(11))
        for a, b in zip(plain[:3], drawn[:3], strict=True):
            np.testing.assert_array_equal(a, b)


def test_features_reached_by_the_same_orgs_draw_the_same_orgs():
    # two features of one export reached by orgs A, B, C; a third feature reached by D alone
    rows = []
    for o in "ABC":
        rows += _org_rows(o, "x/cmp", 3, 10, lambda i: 1)
        rows += _org_rows(o, "x/chat", 3, 10, lambda i: 2)
    rows += _org_rows("D", "y/cmp", 3, 10, lambda i: 1)
    acc, users = _frame(rows)
    fr = ax._frame(acc, users)
    names = np.unique(acc["feature"].astype(str).to_numpy())
    code = {f: i for i, f in enumerate(names)}
    seen = set()
    rng = np.random.default_rng(5)
    for _ in range(30):
        rows_, copy = ax._org_resample(fr, rng)
        org = np.array(fr.orgs)[fr.user_org[fr.row_user[rows_]]]
        feat = fr.row_feature[rows_]

        def drawn(f, org=org, feat=feat, copy=copy):
            m = feat == code[f]
            # one org per drawn copy, in draw order
            return [org[m][copy[m] == c][0] for c in np.unique(copy[m])]

        assert drawn("x/cmp") == drawn("x/chat")
        assert len(drawn("x/cmp")) == 3  # as many draws as orgs
        assert drawn("y/cmp") == ["D"]
        # an org drawn twice brings its rows twice: 3 users x 3 copies per feature
        assert (feat == code["x/cmp"]).sum() == 9
        seen.add(tuple(sorted(drawn("x/cmp"))))
    assert len(seen) > 3  # the draws do vary (10 multisets are possible)


def _upper(rows, org, draw_orgs, replicates=200):
    """The 95% quantile of the org's bootstrap share minus its point share (no used-theater
    allowance, so the upper end is the bootstrap's alone). The users' weights come from one
    stream and the org draws from another: with and without the draw, the same users."""
    acc, users = _frame(rows)
    s = ax.Settings(max_used_theater=0.0)
    fr = ax._frame(acc, users)
    point = ax._shares(fr, np.ones(fr.n_users), s)
    rng_w, rng_o = np.random.default_rng(1), np.random.default_rng(2)
    hi = []
    for _ in range(replicates):
        w = rng_w.poisson(1.0, fr.n_users).astype(float)
        hi.append(ax._shares(fr, w, s, point[-1], rng_o if draw_orgs else None)[2])
    i = fr.orgs.index(org)
    return float(np.quantile(np.array(hi)[:, i], 0.95) - point[0][i])


def test_the_interval_widens_when_few_orgs_set_the_baseline():
    # the orgs' genuine rates differ (2 / 4 / 6 / 8 of 40 outputs, repeating over the orgs,
    # each user +-1), 12 users each; the target org 'zz' at 12 of 40. Drawn with replacement,
    # 4 other orgs move the baseline between 0.05 and 0.2: the target's upper end rises; 24
    # other orgs (the same four rates, six times) barely move it.
    def world(n_orgs):
        rows = []
        for j in range(n_orgs - 1):
            r = (2, 4, 6, 8)[j % 4]
            rows += _org_rows(f"o{j:02d}", "x/cmp", 12, 40, lambda i, r=r: r + (i % 3) - 1)
        rows += _org_rows("zz", "x/cmp", 12, 40, lambda i: 12 + (i % 3) - 1)
        return rows

    extra = {}
    for g in (5, 25):
        rows = world(g)
        extra[g] = _upper(rows, "zz", True) - _upper(rows, "zz", False)
    assert extra[5] > 0.01
    assert abs(extra[25]) < 0.01
    assert extra[5] > 2 * abs(extra[25])
    # the point does not move: the org draw is for the replicates only
    acc, users = _frame(world(5))
    a = ax.estimate(acc, users, ax.Settings(replicates=20)).set_index("org_id")
    b = ax.estimate(acc, users, ax.Settings(replicates=0)).set_index("org_id")
    np.testing.assert_array_equal(a["share"].to_numpy(), b["share"].to_numpy())
