"""The excess-unused estimator (theater.signals.acceptance_excess): the conversion of excess
unused outputs to a share with the org's mix of features, and incentive evidence joined only
where enough people measure it. Hand-made counts; expected values worked out in the comments."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from theater.signals import acceptance_excess as ax


def test_mix_baselines_are_the_weighted_mean_of_the_groups_feature_baselines():
    # group 0: baselines 0.5 (100 outputs) and 0.1 (300): (50 + 30) / 400 = 0.2;
    # group 1: one row at 0.2; group 2: no weight (a bootstrap drew none of it): its own 0.7
    group = np.array([0, 0, 1, 2])
    bf = np.array([0.5, 0.1, 0.2, 0.7])
    weight = np.array([100.0, 300.0, 50.0, 0.0])
    got = ax.mix_baselines(group, bf, weight)
    assert got == pytest.approx([0.2, 0.2, 0.2, 0.7])


def test_a_persons_own_feature_mix_does_not_scale_their_excess():
    # 'ref' sets the baselines (25% quantile, orgs weighing the same): 12 users of a/cmp at 50 of
    # 100 unused (0.5) and 12 of a/chat at 10 of 100 (0.1); org 'm''s chat users sit at 0.3,
    # which does not move the chat quantile (half the weight is at 0.1).
    # 'm': p has 10 cmp (5 unused, excess 0) and 90 chat (27 unused, excess 27 - 9 = 18);
    # q has 90 cmp (45 unused, 0) and 10 chat (3 unused, 3 - 1 = 2). The org's mix: 100 cmp
    # at 0.5 and 100 chat at 0.1, typical genuine rate 0.3: t_p = 18 / (100 x 0.7) = 0.25714,
    # t_q = 2 / 70 = 0.02857, org (100 t_p + 100 t_q) / 200 = 20 / 140 = 0.142857.
    # Converted with each person's own mix instead: 18 / (5 + 81) and 2 / (45 + 9): 0.1232.
    rows = [("ref", f"c{i}", "a/cmp", 100.0, 50.0) for i in range(12)]
    rows += [("ref", f"h{i}", "a/chat", 100.0, 10.0) for i in range(12)]
    rows += [
        ("m", "p", "a/cmp", 10.0, 5.0),
        ("m", "p", "a/chat", 90.0, 27.0),
        ("m", "q", "a/cmp", 90.0, 45.0),
        ("m", "q", "a/chat", 10.0, 3.0),
    ]
    acc = pd.DataFrame(rows, columns=["org_id", "user_key", "feature", "n", "k"])
    users = acc.groupby(["org_id", "user_key"], as_index=False)["n"].sum()
    users = users.rename(columns={"n": "usage"}).assign(incentive=np.nan)
    s = ax.Settings(replicates=0, min_measured_users=1, pool_by_spread=False)
    got = ax.estimate(acc, users, s).set_index("org_id")
    assert got.loc["m", "share"] == pytest.approx(20 / 140, abs=1e-9)
    assert got.loc["ref", "share"] == pytest.approx(0.0, abs=1e-9)


def test_org_incentive_only_where_enough_people_measure_it():
    s = ax.Settings()
    # A: 6 users at 0.3 (no spread): 0.3. B: 5 users at 0 and one at 0.6: mean 0.1,
    # variance 0.06 - 0.01 = 0.05, se sqrt(0.05 / 6) = 0.0913, 1.645 se = 0.150 > 0.1: 0.
    # C: 4 users at 0.3 (< min_measured_users 5): 0. D: 0.2 x4 (usage 100) and 0.4 (usage
    # 400), one more user not measured: mean 0.24, variance 0.064 - 0.0576 = 0.0064, se 0.0358,
    # 1.645 se = 0.059 < 0.24: kept, usage-weighted (4 x 20 + 160) / 800 = 0.30.
    org = np.array([0] * 6 + [1] * 6 + [2] * 4 + [3] * 6)
    inc = np.array([0.3] * 6 + [0.0] * 5 + [0.6] + [0.3] * 4 + [0.2] * 4 + [0.4, np.nan])
    usage = np.array([100.0] * 20 + [400.0, 900.0])
    got = ax.org_incentive(org, inc, usage, np.ones(22), 4, s)
    assert got == pytest.approx([0.3, 0.0, 0.0, 0.30])
    # a bootstrap replicate that drops two of A's users: 4 people measured, below 5: 0
    w = np.ones(22)
    w[:2] = 0.0
    assert ax.org_incentive(org, inc, usage, w, 4, s)[0] == 0.0


def test_one_users_noisy_incentive_share_adds_nothing():
    # 12 chat users at the genuine rate (no excess); one shows an incentive share of 0.6, the
    # others 0: mean 0.05, se sqrt((0.03 - 0.0025) / 12) = 0.0479, 1.645 se = 0.079 > 0.05.
    # Before, that user's 0.6 was added on its own: 0.6 x 100 / 1,200 = 0.05 for the org.
    # With all 12 at 0.05 the org's evidence is measured with enough people: 0.05.
    rows = [("chat", f"h{i}", "ide/chat", 100.0, 10.0) for i in range(12)]
    acc = pd.DataFrame(rows, columns=["org_id", "user_key", "feature", "n", "k"])
    inc = [0.6] + [0.0] * 11
    users = pd.DataFrame(
        [("chat", f"h{i}", 100.0, inc[i]) for i in range(12)],
        columns=["org_id", "user_key", "usage", "incentive"],
    )
    got = ax.estimate(acc, users, ax.Settings(replicates=0)).set_index("org_id")
    assert got.loc["chat", "share"] == pytest.approx(0.0, abs=1e-9)
    users["incentive"] = 0.05
    got = ax.estimate(acc, users, ax.Settings(replicates=0)).set_index("org_id")
    assert got.loc["chat", "share"] == pytest.approx(0.05, abs=1e-9)
