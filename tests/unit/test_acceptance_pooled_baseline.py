"""Step 1 of the acceptance estimator when a feature reaches few orgs: a thin feature's users
pulled toward its pooled rate only as far as their spread allows, and a feature's baseline
pulled toward its kind's baseline across sources by how uncertain it is. Expected values
worked out by hand in the comments."""

import numpy as np
import pytest

from theater.signals import acceptance_excess as ax

S = ax.Settings(min_user_outputs=10, min_baseline_users=2, baseline_quantile=0.25)


def _rows(spec):
    """spec: (feature code, org code, n, k) per user row."""
    f, o, n, k = (np.array(c) for c in zip(*spec))
    return f.astype(int), o.astype(int), n.astype(float), k.astype(float)


def test_thin_feature_pulled_by_its_users_spread():
    # 4 users of 5 outputs (none reaches 10): pooled p = 8/20 = 0.4; raw rates 0, 0, 0.8, 0.8
    # spread = mean((r - p)^2) = 0.16, sampling noise = p(1-p)/5 = 0.048, tau^2 = 0.112
    # prior worth a = p(1-p)/tau^2 - 1 = 0.24/0.112 - 1 = 8/7 outputs (within [1, 10])
    # pulled rates: (0 + 8/7 * 0.4) / (5 + 8/7) = 3.2/43 (x2), (4 + 3.2/7) / (43/7) (x2)
    # 25% quantile (one org, equal weights): the lowest, 3.2/43 = 0.0744
    s = ax.Settings(min_user_outputs=10, min_baseline_users=4, baseline_quantile=0.25)
    f, o, n, k = _rows([(0, 0, 5, 0), (0, 0, 5, 0), (0, 0, 5, 4), (0, 0, 5, 4)])
    b = ax.baselines(f, n, k, np.ones(4), s, o)
    assert b[0] == pytest.approx(3.2 / 43, abs=1e-9)
    # the fixed pull of 10 outputs would give (0 + 4) / 15 = 0.267: inside the two heavy users


def test_thin_feature_users_alike_keep_the_full_pull():
    # 4 users 2 of 4 unused: no spread beyond sampling, the pull is capped at 10 outputs:
    # (2 + 10 * 0.5) / 14 = 0.5
    s = ax.Settings(min_user_outputs=10, min_baseline_users=4, baseline_quantile=0.25)
    f, o, n, k = _rows([(0, 0, 4, 2)] * 4)
    assert ax.baselines(f, n, k, np.ones(4), s, o)[0] == pytest.approx(0.5)


def test_thin_feature_pull_at_least_one_output():
    # rates 0, 0, 1, 1 of 4: p = 0.5, spread 0.25, noise 0.0625, a = 0.25/0.1875 - 1 = 1/3,
    # raised to 1: (0 + 0.5) / 5 = 0.1
    s = ax.Settings(min_user_outputs=10, min_baseline_users=4, baseline_quantile=0.25)
    f, o, n, k = _rows([(0, 0, 4, 0), (0, 0, 4, 0), (0, 0, 4, 4), (0, 0, 4, 4)])
    assert ax.baselines(f, n, k, np.ones(4), s, o)[0] == pytest.approx(0.1)


# Two sources of one kind, two orgs each, two users of 10 outputs per org.
# source a (feature 0): orgs 0, 1, every user 1 of 10 unused -> 0.1; without either org 0.1
# source b (feature 1): org 2 users 3 of 10, org 3 users 5 of 10 -> 25% quantile 0.3;
#   without org 2: 0.5, without org 3: 0.3
TWO_SOURCES = [
    (0, 0, 10, 1),
    (0, 0, 10, 1),
    (0, 1, 10, 1),
    (0, 1, 10, 1),
    (1, 2, 10, 3),
    (1, 2, 10, 3),
    (1, 3, 10, 5),
    (1, 3, 10, 5),
]


def test_without_kinds_each_feature_keeps_its_own():
    f, o, n, k = _rows(TWO_SOURCES)
    b = ax.baselines(f, n, k, np.ones(8), S, o)
    assert b == pytest.approx({0: 0.1, 1: 0.3})


def test_few_org_feature_pulled_toward_its_kind():
    # jackknife over orgs: v_a = 0 (floored at 1e-6); b's leave-one-out values 0.5 and 0.3,
    #   mean 0.4: v_b = (2 - 1)/2 * (0.01 + 0.01) = 0.01
    # between sources: var(0.1, 0.3) = 0.02, minus mean v 0.0050005: tau^2 = 0.0149995
    # the kind over all 4 orgs (8 users, 1/8 each): 0.1 x4, 0.3 x2, 0.5 x2 -> 25% quantile 0.1
    # a: 0.1 + tau^2/(tau^2 + 1e-6) * 0 = 0.1
    # b: 0.1 + 0.0149995/0.0249995 * (0.3 - 0.1) = 0.1 + 0.59999 * 0.2 = 0.22
    f, o, n, k = _rows(TWO_SOURCES)
    b = ax.baselines(f, n, k, np.ones(8), S, o, kinds=np.array([0, 0]))
    assert b[0] == pytest.approx(0.1, abs=1e-9)
    assert b[1] == pytest.approx(0.1 + 0.0149995 / 0.0249995 * 0.2, abs=1e-9)


def test_sources_that_differ_where_well_measured_keep_their_own():
    # a: 4 orgs, every user 0.1; b: 4 orgs, every user 0.5. Leave-one-out never moves either
    # (v = 1e-6 each), the sources differ by 0.4: tau^2 = 0.08 - 1e-6, lam = 0.99998
    spec = [(0, g, 10, 1) for g in range(4) for _ in range(2)]
    spec += [(1, g, 10, 5) for g in range(4, 8) for _ in range(2)]
    f, o, n, k = _rows(spec)
    b = ax.baselines(f, n, k, np.ones(16), S, o, kinds=np.array([0, 0]))
    assert b[0] == pytest.approx(0.1, abs=1e-4)
    assert b[1] == pytest.approx(0.5, abs=1e-4)


def test_other_kinds_and_zero_weight_rows_untouched():
    # the same rows as two kinds: nothing pooled
    f, o, n, k = _rows(TWO_SOURCES)
    assert ax.baselines(f, n, k, np.ones(8), S, o, kinds=np.array([0, 1])) == pytest.approx(
        {0: 0.1, 1: 0.3}
    )
    # a bootstrap replicate that drops org 3 (weight 0): b is 0.3 from org 2 alone, and with
    # one org left its spread cannot be measured, so it keeps its own baseline
    w = np.array([1, 1, 1, 1, 1, 1, 0, 0], dtype=float)
    b = ax.baselines(f, n, k, w, S, o, kinds=np.array([0, 0]))
    assert b == pytest.approx({0: 0.1, 1: 0.3})


def test_kinds_indexed_by_feature_code_not_position():
    # feature codes 0 and 2 only (code 1 has no rows): kinds[2] is feature 2's kind
    f, o, n, k = _rows([(c * 2, g, nn, kk) for c, g, nn, kk in TWO_SOURCES])
    pooled = ax.baselines(f, n, k, np.ones(8), S, o, kinds=np.array([0, 1, 0]))
    assert pooled[2] == pytest.approx(0.1 + 0.0149995 / 0.0249995 * 0.2, abs=1e-9)
    apart = ax.baselines(f, n, k, np.ones(8), S, o, kinds=np.array([0, 0, 1]))
    assert apart == pytest.approx({0: 0.1, 2: 0.3})


def test_feature_kinds_drop_the_source():
    names = [
        "amazon_q_user_activity/code_completion",
        "claude_code_otel/ide/agent",
        "cursor_daily_usage/code_completion",
        "github_copilot_users/chat_panel_ask_mode",
    ]
    kinds = ax.feature_kinds(names)
    assert kinds[0] == kinds[2]
    assert len({kinds[0], kinds[1], kinds[3]}) == 3


def test_estimate_pools_code_completions_of_two_sources():
    # through estimate: the kind is read from the feature keys; source b's orgs, set alone at
    # 0.3, are measured from 0.22 (above), so their excess is larger than without pooling
    import pandas as pd

    rows = []
    for i, (f, g, nn, kk) in enumerate(TWO_SOURCES * 3):
        src = "a_src/code_completion" if f == 0 else "b_src/code_completion"
        rows.append((f"org-{g}", f"u{i}", src, nn, kk))
    acc = pd.DataFrame(rows, columns=["org_id", "user_key", "feature", "n", "k"])
    users = acc[["org_id", "user_key"]].assign(usage=10.0, incentive=np.nan)
    s = ax.Settings(min_user_outputs=10, min_baseline_users=2, replicates=0, min_measured_users=2)
    out = ax.estimate(acc, users, s).set_index("org_id")
    # org-2: every user 0.3 against b = 0.22: (0.3 - 0.22) / (1 - 0.22) = 0.1026
    assert out.loc["org-2", "share"] == pytest.approx(0.08 / 0.78, abs=1e-3)
    # without a second source (b's feature renamed to its own kind) org-2 sits at 0
    acc2 = acc.assign(feature=acc["feature"].str.replace("b_src/code_completion", "b_src/other"))
    out2 = ax.estimate(acc2, users, s).set_index("org_id")
    assert out2.loc["org-2", "share"] == pytest.approx(0.0, abs=1e-9)
