"""The audited interval against detectors that are wrong (pure numpy simulation, seconds).

Worlds from :mod:`theater.audit.simworld` (not the project's generator): 20 orgs of 10-40
users, and a detector that is good, random, constantly biased, or anti-correlated in about
half of the orgs and good in the others. Labels are drawn with ``theater audit sample``'s
design (:func:`theater.audit.sample.draw`) and labelled from the truth.

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


def _run(case: str, size: int, base: int, near_zero: int = 0, worlds: int = WORLDS):
    rows = []
    for w in range(worlds):
        df, orgs = simworld.world(base + w, case, near_zero=near_zero, **SMALL)
        est, labels = audit_once(df, orgs, size, base + w, SETTINGS)
        assert len(labels) == size
        rows.append(est.merge(orgs[["org_id", "near_zero"]], on="org_id").assign(world=w))
    return pd.concat(rows, ignore_index=True)


@pytest.mark.parametrize("k, case", enumerate(["good", "random", "biased", "anti"]))
def test_labels_give_nominal_coverage_whatever_the_detector(k, case):
    res = _run(case, 300, 7000 + 100 * k)
    coverage = res["covered"].mean()
    width = 100 * (res["ci_high"] - res["ci_low"]).mean()
    assert coverage >= 0.85, f"{case}: coverage {coverage:.3f} of {len(res)} intervals"
    # not covered by being useless: 15 labels an org bound the share to well under [0, 1]
    assert width <= 45, f"{case}: mean width {width:.1f} points"
    # the estimate follows the truth, not the detector
    mae = (res["share"] - res["theater_share"]).abs().mean()
    if case != "good":
        det = (res["detector_share"] - res["theater_share"]).abs().mean()
        assert mae < det, f"{case}: MAE {mae:.3f}, detector alone {det:.3f}"


def test_more_labels_narrow_the_interval_and_keep_coverage():
    res = _run("anti", 1000, 7400, worlds=5)
    assert res["covered"].mean() >= 0.85
    assert 100 * (res["ci_high"] - res["ci_low"]).mean() <= 25


def test_near_zero_orgs_are_covered_and_their_lower_end_reaches_zero():
    # 8 of 20 orgs at 0-1% theater and the detector's false positives fire there too (15% of
    # genuine work in the biased case). 1,000 labels: about 50 an org, as in an audit whose
    # intervals missed every such org (published 0.95-3.7% with lower ends of 0.17-1.9% for
    # true shares of 0.02-1.6%). A 90% interval cannot cover every time: an org whose one
    # theater interaction in a small flagged cell is drawn has a lower end above its share.
    # Over 30 worlds per case (seeds 900-929) 0.97-0.99 of these intervals covered, and each
    # miss was by under 1.5 points; so here, 4 worlds per case: coverage of all 128 >= 0.93,
    # of each case's 32 >= 0.85 (at most 4 misses), no miss by 1.5 points or more.
    parts = []
    for k, case in enumerate(["good", "random", "biased", "anti"]):
        res = _run(case, 1000, 7300 + 10 * k, near_zero=8, worlds=4)
        parts.append(res[res["near_zero"]].assign(case=case))
    low = pd.concat(parts, ignore_index=True)
    assert len(low) == 128 and low["theater_share"].max() <= 0.02
    by_case = low.groupby("case")["covered"].mean()
    assert low["covered"].mean() >= 0.93 and by_case.min() >= 0.85, by_case
    miss = (low["ci_low"] - low["theater_share"]).clip(lower=0) + (
        low["theater_share"] - low["ci_high"]
    ).clip(lower=0)
    assert miss.max() < 0.015, low.loc[miss.idxmax()]
    # with no theater label the lower end is 0, not a symmetric interval around a point
    zero = low[low["share"] == 0]
    assert len(zero) and (zero["ci_low"] == 0).all()
