"""The audited interval against detectors that are wrong (pure numpy simulation, seconds).

Worlds from :mod:`theater.audit.simworld` (not the project's generator): 20 orgs of 10-40
users, and a detector that is good, random, constantly biased, or anti-correlated in about
half of the orgs and good in the others. Labels are drawn with ``theater audit sample``'s
design (:func:`theater.audit.sample.draw`) and labelled from the truth. The estimator pools
the orgs (:mod:`theater.audit.pool`: random effects on the detector's share, robust
empirical-Bayes intervals), so these worlds test that the pooling's own uncertainty is
carried: a pooled interval that shrank orgs to a wrong line would miss here.

Tolerance: 15 worlds x 20 orgs = 300 intervals per case. At a true coverage of 0.90 the
binomial SD of 300 checks is 0.017; with worlds as clusters (between-world SD of coverage
up to 0.08) the SE is about sqrt(0.08^2/15 + 0.09/300) = 0.028, so ">= 0.85" sits about 1.8 SE
under 0.90 and fails a case whose coverage is really at 0.80 with probability above 0.9. Seeds
7000-7399 were not used to choose the method (that was 100-119, 500-519, 900-929); the
held-out benchmark (benchmarks/audit_coverage.py) uses others again.
"""

from __future__ import annotations

import pandas as pd
import pytest

from theater.audit import simworld
from theater.audit.estimate import Settings
from theater.audit.simulate import audit_once

WORLDS = 15
SMALL = {"users": (10, 40), "per_user": (5, 40)}
SETTINGS = Settings(replicates=500)
# mean width caps (points) at 300 labels: about 1.15 x what these seeds gave (19.8, 36.2,
# 22.0 and 30.3; on its own labels alone 30-45)
CAP = {"good": 23, "random": 42, "biased": 25, "anti": 35}


def _run(case: str, size: int, base: int, near_zero: int = 0, worlds: int = WORLDS):
    rows = []
    for w in range(worlds):
        df, orgs = simworld.world(base + w, case, near_zero=near_zero, **SMALL)
        est, labels = audit_once(df, orgs, size, base + w, SETTINGS)
        assert len(labels) == size
        k = labels.groupby("org_id")["label"].sum()
        rows.append(
            est.merge(orgs[["org_id", "near_zero"]], on="org_id").assign(
                world=w, theater_labels=est["org_id"].map(k).fillna(0).to_numpy()
            )
        )
    return pd.concat(rows, ignore_index=True)


@pytest.mark.parametrize("k, case", enumerate(["good", "random", "biased", "anti"]))
def test_labels_give_nominal_coverage_whatever_the_detector(k, case):
    res = _run(case, 300, 7000 + 100 * k)
    coverage = res["covered"].mean()
    width = 100 * (res["ci_high"] - res["ci_low"]).mean()
    print(f"{case}: coverage {coverage:.3f}, mean width {width:.1f} points")
    assert coverage >= 0.85, f"{case}: coverage {coverage:.3f} of {len(res)} intervals"
    # not covered by being useless. The orgs' own labels alone (15 an org) gave 30-45 points
    # here; pooling narrows the interval where the detector errs alike across orgs
    assert width <= CAP[case], f"{case}: mean width {width:.1f} points"
    # the estimate follows the truth, not the detector
    mae = (res["share"] - res["theater_share"]).abs().mean()
    if case != "good":
        det = (res["detector_share"] - res["theater_share"]).abs().mean()
        assert mae < det, f"{case}: MAE {mae:.3f}, detector alone {det:.3f}"


def test_more_labels_narrow_the_interval_and_keep_coverage():
    res = _run("anti", 1000, 7400, worlds=5)
    assert res["covered"].mean() >= 0.85
    assert 100 * (res["ci_high"] - res["ci_low"]).mean() <= 25


@pytest.mark.parametrize("size", [300, 1000])
def test_near_zero_orgs_are_covered_and_their_lower_end_reaches_zero(size):
    # 8 of 20 orgs at 0-1% theater and the detector's false positives fire there too (15% of
    # genuine work in the biased case). 1,000 labels: about 50 an org, as in an audit whose
    # intervals missed every such org (published 0.95-3.7% with lower ends of 0.17-1.9% for
    # true shares of 0.02-1.6%); 300: 15 an org, where the pooled line (fitted mostly on the
    # other orgs) sits above these orgs and only the interval's width can cover them. A 90%
    # interval cannot cover every time; over seeds 900-905 these intervals covered at
    # 0.90-0.98 per case; here, 4 worlds per case: coverage of all 128 >= 0.90, of each
    # case's 32 >= 0.85 (at most 4 misses), and no miss by 1.5 points or more.
    parts = []
    for k, case in enumerate(["good", "random", "biased", "anti"]):
        res = _run(case, size, 7300 + 10 * k, near_zero=8, worlds=4)
        parts.append(res[res["near_zero"]].assign(case=case))
    low = pd.concat(parts, ignore_index=True)
    assert len(low) == 128 and low["theater_share"].max() <= 0.02
    by_case = low.groupby("case")["covered"].mean()
    print(size, by_case.to_dict(), 100 * (low["ci_high"] - low["ci_low"]).mean())
    assert low["covered"].mean() >= 0.90 and by_case.min() >= 0.85, by_case
    miss = (low["ci_low"] - low["theater_share"]).clip(lower=0) + (
        low["theater_share"] - low["ci_high"]
    ).clip(lower=0)
    assert miss.max() < 0.015, low.loc[miss.idxmax()]
    # an org none of whose labels is theater has a lower end of 0 (bounded, not symmetric)
    zero = low[low["theater_labels"] == 0]
    assert len(zero) and (zero["ci_low"] == 0).all()
    assert (low["ci_low"] >= 0).all() and (low["ci_high"] <= 1).all()


def test_every_near_zero_org_of_a_world_is_covered():
    # one world, 6 of 20 orgs at 0-1%, 300 labels drawn by `theater audit sample`'s code
    # (sample.draw), a detector with 15% false positives everywhere: each of the 6 covered
    res = _run("biased", 300, 7500, near_zero=6, worlds=1)
    low = res[res["near_zero"]]
    assert len(low) == 6 and low["covered"].all(), low
