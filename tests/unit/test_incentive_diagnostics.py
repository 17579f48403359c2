"""Incentive diagnostics per org (status, z, users, reason) for gold and MLflow, on hand-made
estimates."""

from __future__ import annotations

import pandas as pd

from theater import tracking
from theater.signals import checkpoint_burst as cb
from theater.signals import quota_bunching as qb
from theater.stages import incentives
from theater.stages.incentives import Incentives


def test_diagnostics_per_org(cfg):
    inc = Incentives(
        bunching=[
            # two regimes after a quota change: the measured one with most users speaks
            qb.Estimate("A", 10, "ok", n_users=120, z=2.5, weight=0.2),
            qb.Estimate("A", 12, "insufficient_sample", n_users=40),
            # estimated, z below min_z: weight 0, which is not an exact 0
            qb.Estimate("B", 10, "ok", n_users=150, z=-0.49, weight=0.0),
            qb.Estimate("C", 10, "insufficient_sample", n_users=30),
        ],
        checkpoints=[
            cb.Estimate("A", "ok", n_users=40, z=3.0, scale=0.4),
            cb.Estimate("B", "insufficient_sample", n_users=3),
        ],
    )
    d = incentives.diagnostics(inc, ["A", "B", "C", "D"], cfg)
    a, b, c, dd = d["A"], d["B"], d["C"], d["D"]
    assert (a["quota_bunching_status"], a["quota_bunching_z"], a["quota_bunching_users"]) == (
        "significant",
        2.5,
        120,
    )
    assert a["quota_bunching_reason"] is None and a["checkpoint_burst_status"] == "significant"
    assert (b["quota_bunching_status"], b["quota_bunching_z"]) == ("not_significant", -0.49)
    assert b["quota_bunching_reason"].startswith("excess not significant (z = -0.49 < 1.645)")
    assert b["checkpoint_burst_status"] == "not_estimated"
    assert b["checkpoint_burst_reason"].startswith("insufficient_sample: needs >= 10 users")
    assert c["quota_bunching_status"] == "not_estimated" and c["quota_bunching_users"] == 30
    assert "1000 user-weeks" in c["quota_bunching_reason"]
    assert dd["quota_bunching_status"] == "not_estimated" and dd["quota_bunching_z"] is None
    assert dd["quota_bunching_reason"] == "no weekly quota in force for the org in the period"
    assert dd["checkpoint_burst_reason"] == (
        "no review checkpoint in force for the org in the period"
    )


def test_mlflow_metrics_and_artifact_from_the_gold_columns():
    rows = pd.DataFrame(
        [
            {
                "org_id": "A",
                "quota_bunching_status": "not_significant",
                "quota_bunching_z": -0.49,
                "quota_bunching_users": 150,
                "quota_bunching_reason": "excess not significant",
                "checkpoint_burst_status": "not_estimated",
                "checkpoint_burst_z": float("nan"),
                "checkpoint_burst_users": None,
                "checkpoint_burst_reason": "no review checkpoint",
            },
            {
                "org_id": "B",
                "quota_bunching_status": "significant",
                "quota_bunching_z": 3.0,
                "quota_bunching_users": 200,
                "quota_bunching_reason": None,
                "checkpoint_burst_status": "not_estimated",
                "checkpoint_burst_z": None,
                "checkpoint_burst_users": None,
                "checkpoint_burst_reason": "no review checkpoint",
            },
        ]
    )
    diag = tracking.incentive_diagnostics(rows)
    assert diag["A"]["quota_bunching"] == {
        "status": "not_significant",
        "z": -0.49,
        "users": 150,
        "reason": "excess not significant",
    }
    assert diag["A"]["checkpoint_burst"]["z"] is None
    m = tracking.incentive_metrics(rows)
    assert m == {
        "incentive.quota_bunching.not_significant": 1.0,
        "incentive.quota_bunching.significant": 1.0,
        "incentive.checkpoint_burst.not_estimated": 2.0,
        "incentive.A.quota_bunching_z": -0.49,
        "incentive.B.quota_bunching_z": 3.0,
    }
    # a lake written before these columns: nothing to log, no error
    assert tracking.incentive_diagnostics(rows[["org_id"]]) == {}
