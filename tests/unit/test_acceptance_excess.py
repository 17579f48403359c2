"""The excess-unused estimator (theater.signals.acceptance_excess) on hand-made counts, and the
rule that no published interval is zero-width; expected values worked out in the comments."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pandas as pd
import pytest

from theater.signals import acceptance_excess as ax
from theater.transforms.score import org_index

POINT = ax.Settings(replicates=0)  # the point estimate only


def _acc(rows):
    return pd.DataFrame(rows, columns=["org_id", "user_key", "feature", "n", "k"])


def _users(rows):
    return pd.DataFrame(rows, columns=["org_id", "user_key", "usage", "incentive"])


def _baseline_world():
    """'cmp': 12 users of inline completions, 50 of 100 unused each (the feature's genuine
    rate). 'chat': 12 chat users, 10 of 100 unused (genuine). 'game': 12 chat users, 28 of 100
    unused: (0.28 - 0.10) / (1 - 0.10) = 0.20 of their usage is theater."""
    rows = [("cmp", f"c{i}", "ide/completion", 100.0, 50.0) for i in range(12)]
    rows += [("chat", f"h{i}", "ide/chat", 100.0, 10.0) for i in range(12)]
    rows += [("game", f"g{i}", "ide/chat", 100.0, 28.0) for i in range(12)]
    return _acc(rows)


def test_excess_is_over_the_tool_feature_baseline():
    acc = _baseline_world()
    users = _users([(o, u, 100.0, np.nan) for o, u in acc[["org_id", "user_key"]].values])
    got = ax.estimate(acc, users, POINT).set_index("org_id")
    # 1 - accepted/shown would say cmp 0.50, chat 0.10, game 0.28: completions look worst.
    # Over the feature's baseline (its 25% user quantile: 0.50 and 0.10) cmp and chat are 0.
    assert got.loc["cmp", "share"] == pytest.approx(0.0, abs=1e-4)
    assert got.loc["chat", "share"] == pytest.approx(0.0, abs=1e-4)
    assert got.loc["game", "share"] == pytest.approx(0.20, abs=1e-4)
    assert got["reason"].isna().all()
    assert (got["measured_users"] == 12).all()


def test_baselines_are_per_feature_low_quantiles_with_pooled_fallback():
    feature = np.array(["a"] * 12 + ["b"] * 3)
    n = np.array([100.0] * 12 + [10.0] * 3)
    k = np.array([10.0] * 3 + [20.0] * 9 + [1.0, 2.0, 3.0])
    b = ax.baselines(feature, n, k, np.ones(15), ax.Settings())
    # a: rates 0.1 x3, 0.2 x9; the 25% weighted quantile is 0.1
    assert b["a"] == pytest.approx(0.10)
    # b: only 3 users (< 10): the pooled rate 6 / 30
    assert b["b"] == pytest.approx(0.20)


def test_shrinkage_pulls_a_thin_users_extreme_rate_toward_the_org():
    # 'org': 11 chat users at the genuine 10% (usage 100 each) and one user with 2 outputs,
    # both unused (raw excess (2 - 0.2) / 1.8 = 1.0) and 1,000 usage in other tools.
    # Unshrunk, that user alone would make the org 1000 / 2100 = 0.48 theater. With 2 outputs
    # the evidence is thin: V = 2 (2.5/3)(0.5/3) / 1.8^2 = 0.086 against tau^2 ~ 0.03 (moments:
    # the thin user's squared deviation ~0.86 over 24 users), so the user keeps about
    # 0.03 / 0.116 = 0.26 of the raw excess: 0.31, and the org about 1000 x 0.31 / 2100 = 0.15.
    rows = [("org", f"u{i}", "ide/chat", 100.0, 10.0) for i in range(11)]
    rows += [("org", "thin", "ide/chat", 2.0, 2.0)]
    rows += [("ref", f"r{i}", "ide/chat", 100.0, 10.0) for i in range(12)]
    users = [("org", f"u{i}", 100.0, np.nan) for i in range(11)] + [("org", "thin", 1000.0, np.nan)]
    users += [("ref", f"r{i}", 100.0, np.nan) for i in range(12)]
    got = ax.estimate(_acc(rows), _users(users), POINT).set_index("org_id")
    assert 0.10 < got.loc["org", "share"] < 0.20
    # the same user with 200 outputs, 200 unused, is not thin: the org is then mostly theater
    rows[11] = ("org", "thin", "ide/chat", 200.0, 200.0)
    got = ax.estimate(_acc(rows), _users(users), POINT).set_index("org_id")
    assert got.loc["org", "share"] > 0.3


def test_a_user_gaming_two_tools_is_pooled_and_carries_to_unmeasured_usage():
    # baselines: completions 0.5, chat 0.1 (12 genuine users each in 'ref').
    # 'org': 11 genuine users (50 completions at 0.5, 50 chats at 0.1, usage 100) and one gamer
    # with 100 completions, 75 unused ((75 - 50) / 50 = 0.5) and 100 chats, 55 unused
    # ((55 - 10) / 90 = 0.5): pooled (25 + 45) / (50 + 90) = 0.5, applied to all 1,000 of the
    # gamer's usage (800 in a tool without acceptance counts). Org share:
    # 0.5 x 1000 / (1000 + 11 x 100) = 0.238 before shrinkage; one gamer among 36 users makes
    # tau^2 small (~0.005 against V = 0.0022), so the gamer keeps ~0.7 of the excess (~0.15).
    # Without the 800 unmeasured usage the gamer weighs 200 of 1,300: ~0.08.
    rows = [("ref", f"c{i}", "t1/completion", 100.0, 50.0) for i in range(12)]
    rows += [("ref", f"h{i}", "t2/chat", 100.0, 10.0) for i in range(12)]
    for i in range(11):
        rows += [
            ("org", f"u{i}", "t1/completion", 50.0, 25.0),
            ("org", f"u{i}", "t2/chat", 50.0, 5.0),
        ]
    rows += [
        ("org", "gamer", "t1/completion", 100.0, 75.0),
        ("org", "gamer", "t2/chat", 100.0, 55.0),
    ]
    users = [("ref", f"c{i}", 100.0, np.nan) for i in range(12)]
    users += [("ref", f"h{i}", 100.0, np.nan) for i in range(12)]
    users += [("org", f"u{i}", 100.0, np.nan) for i in range(11)] + [
        ("org", "gamer", 1000.0, np.nan)
    ]
    got = ax.estimate(_acc(rows), _users(users), POINT).set_index("org_id")
    assert 0.12 < got.loc["org", "share"] <= 0.2381 + 1e-6
    # ref: no excess; its org mean is shrunk a little toward the mean over orgs
    assert got.loc["ref", "share"] == pytest.approx(0.0, abs=0.005)
    users[-1] = ("org", "gamer", 200.0, np.nan)  # no usage beyond the measured outputs
    thin = ax.estimate(_acc(rows), _users(users), POINT).set_index("org_id")
    assert thin.loc["org", "share"] < 0.10 < 0.12 < got.loc["org", "share"]


def test_incentive_evidence_on_the_same_scale_without_double_counting():
    acc = _baseline_world()
    # every 'chat' user (no excess) shows an incentive share of 0.3; every 'game' user (excess
    # 0.2) shows 0.1: the point adds to the excess only the incentive it does not explain,
    # max(0, 0.3) = 0.3 and max(0.2, 0.1) = 0.2, the upper end the noisy-OR
    # (no overlap at all). ('chat''s org mean moves by ~1e-6 toward the mean over orgs.)
    inc = {"cmp": np.nan, "chat": 0.3, "game": 0.1}
    users = _users([(o, u, 100.0, inc[o]) for o, u in acc[["org_id", "user_key"]].values])
    got = ax.estimate(acc, users, POINT).set_index("org_id")
    assert got.loc["chat", "share"] == pytest.approx(0.3, abs=1e-4)
    assert got.loc["game", "share"] == pytest.approx(0.2, abs=1e-4)
    assert got.loc["game", "ci_high"] >= 1 - (1 - 0.2) * (1 - 0.1) - 1e-9


def test_incentive_share_is_weighed_against_the_orgs_excess_not_each_users():
    # 'chat': 12 genuine chat users, 10 of 100 unused (the baseline: its users and half of
    # 'half''s sit at 0.10, so the 25% quantile, each org weighing the same, is 0.10). 'half':
    # 6 users at 28 of 100 (excess (0.28 - 0.10) / 0.9 = 0.2) and 6 genuine at 10 of 100; its
    # excess share over its 1,200 outputs is 6 x 100 x 0.2 / 1,200 = 0.10. Every 'half' user
    # shows an incentive share i = 0.10, the org's i_o = 0.10: the gamers' excess already
    # holds it, so the org figure is max(0.10, 0.10) = 0.10. Per user, max(i - t~_u, 0) would
    # have added about 0.1 for each of the 6 genuine users (about 0.05 for the org).
    rows = [("chat", f"h{i}", "ide/chat", 100.0, 10.0) for i in range(12)]
    rows += [("half", f"g{i}", "ide/chat", 100.0, 28.0) for i in range(6)]
    rows += [("half", f"n{i}", "ide/chat", 100.0, 10.0) for i in range(6)]
    acc = _acc(rows)
    inc = {"chat": np.nan, "half": 0.10}
    users = _users([(o, u, 100.0, inc[o]) for o, u in acc[["org_id", "user_key"]].values])
    got = ax.estimate(acc, users, POINT).set_index("org_id")
    assert got.loc["half", "share"] == pytest.approx(0.10, abs=1e-9)
    assert got.loc["chat", "share"] == pytest.approx(0.0, abs=1e-9)
    # an incentive share above the org's excess is what the excess does not explain: 0.15
    users.loc[users.org_id == "half", "incentive"] = 0.15
    got = ax.estimate(acc, users, POINT).set_index("org_id")
    assert got.loc["half", "share"] == pytest.approx(0.15, abs=1e-9)
    h = got.loc["half"]
    assert h.ci_low <= h.share <= h.ci_high


def test_interval_widens_for_used_theater_and_brackets_the_point():
    acc = _baseline_world()
    users = _users([(o, u, 100.0, np.nan) for o, u in acc[["org_id", "user_key"]].values])
    got = ax.estimate(acc, users, ax.Settings(replicates=50)).set_index("org_id")
    g = got.loc["game"]
    # upper end: 30% of the theater may have been used, t = 0.18 / (1 - 0.3 - 0.1) = 0.30
    assert g.ci_low <= g.share <= g.ci_high
    assert g.ci_high == pytest.approx(0.30, abs=0.02)


def test_org_without_acceptance_counts_is_na_with_a_reason():
    acc = _baseline_world()
    users = _users(
        [(o, u, 100.0, np.nan) for o, u in acc[["org_id", "user_key"]].values]
        + [("dark", f"d{i}", 100.0, 0.05) for i in range(12)]
    )
    got = ax.estimate(acc, users, POINT).set_index("org_id")
    d = got.loc["dark"]
    assert math.isnan(d.share) and math.isnan(d.ci_low) and math.isnan(d.ci_high)
    assert d.reason.startswith("no acceptance measured")
    assert d.measured_users == 0 and d.acceptance_coverage == 0.0


# ----------------------------------------------------------------------- no zero-width interval


def test_no_published_interval_is_zero_width(spark):
    """'zero': 67 users whose every resampled share is 0 (the bootstrap gives [0, 0]); before,
    0.0 [0.0, 0.0] was published. The Wilson interval over 67 users at 90% replaces it:
    upper = z^2 / (n + z^2) = 2.706 / 69.706 = 3.88%. The incentive index gets the same rule;
    the acceptance estimate too (its bootstrap interval was also flat)."""
    users = spark.createDataFrame(
        [("zero", f"z{i}", 10, 10, 0.0) for i in range(67)]
        + [("ax", f"a{i}", 10, 0, 0.0) for i in range(12)],
        "org_id string, user_key string, n long, n_measured long, sum_p double",
    )
    signals = spark.createDataFrame(
        [("zero", 0.0, 1.0, 1), ("ax", None, 0.0, 0)],
        "org_id string, signal_a double, coverage_a double, _n_measurable_flags int",
    )
    interval = spark.createDataFrame(
        [("zero", 0.0, 0.0)], "org_id string, ci_low double, ci_high double"
    )
    inc = spark.createDataFrame(
        [("zero", 0.0, 0.0, 0.0, "events")],
        "org_id string, _inc_share double, _inc_ci_low double, _inc_ci_high double, "
        "incentive_basis string",
    )
    acceptance = spark.createDataFrame(
        [("ax", 0.1, 0.1, 0.1, 12, 1.0, None)],
        "org_id string, _ax_share double, _ax_low double, _ax_high double, _ax_users int, "
        "_ax_coverage double, _ax_reason string",
    )
    got = {
        r.org_id: r
        for r in org_index(
            users,
            signals,
            interval,
            names=["a"],
            min_users=10,
            dominance_share=0.5,
            top_n=3,
            period_start=date(2026, 7, 1),
            period_end=date(2026, 10, 1),
            run_id="r",
            flag_names=["a"],
            incentive=inc,
            acceptance=acceptance,
            confidence=0.90,
        ).collect()
    }
    z = got["zero"]
    assert (z.theater_index, z.ci_low) == (0.0, 0.0)
    assert z.ci_high == pytest.approx(3.88, abs=0.01)
    assert (z.incentive_index, z.incentive_ci_low) == (0.0, 0.0)
    assert z.incentive_ci_high == pytest.approx(3.88, abs=0.01)
    a = got["ax"]
    assert a.index_basis == "acceptance" and a.theater_index == 10.0
    assert a.not_measurable_reason is None
    # Wilson at p = 0.1 over 12 users, 90% (z^2 = 2.706): centre (0.1 + 0.1128) / 1.2255 =
    # 0.1736, half 1.645 x sqrt(0.0075 + 0.0047) / 1.2255 = 0.1483: [2.53, 32.19]
    assert a.ci_low == pytest.approx(2.53, abs=0.02)
    assert a.ci_high == pytest.approx(32.19, abs=0.05)
    for r in got.values():
        for lo, hi in ((r.ci_low, r.ci_high), (r.incentive_ci_low, r.incentive_ci_high)):
            assert lo is None or hi > lo


def test_acceptance_counts_from_user_days_and_events(spark):
    from pyspark.sql import functions as F

    from theater.transforms.aggregates import USER_DAYS_SCHEMA

    d = date(2026, 7, 6)
    # (source, user, org, feature, requests, shown, accepted, rejected, dismissed)
    spec = [
        ("github_copilot_users", "u1", "A", "code_completion", None, 40, 10, None, None),
        ("github_copilot_users", "u1", "A", "code_completion", None, 20, 5, None, None),
        # 2 requests but 9 accepted + 1 rejected: never fewer outputs than decisions (10)
        ("amazon_q_user_activity", "u2", "A", "inline_chat", 2, None, 9, 1, None),
        # no accepted count: measures nothing
        ("cursor_daily_usage", "u3", "A", "chat", 30, None, None, None, None),
        ("viva_person_query", "u3", "A", "word_subset", 5, None, 1, None, None),
    ]
    rows = [
        (src, u, o, "v", d, f, req, shown, acc, rej, dis) + (None,) * 5 + (1,)
        for src, u, o, f, req, shown, acc, rej, dis in spec
    ]
    user_days = spark.createDataFrame(rows, USER_DAYS_SCHEMA)
    # org A's claude_code_otel events: 2 of 4 carry a disposition (1 used); org G's gateway
    # events never carry one: G measures nothing
    ev = [
        ("A", "u4", "claude_code_otel", "ide", "agent", "accepted"),
        ("A", "u4", "claude_code_otel", "ide", "agent", "discarded"),
        ("A", "u4", "claude_code_otel", "ide", "agent", None),
        ("A", "u5", "claude_code_otel", "ide", "agent", None),
        ("G", "g1", "claude_code_otel", "ide", "agent", None),
        ("G", "g1", "litellm_spend_logs", "assistant", "chat", None),
    ]
    events = spark.createDataFrame(
        ev,
        "org_id string, user_key string, source_format string, tool string, action string, "
        "output_disposition string",
    )
    got = {
        (r.org_id, r.user_key, r.feature): (r.n, r.k)
        for r in ax.acceptance_counts(user_days, events).orderBy(F.col("feature")).collect()
    }
    assert got == {
        ("A", "u1", "github_copilot_users/code_completion"): (60.0, 45.0),
        ("A", "u2", "amazon_q_user_activity/inline_chat"): (10.0, 1.0),
        # events: unused = no used disposition, over all the feature's events of the org
        ("A", "u4", "claude_code_otel/ide/agent"): (3.0, 2.0),
        ("A", "u5", "claude_code_otel/ide/agent"): (1.0, 1.0),
    }


def test_low_end_allows_an_org_genuine_rate_above_the_tools():
    # baseline: 'ref', 12 chat users at the genuine 10 of 100 unused (feature quantile 0.10).
    # 'uniform': all 12 users leave 28 of 100 unused, excess (0.28 - 0.10) / 0.90 = 0.20 each:
    # everyone games a little, or the org's genuine rate is 0.28; counts cannot tell. The
    # point is 0.20; the low end takes only the excess over the org's typical (median) user,
    # 0.20 - 0.20 = 0.
    # 'half': 7 users at 10 of 100 (excess 0) and 5 at 55 of 100 ((0.55 - 0.10) / 0.90 = 0.5);
    # the typical user is genuine, so the low end keeps the gamers' excess: about the point,
    # 5 x 0.5 / 12 = 0.208 (measured outputs carry the users' own excess, unshrunk; the
    # typical (median) user's excess is 0).
    rows = [("ref", f"r{i}", "ide/chat", 100.0, 10.0) for i in range(12)]
    rows += [("uniform", f"u{i}", "ide/chat", 100.0, 28.0) for i in range(12)]
    rows += [("half", f"h{i}", "ide/chat", 100.0, 10.0) for i in range(7)]
    rows += [("half", f"g{i}", "ide/chat", 100.0, 55.0) for i in range(5)]
    acc = _acc(rows)
    users = _users([(o, u, 100.0, np.nan) for o, u in acc[["org_id", "user_key"]].values])
    got = ax.estimate(acc, users, POINT).set_index("org_id")
    u, h = got.loc["uniform"], got.loc["half"]
    assert u.share == pytest.approx(0.20, abs=0.005)
    assert u.ci_low == pytest.approx(0.0, abs=1e-9)
    assert h.share == pytest.approx(5 * 0.5 / 12, abs=1e-4)
    assert h.ci_low == pytest.approx(h.share, abs=1e-4)
    assert got.loc["ref", "ci_low"] == pytest.approx(0.0, abs=1e-9)
