"""The audit sample's allocation, the estimator's inclusion weights and the width floors, by
hand on frames of a few rows (pure pandas/numpy, seconds)."""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest

from theater.audit import plan, sample
from theater.audit.estimate import Settings, estimate
from theater.audit.simulate import width_floors

Z90 = NormalDist().inv_cdf(0.95)


def test_guessed_sd_is_bounded_and_unknown_is_the_largest():
    sd = sample.cell_sd([0.5, 0.01, 0.95, np.nan, 0.2])
    # clipped to [0.1, 0.9]: sqrt(0.09) = 0.3 at both ends; unknown F -> 1/2
    assert sd == pytest.approx([0.5, 0.3, 0.3, 0.5, 0.4])


def test_proportional_allocation_with_a_floor_of_one_by_hand():
    cells = pd.DataFrame({"org_id": ["A", "A"], "stratum": ["none", "x"], "N": [80, 20]})
    a = sample.allocate(cells, 10, min_per_cell=1).set_index("stratum")["n"]
    # 1 + 1 first; 8 split 79:19 -> 6.32, 1.52 -> 6, 1, the last one by the larger
    # remainder (0.52 > 0.32) -> 6, 2; with the floor: 7 and 3
    assert a["none"] == 7 and a["x"] == 3


def test_neyman_allocation_within_an_org_by_hand():
    cells = pd.DataFrame(
        {"org_id": ["A", "A"], "stratum": ["none", "x"], "N": [100, 100], "F": [0.5, 0.05]}
    )
    a = sample.allocate(cells, 10, min_per_cell=1).set_index("stratum")["n"]
    # sd 0.5 and 0.3 (0.05 clipped to 0.1): 8 after the floor split 99*0.5 : 99*0.3 = 5 : 3
    assert a["none"] == 6 and a["x"] == 4
    # the same cells without the sd guess: proportional to N, 4 and 4 after the floor
    p = sample.allocate(cells, 10, min_per_cell=1, neyman=False).set_index("stratum")["n"]
    assert p["none"] == 5 and p["x"] == 5


def test_neyman_allocation_across_orgs_by_hand():
    cells = pd.DataFrame(
        {"org_id": ["A", "B"], "stratum": ["none", "none"], "N": [100, 100], "F": [0.5, 0.1]}
    )
    a = sample.allocate(cells, 20).set_index("org_id")["n"]
    # S_A = 0.5, S_B = 0.3: weights 0.5^(2/3) = 0.630, 0.3^(2/3) = 0.448 -> 11.69 and 8.31
    # of 20 -> 11 and 8, the last label to the larger remainder (A)
    assert a["A"] == 12 and a["B"] == 8


def test_draw_records_the_allocations_inclusion_probabilities():
    pop = pd.DataFrame(
        {
            "event_id": [f"e{i}" for i in range(40)],
            "tool": "t",
            "org_id": ["A"] * 20 + ["B"] * 20,
            "flags": (["", "", "", "sig"] * 5) * 2,
            "theater_probability": [0.02, 0.02, 0.02, 0.5] * 10,
        }
    )
    for neyman in (False, True):
        d = sample.draw(pop, 8, seed=3, min_per_cell=1, neyman=neyman)
        assert len(d) == 8 and d["event_id"].is_unique
        n = d.groupby(["org_id", "stratum"]).size()
        N = pop.assign(stratum=sample.strata(pop["flags"])).groupby(["org_id", "stratum"]).size()
        pi = d.groupby(["org_id", "stratum"])["inclusion_probability"].first()
        assert (pi == n / N.loc[n.index]).all()
    # Neyman: none (15, F 0.02 -> sd 0.3) and sig (5, F 0.5 -> sd 0.5): 2 left after the
    # floor split 14*0.3 : 4*0.5 = 4.2 : 2.0 -> 1.35, 0.65 -> 1 and 1; proportional 14 : 4
    # -> 1.56, 0.44 -> 2 and 0
    ney = (
        sample.draw(pop, 8, seed=3, min_per_cell=1, neyman=True)
        .groupby(["org_id", "stratum"])
        .size()
    )
    prop = sample.draw(pop, 8, seed=3, min_per_cell=1).groupby(["org_id", "stratum"]).size()
    assert ney[("A", "none")] == 2 and ney[("A", "sig")] == 2
    assert prop[("A", "none")] == 3 and prop[("A", "sig")] == 1


def test_estimate_weights_labels_by_inclusion_probability_within_a_cell():
    cells = pd.DataFrame(
        {
            "org_id": ["A", "A"],
            "user_key": ["u", "u"],
            "stratum": ["none", "x"],
            "n": [90, 10],
            "sum_p": [9.0, 5.0],
        }
    )
    labels = pd.DataFrame(
        {
            "org_id": ["A"] * 5,
            "stratum": ["none", "none", "none", "x", "x"],
            "label": [1, 0, 0, 1, 1],
            "inclusion_probability": [0.1, 0.05, 0.05, 0.2, 0.2],
            "event_id": ["a", "b", "c", "d", "e"],
        }
    )
    est = estimate(cells, labels, Settings(replicates=400, pool=False, power_tuning=False))
    r = est.iloc[0]
    # none: Hajek mean (10*1 + 20*0 + 20*0) / 50 = 0.2 for the 87 unlabelled, so
    # R = (1 + 87*0.2) / 90 = 18.4/90; x: (2 + 8*1) / 10 = 1; share 0.9 R + 0.1 = 0.284
    assert r["share"] == pytest.approx(0.9 * 18.4 / 90 + 0.1)
    assert r["audit_n"] == 5 and r["ci_low"] <= r["share"] <= r["ci_high"]
    # equal weights would have said 1/3 for the unlabelled: (1 + 29) / 90 -> 0.4
    flat = estimate(
        cells,
        labels.assign(inclusion_probability=[0.05, 0.05, 0.05, 0.2, 0.2]),
        Settings(replicates=400, pool=False, power_tuning=False),
    )
    assert flat.iloc[0]["share"] == pytest.approx(0.4)


def test_width_floors_by_hand():
    df = pd.DataFrame(
        {
            "org_id": "A",
            "stratum": ["a"] * 10 + ["b"] * 10,
            "is_theater": [1] * 5 + [0] * 5 + [0] * 10,
        }
    )
    labels = pd.DataFrame({"org_id": "A", "stratum": ["a", "a", "b", "b"]})
    f = width_floors(df, labels).iloc[0]
    # random labels: p = 0.25, n = 4 of N = 20
    assert f["srs"] == pytest.approx(2 * Z90 * np.sqrt(0.25 * 0.75 / 4 * (1 - 4 / 20)))
    # stratified: only cell a varies, W = 1/2, p = 1/2, n = 2 of 10
    assert f["strat"] == pytest.approx(2 * Z90 * np.sqrt(0.25 * 0.25 / 2 * (1 - 2 / 10)))


def test_plan_allocates_as_the_sample_does():
    cells = pd.DataFrame(
        {
            "org_id": ["A", "B"],
            "user_key": ["u1", "u2"],
            "stratum": ["none", "none"],
            "n": [100, 100],
            "sum_p": [50.0, 10.0],
        }
    )
    rates = {"none": 0.3}
    w = plan.widths(cells, rates, 20, neyman=True).set_index("org_id")
    assert w.loc["A", "labels"] == 12 and w.loc["B", "labels"] == 8
    # the org with more labels has the narrower planned interval (same rate)
    assert w.loc["A", "width"] < w.loc["B", "width"]
    eq = plan.widths(cells, rates, 20).set_index("org_id")
    assert (eq["labels"] == 10).all()


def test_neyman_without_the_detectors_probability_is_a_clear_error():
    cells = pd.DataFrame({"org_id": ["A"], "stratum": ["none"], "N": [10]})
    with pytest.raises(ValueError, match="mean detector probability"):
        sample.allocate(cells, 5, neyman=True)
