"""Audit sample design, labels validation, estimator, calibration and plan on hand-made data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from theater.audit import calibrate, plan, sample
from theater.audit.estimate import Settings, audited_rates, estimate, pooled_rates
from theater.audit.labels import LabelsError, parse


# ----------------------------------------------------------------------------- sample design
def test_stratum_is_the_set_of_signals_that_fired():
    assert sample.stratum_of([]) == "none"
    assert sample.stratum_of(None) == "none"
    assert sample.stratum_of(["padding"]) == "padding"
    assert sample.stratum_of(["padding", "repeat_prompt"]) == "multi"
    s = sample.strata(pd.Series(["", "unused_output", "a,b", None]))
    assert s.tolist() == ["none", "unused_output", "multi", "none"]


def test_allocation_equal_per_org_then_proportional_with_a_floor():
    cells = pd.DataFrame(
        {
            "org_id": ["A", "A", "B", "B"],
            "stratum": ["none", "unused_output", "multi", "none"],
            "N": [80, 20, 1, 10],
        }
    )
    a = sample.allocate(cells, 20, min_per_cell=2).set_index(["org_id", "stratum"])["n"]
    # A: 10 labels = 2 + 2 floor, 6 split 78:18 -> 4.875, 1.125 -> 5, 1 (largest remainder)
    assert a[("A", "none")] == 7 and a[("A", "unused_output")] == 3
    # B: the 1-interaction cell gives its only one; the other 9 go to "none"
    assert a[("B", "multi")] == 1 and a[("B", "none")] == 9


def test_allocation_gives_small_orgs_spare_labels_to_others_and_never_exceeds_N():
    cells = pd.DataFrame({"org_id": ["A", "B"], "stratum": ["none", "none"], "N": [3, 100]})
    a = sample.allocate(cells, 20).set_index("org_id")["n"]
    assert a["A"] == 3 and a["B"] == 17


def _population(n_per_org=200):
    rng = np.random.default_rng(1)
    rows = []
    for org in ("o1", "o2"):
        for i in range(n_per_org):
            flags = "" if i % 4 else ("padding" if i % 8 else "padding,repeat_prompt")
            rows.append(
                {
                    "event_id": f"{org}-{i}",
                    "tool": "t",
                    "org_id": org,
                    "user_key": f"u{i % 20}",
                    "flags": flags,
                    "theater_probability": 0.0 if not flags else 1.0,
                    "is_theater": int(rng.random() < (0.8 if flags else 0.05)),
                }
            )
    return pd.DataFrame(rows)


def test_draw_is_stratified_reproducible_and_records_inclusion_probability():
    pop = _population()
    a = sample.draw(pop, 40, seed=5)
    b = sample.draw(pop, 40, seed=5)
    assert a["event_id"].tolist() == b["event_id"].tolist()
    assert len(a) == 40 and a["event_id"].is_unique
    counts = pop.assign(stratum=sample.strata(pop["flags"])).groupby(["org_id", "stratum"]).size()
    got = a.groupby(["org_id", "stratum"]).agg(
        n=("event_id", "size"), pi=("inclusion_probability", "first")
    )
    for (org, h), row in got.iterrows():
        assert row.pi == pytest.approx(row.n / counts[(org, h)])
    # o1: 150 none, 25 padding, 25 multi; 20 labels = 2+2+2 then 14 split 148:23:23
    assert got.loc[("o1", "none"), "n"] == 13
    csv = sample.sample_frame(a)
    assert list(csv.columns) == sample.SAMPLE_COLUMNS
    assert (csv["label"] == "").all()
    assert set(csv.loc[csv["stratum"] == "multi", "signals_fired"]) == {"padding;repeat_prompt"}


# ----------------------------------------------------------------------------- labels file
def test_bad_labels_file_lists_every_problem_with_its_line(tmp_path):
    f = tmp_path / "labels.csv"
    f.write_text(
        "event_id,tool,org_id,stratum,inclusion_probability,label\n"
        "e1,t,o1,none,0.1,1\n"  # line 2: good
        "e2,t,o1,none,0.1,2\n"  # line 3: label 2
        "e3,t,o1,none,0.1,\n"  # line 4: blank
        "e1,t,o1,none,0.1,0\n"  # line 5: conflicting duplicate of line 2
        "e4,t,o1,none,1.5,1\n"  # line 6: probability out of range
        "e5,t,o1,none,0.1,0\n"  # line 7: good
        "e5,t,o1,none,0.1,0\n"
    )  # line 8: identical duplicate (a note)
    p = parse(f)
    joined = "\n".join(p.problems)
    assert "line 3: label '2'" in joined
    assert "line 4: label ''" in joined
    assert "line 5: duplicate of line 2" in joined and "different label" in joined
    assert "line 6: inclusion_probability '1.5'" in joined
    assert len(p.problems) == 4
    assert p.notes == ["line 8: duplicate of line 7 (t e5), same label: loaded once"]
    assert p.rows["event_id"].tolist() == ["e1", "e5"]


def test_labels_file_without_required_columns_is_rejected(tmp_path):
    f = tmp_path / "labels.csv"
    f.write_text("event_id,label\ne1,1\n")
    with pytest.raises(LabelsError, match="line 1: missing column"):
        parse(f)


# ----------------------------------------------------------------------------- estimator
def _labels(spec):
    """spec: (org, stratum, n labels, k theater, inclusion probability)."""
    rows = []
    for org, h, n, k, pi in spec:
        rows += [
            {"org_id": org, "stratum": h, "label": int(i < k), "inclusion_probability": pi}
            for i in range(n)
        ]
    return pd.DataFrame(rows)


def test_pooled_rate_and_prior_strength_by_hand():
    lab = _labels([("A", "x", 10, 0, 0.1), ("B", "x", 10, 5, 0.1)])
    p = pooled_rates(lab, ["x"], min_strength=2, max_strength=100)
    # HT rate 5/20 = 0.25, half a pseudo-label to 1/2: (0.25*20 + 0.5)/21
    r = 5.5 / 21
    assert p.rate[0] == pytest.approx(r)
    # tau^2 = sum n_o[(p_o - r)^2 - r(1-r)/n_o] / sum n_o (1 - 1/n_o)
    tau2 = (10 * ((0 - r) ** 2 - r * (1 - r) / 10) + 10 * ((0.5 - r) ** 2 - r * (1 - r) / 10)) / 18
    assert p.strength[0] == pytest.approx(r * (1 - r) / tau2 - 1)  # about 3.02
    same = pooled_rates(
        _labels([("A", "x", 10, 1, 0.1), ("B", "x", 10, 1, 0.1)]), ["x"], max_strength=100
    )
    assert same.strength[0] == 100  # no spread between orgs: the cap


def test_estimate_point_value_by_hand_and_interval_kind():
    cells = pd.DataFrame(
        {
            "org_id": ["A"] * 4 + ["B"] * 4,
            "user_key": ["u1", "u2", "u1", "u2"] * 2,
            "stratum": ["none", "none", "padding", "padding"] * 2,
            "n": [50, 50, 50, 50] * 2,
            "sum_p": [0, 0, 50, 50] * 2,
        }
    )
    lab = _labels(
        [
            ("A", "none", 10, 1, 0.1),
            ("A", "padding", 10, 8, 0.1),
            ("B", "none", 10, 1, 0.1),
            ("B", "padding", 10, 8, 0.1),
        ]
    )
    out = estimate(
        cells, lab, Settings(replicates=200, seed=1, min_strength=2, max_strength=100)
    ).set_index("org_id")
    # none: r = (0.1*20 + .5)/21, a = 100 (no spread); unlabelled 90 at (1 + 100 r)/110
    r0 = 2.5 / 21
    R0 = (1 + 90 * (1 + 100 * r0) / 110) / 100
    r1 = 16.5 / 21
    R1 = (8 + 90 * (8 + 100 * r1) / 110) / 100
    assert out.loc["A", "share"] == pytest.approx(0.5 * R0 + 0.5 * R1, abs=1e-9)
    assert out.loc["A", "detector_share"] == pytest.approx(0.5)
    assert out.loc["A", "audit_n"] == 20
    assert (out["interval_kind"] == "sampling+detector").all()
    assert (out["ci_low"] <= out["share"]).all() and (out["share"] <= out["ci_high"]).all()
    assert (out["ci_high"] - out["ci_low"] > 0.02).all()


def test_org_without_labels_borrows_the_pooled_rates_with_a_wider_interval():
    rng = np.random.default_rng(3)
    cells, lab = [], []
    for org in ("A", "B", "C", "D"):
        for u in range(30):
            cells += [
                {"org_id": org, "user_key": f"{org}{u}", "stratum": "none", "n": 20},
                {"org_id": org, "user_key": f"{org}{u}", "stratum": "padding", "n": 5},
            ]
    for org in ("A", "B", "C"):
        lab += [
            {
                "org_id": org,
                "stratum": "none",
                "label": int(rng.random() < 0.05),
                "inclusion_probability": 40 / 600,
            }
            for _ in range(40)
        ]
        lab += [
            {
                "org_id": org,
                "stratum": "padding",
                "label": int(rng.random() < 0.8),
                "inclusion_probability": 20 / 150,
            }
            for _ in range(20)
        ]
    out = estimate(pd.DataFrame(cells), pd.DataFrame(lab), Settings(replicates=300)).set_index(
        "org_id"
    )
    assert out.loc["D", "audit_n"] == 0
    width = out["ci_high"] - out["ci_low"]
    assert width["D"] > width[["A", "B", "C"]].max()
    # D's estimate is the pooled one: between the labelled orgs' estimates
    assert (
        out.loc[["A", "B", "C"], "share"].min() - 0.02
        <= out.loc["D", "share"]
        <= out.loc[["A", "B", "C"], "share"].max() + 0.02
    )


def test_audited_precision_and_recall_weight_by_inclusion():
    lab = pd.DataFrame(
        {
            "label": [1, 1, 0, 1, 0],
            "flagged": [True, True, True, False, False],
            "inclusion_probability": [0.5, 0.5, 0.5, 0.1, 0.1],
        }
    )
    r = audited_rates(lab)
    assert r["precision"] == pytest.approx(4 / 6)  # (2+2)/(2+2+2)
    assert r["recall"] == pytest.approx(4 / 14)  # 4 / (4 + 10)


# ----------------------------------------------------------------------------- calibration
def test_calibration_maps_strata_to_audited_rates_and_holds_out():
    rng = np.random.default_rng(0)
    n = 600
    st = rng.choice(["none", "padding", "multi"], n, p=[0.6, 0.25, 0.15])
    truth = pd.Series(st).map({"none": 0.05, "padding": 0.7, "multi": 0.95}).to_numpy()
    lab = pd.DataFrame(
        {
            "org_id": "A",
            "stratum": st,
            "label": (rng.random(n) < truth).astype(int),
            "inclusion_probability": 0.2,
            "theater_probability": np.where(st == "none", 0.0, 1.0),
        }
    )
    m = calibrate.fit(lab)
    assert m["none"] < 0.1 and 0.6 < m["padding"] < 0.8 and m["multi"] > 0.85
    rel = calibrate.held_out(lab, folds=5, seed=1)
    assert 0.9 <= rel["slope"] <= 1.1
    # the raw 0/1 probability over-states padding's precision: slope below 1
    assert rel["raw_slope"] < rel["slope"]


def test_slope_by_hand():
    b, a = calibrate.slope([0, 1, 1, 1], [0, 0.5, 0.5, 1])
    # p mean 0.5, y mean 0.75; cov = (0.5*0.75 + 0 + 0 + 0.5*0.25)/4 = 0.125, var = 0.125
    assert b == pytest.approx(1.0) and a == pytest.approx(0.25)


# ----------------------------------------------------------------------------- plan
def test_plan_needs_more_labels_for_a_narrower_interval():
    cells = pd.DataFrame(
        [
            {"org_id": o, "user_key": f"{o}{u}", "stratum": h, "n": n}
            for o in ("A", "B")
            for u in range(40)
            for h, n in (("none", 30), ("padding", 10))
        ]
    )
    rates = plan.rates_guess(["none", "padding"], 0.8, 0.05)
    wide, narrow = plan.plan(cells, rates, 20), plan.plan(cells, rates, 10)
    assert wide["reachable"] and narrow["reachable"]
    assert narrow["labels"] > wide["labels"]
    assert narrow["mean_width"] <= 10
    # one label fewer than planned would miss the target (within the bisection's 1%)
    w = plan.widths(cells, rates, int(narrow["labels"] * 0.98))
    assert w["width"].mean() > 10
    # user sampling alone (all users identical here: none) never blocks; an impossible target
    assert not plan.plan(cells, rates, 0.01, max_labels=500)["reachable"]


# ----------------------------------------------------------------------------- plain words
def test_interval_sentence_says_what_the_interval_covers():
    from theater.audit.explain import interval_sentence

    plain = interval_sentence([{"org_id": "a", "interval_kind": "sampling", "audit_n": 0}], None)
    assert "excludes the detector's own errors" in plain and "no audit" in plain
    older = interval_sentence(
        pd.DataFrame({"org_id": ["a"]}),  # rows before the audit
        {"precision": 0.8, "recall": 0.82, "n": 1000},
    )
    assert "excludes" in older and "audited precision 80%, recall 82%" in older
    audited = interval_sentence(
        [
            {"org_id": "a", "interval_kind": "sampling+detector", "audit_n": 600},
            {"org_id": "b", "interval_kind": "sampling+detector", "audit_n": 400},
        ],
        {"precision": 0.8, "recall": 0.82, "n": 1000},
    )
    assert "detector's own mistakes" in audited and "1,000 sampled interactions" in audited
    assert audited.count(".") == 1 and audited.endswith(".")  # one sentence


def test_a_stratum_no_org_has_labels_for_gets_a_weak_prior_from_the_detector():
    # "padding" fired with probability 1 everywhere but the audit drew no padding row
    cells = pd.DataFrame(
        {
            "org_id": ["A", "A", "B", "B"],
            "user_key": ["u1", "u1", "u2", "u2"],
            "stratum": ["none", "padding"] * 2,
            "n": [90, 10, 90, 10],
            "sum_p": [0.0, 10.0, 0.0, 10.0],
        }
    )
    lab = _labels([("A", "none", 10, 0, 10 / 90), ("B", "none", 10, 1, 10 / 90)])
    p = pooled_rates(lab, ["none", "padding"], {"padding": 1.0}, min_strength=1)
    assert p.rate[1] == 0.95 and p.strength[1] == 1 and p.n_labels[1] == 0
    out = estimate(cells, lab, Settings(replicates=100)).set_index("org_id")
    assert (out["audit_n"] == 10).all()
    # the unlabelled 10% could be anything: the interval spans most of it
    assert (out["ci_high"] - out["ci_low"] > 0.05).all()
