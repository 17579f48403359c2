"""The org-level acceptance estimate (theater.signals.org_acceptance) on hand-made counts,
every figure worked out by hand."""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest

from theater.signals import org_acceptance as oa

CC = "github_copilot_org_metrics/code_completion"
CHAT = "github_copilot_org_metrics/ide_chat"


def _counts(rows):
    return pd.DataFrame(rows, columns=["org_id", "key", "n", "k"])


def test_share_over_the_tools_typical_rate():
    # five orgs with 1000 completions each, unused rates 0.20, 0.25, 0.30, 0.40, 0.60
    rows = [(f"o{i}", CC, 1000, k) for i, k in enumerate((200, 250, 300, 400, 600))]
    s = oa.Settings(baseline_quantile=0.25, min_orgs=5, min_outputs=100, max_used_theater=0.3)
    est = oa.estimate(_counts(rows), s).set_index("org_id")
    # baseline = 25th percentile of the rates = 0.25 (numpy linear: index 1 of 5)
    b, med, bmin = 0.25, 0.30, 0.20
    z = NormalDist().inv_cdf(0.95)
    o4 = est.loc["o4"]
    assert o4["share"] == pytest.approx((0.60 - b) / (1 - b))  # 0.4667
    se = np.sqrt(1000 * 0.6 * 0.4) / (1000 * (1 - b))
    assert o4["ci_low"] == pytest.approx((0.60 - med) / (1 - med) - z * se)
    assert o4["ci_high"] == pytest.approx((0.60 - bmin) / (1 - 0.3 - bmin) + z * se)
    assert o4["ci_low"] < o4["share"] < o4["ci_high"]
    # under the baseline: no excess, a share of 0 with an interval above it
    o0 = est.loc["o0"]
    assert o0["share"] == 0.0 and o0["ci_low"] == 0.0 and o0["ci_high"] > 0
    assert est["reason"].isna().all()
    # the ranking follows the unused rate
    assert list(est["share"].rank()) == sorted(est["share"].rank())


def test_pooled_over_features_each_with_its_baseline():
    """Chat answers go unused far less than completions: each feature has its own typical rate
    and the org's excess is pooled over both."""
    cc = [(f"o{i}", CC, 1000, k) for i, k in enumerate((200, 250, 300, 400, 600))]
    chat = [(f"o{i}", CHAT, 200, k) for i, k in enumerate((10, 20, 20, 40, 60))]
    est = oa.estimate(_counts(cc + chat)).set_index("org_id")
    # o3: completions 400/1000 over b = 0.25; chat 40/200 over b = 0.10 (25th pct of
    # 0.05, 0.10, 0.10, 0.20, 0.30)
    e = (400 - 1000 * 0.25) + (40 - 200 * 0.10)
    d = 1000 * 0.75 + 200 * 0.90
    assert est.loc["o3", "share"] == pytest.approx(e / d)


def test_no_figure_with_the_reason():
    # four orgs only: no typical rate; a fifth with 50 outputs: too few, though it counts
    few = [(f"o{i}", CC, 1000, 300) for i in range(4)]
    est = oa.estimate(_counts(few)).set_index("org_id")
    assert est["share"].isna().all()
    assert est["reason"].str.startswith("fewer than 5 orgs").all()
    rows = [(f"o{i}", CC, 1000, 300 + 10 * i) for i in range(5)] + [("tiny", CHAT, 50, 5)]
    est = oa.estimate(_counts(rows)).set_index("org_id")
    assert np.isnan(est.loc["tiny", "share"])  # its only key has no baseline
    assert est.loc["tiny", "reason"].startswith("fewer than 5 orgs")
    rows = [(f"o{i}", CC, 1000, 300 + 10 * i) for i in range(5)] + [("tiny", CC, 50, 5)]
    est = oa.estimate(_counts(rows)).set_index("org_id")
    assert np.isnan(est.loc["tiny", "share"])
    assert est.loc["tiny", "reason"] == "fewer than 100 shown outputs with an accepted count"
    assert est.loc["o2", "share"] >= 0


def test_counts_from_org_days(spark):
    from datetime import date

    schema = (
        "source_format string, org_id string, day date, feature string, active_users bigint, "
        "engaged_users bigint, requests bigint, suggestions_shown bigint, accepted bigint, "
        "lines_suggested bigint, lines_accepted bigint, period_days int"
    )
    d = date(2026, 3, 2)
    om = "github_copilot_org_metrics"
    rows = [
        (om, "eng", d, "all", 12, None, None, None, None, None, None, 1),
        (om, "eng", d, "code_completion", None, None, None, 100, 30, None, None, 1),
        (om, "eng", date(2026, 3, 3), "code_completion", None, None, None, 50, 20, None, None, 1),
        (om, "eng", d, "ide_chat", None, None, 40, None, 10, None, None, 1),
        (om, "eng", d, "ide_chat_subset", None, None, 40, None, 10, None, None, 1),
        (om, "eng", d, "copilot_coding_agent", None, None, 7, None, 3, None, None, 1),
        (om, "eng", d, "dotcom_chat", None, None, 9, None, None, None, None, 1),  # no fate
        (om, "eng", d, "code_completion", None, None, None, 500, 100, None, None, 28),  # window
        (om, "eng", date(2026, 2, 28), "code_completion", None, None, None, 9, 1, None, None, 1),
    ]
    got = oa.org_counts(spark.createDataFrame(rows, schema), date(2026, 3, 1), date(2026, 3, 8))
    out = {(r.org_id, r.key): (r.n, r.k) for r in got.collect()}
    assert out == {
        ("eng", f"{om}/code_completion"): (150, 100),
        ("eng", f"{om}/ide_chat"): (40, 30),
    }
