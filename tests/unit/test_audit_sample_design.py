"""The sample's design (signal / grouped) and what the estimator, calibration and plan read
from it: small hand-made frames, expected values worked out by hand."""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest

from theater.audit import calibrate, design, plan, sample
from theater.audit.estimate import Settings, estimate
from theater.audit.labels import parse


def test_design_names_are_checked():
    assert design.check("signal") == "signal" and design.check("grouped") == "grouped"
    with pytest.raises(ValueError, match="signal, grouped; got 'auto'"):
        design.check("auto")
    st = pd.Series(["none", "s1", "multi", "none"])
    assert design.design_strata(st, "grouped").tolist() == ["none", "flagged", "flagged", "none"]
    assert design.design_strata(st, "signal").tolist() == st.tolist()


def population():
    # org A: 6 none, 3 s1, 1 s2 (4 flagged); org B: 4 none, 2 multi
    flags = ["", "", "", "", "", "", "s1", "s1", "s1", "s2"] + ["", "", "", "", "s1,s2", "s2,s1"]
    return pd.DataFrame(
        {
            "event_id": [f"e{i}" for i in range(16)],
            "tool": "t",
            "org_id": ["A"] * 10 + ["B"] * 6,
            "flags": flags,
        }
    )


def test_grouped_draw_has_two_strata_and_their_inclusion_probabilities():
    d = sample.draw(population(), 8, seed=1, design="grouped")
    assert set(d["stratum"]) == {"none", "flagged"}
    assert (d["design"] == "grouped").all()
    got = d.groupby(["org_id", "stratum"]).agg(
        n=("event_id", "size"), p=("inclusion_probability", "first")
    )
    # 4 an org, 2 first in each cell, nothing left: A none 2/6, A flagged 2/4, B none 2/4,
    # B flagged 2/2
    assert got["n"].to_dict() == {
        ("A", "flagged"): 2,
        ("A", "none"): 2,
        ("B", "flagged"): 2,
        ("B", "none"): 2,
    }
    assert got["p"].to_dict() == pytest.approx(
        {("A", "flagged"): 0.5, ("A", "none"): 1 / 3, ("B", "flagged"): 1.0, ("B", "none"): 0.5}
    )
    # the signal design keeps a cell per detector output
    s = sample.draw(population(), 8, seed=1, design="signal")
    assert (s["design"] == "signal").all() and "flagged" not in set(s["stratum"])
    with pytest.raises(ValueError, match="signal or grouped"):
        sample.draw(population(), 8, seed=1, design="auto")
    csv = sample.sample_frame(d)
    assert list(csv.columns) == sample.SAMPLE_COLUMNS and (csv["design"] == "grouped").all()


def test_org_designs_follow_each_orgs_labels():
    lab = pd.DataFrame(
        {
            "org_id": ["A", "A", "B", "B", "C", "D", "D"],
            "stratum": ["flagged", "none", "s1", "none", "none", "s1", "flagged"],
        }
    )
    got = design.org_designs(lab)
    # C: only `none` labels in a period with grouped ones; D: both (collapsed, with a warning)
    assert got == {"A": "grouped", "B": "signal", "C": "grouped", "D": "grouped"}
    assert design.org_designs(lab[lab["org_id"] == "B"]) == {"B": "signal"}
    assert design.org_designs(lab[lab["org_id"] == "C"]) == {"C": "signal"}


def test_estimate_reads_the_grouped_cells_of_grouped_orgs_only():
    # org A sampled grouped: flagged = 120 s1 + 80 s2 = 200, 4 labels at 4/200, 3 theater:
    # (3 + 196 * 3/4) / 200 = 0.75; none 800, 8 labels, 1 theater: (1 + 792/8) / 800 = 0.125;
    # share 0.8 * 0.125 + 0.2 * 0.75 = 0.25. Had its labels been read in the per-signal cells
    # they would have been dropped (no `flagged` cell) and s1, s2 left without labels.
    cells = pd.DataFrame(
        {
            "org_id": ["A"] * 3 + ["B"] * 2,
            "user_key": ["u1", "u2", "u3", "v1", "v2"],
            "stratum": ["none", "s1", "s2", "none", "s1"],
            "n": [800, 120, 80, 90, 10],
            "sum_p": [40.0, 72.0, 48.0, 9.0, 5.0],
        }
    )
    lab = pd.DataFrame(
        {
            "org_id": ["A"] * 12 + ["B"] * 4,
            "stratum": ["flagged"] * 4 + ["none"] * 8 + ["none", "none", "s1", "s1"],
            "label": [1, 1, 1, 0] + [1] + [0] * 7 + [0, 1, 1, 0],
            "inclusion_probability": [4 / 200] * 4 + [8 / 800] * 8 + [2 / 90] * 2 + [2 / 10] * 2,
        }
    )
    c2, l2 = design.align(cells, lab)
    a = c2[c2["org_id"] == "A"].groupby("stratum")["n"].sum().to_dict()
    assert a == {"flagged": 200, "none": 800}
    assert c2[c2["org_id"] == "B"]["stratum"].tolist() == ["none", "s1"]  # untouched
    out = estimate(c2, l2, Settings(replicates=400, seed=3, pool=False)).set_index("org_id")
    assert out.loc["A", "share"] == pytest.approx(0.25, abs=1e-12)
    assert out.loc["A", "audit_n"] == 12
    # B per signal: none (1 + 88/2) / 90 = 0.5, s1 (1 + 8/2) / 10 = 0.5: share 0.5
    assert out.loc["B", "share"] == pytest.approx(0.5, abs=1e-12)
    assert out.loc["B", "audit_n"] == 4


def test_calibration_bins_grouped_labels_by_the_signals_that_fired():
    # grouped labels: flagged stratum (signals s1 x3 all theater, s2 x1 genuine), none 1 of 8.
    # Rates shrunk by half a pseudo-label to 1/2: s1 (3 + 0.5) / 4, s2 0.5 / 2, none
    # (1 + 0.5) / 9; flagged (any signal) (3 + 0.5) / 5
    lab = pd.DataFrame(
        {
            "org_id": "A",
            "stratum": ["flagged"] * 4 + ["none"] * 8,
            "signals": ["s1", "s1", "s1", "s2"] + [None] * 8,
            "label": [1, 1, 1, 0] + [1] + [0] * 7,
            "inclusion_probability": [4 / 200] * 4 + [8 / 800] * 8,
        }
    )
    lab.loc[4:, "signals"] = ""
    m = calibrate.fit(lab)
    assert m == pytest.approx({"s1": 0.875, "s2": 0.25, "none": 1.5 / 9, "flagged": 0.7})
    # the signal design: no `flagged` fallback, bins as before
    sig = lab.assign(stratum=["s1", "s1", "s1", "s2"] + ["none"] * 8)
    assert calibrate.fit(sig) == pytest.approx({"s1": 0.875, "s2": 0.25, "none": 1.5 / 9})


def test_labels_file_whose_stratum_disagrees_with_its_design_is_refused(tmp_path):
    f = tmp_path / "l.csv"
    f.write_text(
        "event_id,tool,stratum,design,inclusion_probability,label\n"
        "e1,t,flagged,grouped,0.5,1\n"
        "e2,t,s1,grouped,0.5,0\n"
        "e3,t,flagged,signal,0.5,0\n"
        "e4,t,none,stratified,0.5,0\n"
        "e5,t,s1,signal,0.5,1\n"
    )
    p = parse(f)
    assert len(p.problems) == 3
    assert "line 3: stratum 's1' is not a grouped-design stratum" in p.problems[0]
    assert "line 4: stratum 'flagged' belongs to the grouped design" in p.problems[1]
    assert "line 5: design 'stratified' is not signal or grouped" in p.problems[2]
    assert p.rows["event_id"].tolist() == ["e1", "e5"]


def test_plan_at_a_few_labels_an_org_is_the_larger_of_pooled_and_own():
    z = NormalDist().inv_cdf(0.95)
    N, r = np.array([900.0, 100.0]), np.array([0.1, 0.6])
    # own labels (score variance), 5 in the large cell, none in the small one:
    # Var = 0.81 * score + 0.01 / 4
    nl = np.array([5.0, 0.0])
    score = (0.09 / 5 + z**2 / 100) * (1 - 5 / 900) / (1 + z**2 / 5) ** 2
    own = 200 * z * np.sqrt(0.81 * score + 0.0025)
    assert plan._org_width(N, r, nl, z) == pytest.approx(own)
    # pooled with a small spread is narrower; under 10 labels the plan takes the own-label
    # width with the plain binomial variance: 0.81 * 0.09 / 5 * (1 - 5/900) + 0.0025
    pooled = plan._pooled_width(N / N.sum(), r, own**2 / (200 * z) ** 2, z, 1e-4, 0.1)
    plain = 200 * z * np.sqrt(0.81 * 0.09 / 5 * (1 - 5 / 900) + 0.0025)
    assert pooled < plain
    assert plan._org_width(N, r, nl, z, tau2=1e-4) == pytest.approx(plain)
    # a large spread: the pooled figure is the larger (close to the own one) and is planned
    wide = plan._pooled_width(N / N.sum(), r, own**2 / (200 * z) ** 2, z, 10.0, 0.1)
    assert wide > plain
    assert plan._org_width(N, r, nl, z, tau2=10.0) == pytest.approx(wide)
    # 10 labels or more: the pooled figure, narrower than the own-label one
    nl2 = np.array([8.0, 2.0])
    assert plan._org_width(N, r, nl2, z, tau2=1e-4) < plan._org_width(N, r, nl2, z)


def test_plan_allocates_in_the_design_it_plans():
    cells = pd.DataFrame(
        {
            "org_id": ["A"] * 4,
            "user_key": ["u"] * 4,
            "stratum": ["none", "s1", "s2", "s3"],
            "n": [750, 150, 60, 40],
        }
    )
    rates = {"none": 0.1, "s1": 0.5, "s2": 0.5, "s3": 0.5, "flagged": 0.5}
    g = plan.widths(cells, rates, 15, design="grouped")
    s = plan.widths(cells, rates, 15, design="signal")
    assert g["labels"].tolist() == s["labels"].tolist() == [15]
    assert g["width"].iloc[0] != pytest.approx(s["width"].iloc[0])
