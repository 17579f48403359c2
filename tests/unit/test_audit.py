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
    lab = _labels([("A", "none", 10, 1, 0.1), ("A", "padding", 10, 8, 0.1)])
    out = estimate(cells, lab, Settings(replicates=400, seed=1)).set_index("org_id")
    # A, its own labels only: none (1 + 90 * 1/10) / 100 = 0.10, padding (8 + 90 * 8/10) / 100
    assert out.loc["A", "share"] == pytest.approx(0.5 * 0.10 + 0.5 * 0.80, abs=1e-12)
    assert out.loc["A", "detector_share"] == pytest.approx(0.5)
    assert out.loc["A", "audit_n"] == 20 and out.loc["A", "ppi_lambda"] == 0
    assert (out["interval_kind"] == "sampling+detector").all()
    assert out.loc["A", "ci_low"] < 0.45 < out.loc["A", "ci_high"]
    # B has no label: nothing is borrowed from A, its point is the detector's and its
    # interval spans most of [0, 1] (integrate.apply keeps B's detector-only interval)
    assert out.loc["B", "audit_n"] == 0 and out.loc["B", "share"] == pytest.approx(0.5)
    assert out.loc["B", "ci_high"] - out.loc["B", "ci_low"] > 0.6


def test_interval_of_a_single_cell_by_hand_and_it_can_reach_zero():
    from scipy.stats import beta

    cells = pd.DataFrame({"org_id": ["A"], "user_key": ["u"], "stratum": ["none"], "n": [100_000]})
    # 30 labels, none theater: the point is 0, not a symmetric interval around it
    out = estimate(cells, _labels([("A", "none", 30, 0, 30 / 100_000)]), Settings(replicates=20000))
    r = out.iloc[0]
    assert r.share == 0 and r.ci_low == 0
    assert r.ci_high == pytest.approx(beta.ppf(0.95, 0.5, 30.5), rel=0.03)  # about 0.063
    # 6 of 30: upper end the Jeffreys Beta(6.5, 24.5) one, lower end Beta(6, 24.5), without
    # the half pseudo-label at 1 (finite-population part negligible)
    out = estimate(cells, _labels([("A", "none", 30, 6, 30 / 100_000)]), Settings(replicates=20000))
    r = out.iloc[0]
    assert r.share == pytest.approx(0.2, abs=1e-4)
    assert r.ci_low == pytest.approx(beta.ppf(0.05, 6, 24.5), abs=0.004)
    assert r.ci_high == pytest.approx(beta.ppf(0.95, 6.5, 24.5), abs=0.004)


def test_every_interaction_labelled_gives_the_exact_figure():
    cells = pd.DataFrame(
        {"org_id": ["A", "A"], "user_key": ["u", "v"], "stratum": ["none", "padding"], "n": [6, 4]}
    )
    lab = _labels([("A", "none", 6, 1, 1.0), ("A", "padding", 4, 3, 1.0)])
    r = estimate(cells, lab, Settings(replicates=200)).iloc[0]
    assert r.share == pytest.approx(0.4) and r.ci_low == r.share == r.ci_high


def test_ppi_plus_plus_weight_and_rectified_estimate_by_hand():
    # one cell of 100 interactions, mean detector probability F = 0.2 over all of them
    cells = pd.DataFrame(
        {"org_id": ["A"], "user_key": ["u"], "stratum": ["x"], "n": [100], "sum_p": [20.0]}
    )
    lab = _labels([("A", "x", 4, 0, 0.04)])
    lab["label"] = [0, 0, 1, 0]
    lab["theater_probability"] = [0.1, 0.3, 0.5, 0.7]
    # Cov(y, f) = 0.1 / 4 = 0.025, Var(f) = 0.2 / 4 = 0.05: lambda = 0.5
    # z = y - 0.5 (f - 0.2) = 0.05, -0.05, 0.85, -0.25; mean 0.15; R = (1 + 96 * 0.15) / 100
    r = estimate(cells, lab, Settings(replicates=200)).iloc[0]
    assert r.ppi_lambda == pytest.approx(0.5)
    assert r.share == pytest.approx(0.154)
    # without the power tuning: the labelled rate, (1 + 96 * 0.25) / 100
    r0 = estimate(cells, lab, Settings(replicates=200, power_tuning=False)).iloc[0]
    assert r0.ppi_lambda == 0 and r0.share == pytest.approx(0.25)


def test_an_org_is_not_pulled_toward_the_others():
    # the detector's flags are right in A, B, C (precision 0.9) and all wrong in Z
    cells, lab = [], []
    for org in ("A", "B", "C", "Z"):
        cells += [
            {"org_id": org, "user_key": "u", "stratum": "none", "n": 950},
            {"org_id": org, "user_key": "u", "stratum": "padding", "n": 50},
        ]
        k = 0 if org == "Z" else 9
        lab.append(_labels([(org, "none", 40, 0, 40 / 950), (org, "padding", 10, k, 0.2)]))
    out = estimate(pd.DataFrame(cells), pd.concat(lab), Settings(replicates=20000)).set_index(
        "org_id"
    )
    assert out.loc["Z", "share"] == 0 and out.loc["Z", "ci_low"] == 0
    assert out.loc["A", "share"] == pytest.approx((9 + 40 * 0.9) / 1000)
    # Z's interval is the one its own labels give, whatever the other orgs' labels say
    cz, lz = pd.DataFrame(cells), pd.concat(lab)
    alone = estimate(cz[cz.org_id == "Z"], lz[lz.org_id == "Z"], Settings(replicates=20000))
    assert out.loc["Z", "ci_high"] == pytest.approx(alone.iloc[0].ci_high, abs=0.005)  # MC
    assert out.loc["Z", "ci_high"] < 0.055  # about the Jeffreys bound of 0 in 40, times 0.95


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
    # an impossible target within the cap
    assert not plan.plan(cells, rates, 0.01, max_labels=500)["reachable"]
    # per org: both orgs alike, each needs the same, and the sum is "every org"
    per = narrow["per_org"].set_index("org_id")
    assert per.loc["A", "labels"] == per.loc["B", "labels"] and (per["width"] <= 10).all()
    assert narrow["every_org"] == per["labels"].sum()


def test_planned_width_of_one_cell_by_hand_and_the_org_that_needs_more():
    z = 1.6448536269514722
    cells = pd.DataFrame({"org_id": ["A"], "user_key": ["u"], "stratum": ["none"], "n": [1000]})
    w = plan.widths(cells, {"none": 0.1}, 100).iloc[0]
    var = (0.1 * 0.9 / 100 + z**2 / (4 * 100**2)) * (1 - 100 / 1000) / (1 + z**2 / 100) ** 2
    assert w["labels"] == 100 and w["width"] == pytest.approx(200 * z * var**0.5)  # ~9.1
    # B's detector fired on half its interactions at precision 1/2: B needs more labels
    two = pd.DataFrame(
        {
            "org_id": ["A", "A", "B", "B"],
            "user_key": ["u", "u", "v", "v"],
            "stratum": ["none", "padding", "none", "padding"],
            "n": [950, 50, 500, 500],
        }
    )
    need = plan.org_needs(two, {"none": 0.02, "padding": 0.5}, 12).set_index("org_id")
    assert need.loc["B", "labels"] > need.loc["A", "labels"]
    assert (need["width"] <= 12).all()


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
    assert "other orgs" not in audited  # two audited orgs: nothing pooled
    rows = [
        {"org_id": f"o{i}", "interval_kind": "sampling+detector", "audit_n": 15} for i in range(20)
    ]
    pooled = interval_sentence(rows, None)
    assert "300 sampled" in pooled and "its own labels" in pooled and "other orgs" in pooled
    assert pooled.count(".") == 1


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
    out = estimate(cells, lab, Settings(replicates=2000)).set_index("org_id")
    assert (out["audit_n"] == 10).all()
    # the unlabelled 10% could be anything: the interval spans most of it
    assert (out["ci_high"] - out["ci_low"] > 0.08).all()


def test_report_table_carries_each_orgs_audit_labels_and_blanks_suppressed():
    from theater.report import figures as fg

    base = {
        "theater_index": 10.0,
        "ci_low": 6.0,
        "ci_high": 15.0,
        "n_users": 40,
        "n_interactions": 900,
        "rank_low": 1,
        "rank_high": 2,
        "top_signals": ["unused_output"],
        "decoupled": None,
        "high_confidence_theater": False,
    }
    idx = pd.DataFrame(
        [
            {**base, "org_id": "a", "suppressed": False, "audit_n": 15},
            {**base, "org_id": "b", "suppressed": False, "audit_n": 0, "theater_index": 9.0},
            {**base, "org_id": "s", "suppressed": True, "audit_n": 3},
        ]
    )
    t = fg.org_table(idx, None, 91).set_index("org_id")
    assert t.loc["a", "audit_n"] == 15 and t.loc["b", "audit_n"] == 0
    assert pd.isna(t.loc["s", "audit_n"])  # suppressed: no figures at all


# ----------------------------------------------------------------------------- pooling
def test_robust_critical_value_keeps_non_coverage_at_alpha_for_any_effect_distribution():
    from scipy.stats import norm

    from theater.audit.pool import cva

    c = cva(np.array([0.0, 0.5, 4.0]), 0.10)
    assert c[0] == pytest.approx(1.6449, abs=1e-3)  # no shrinkage bias: the normal quantile
    assert c[0] < c[1] < c[2]
    # the worst case over effects b with E b^2 = 4: two points {0, sqrt(t)}; none of them
    # leaves more than 10% of [-c, c] uncovered (checked on a grid of t)
    for t in np.linspace(4.0, 400.0, 200):
        p = 4.0 / t
        r = lambda b: norm.cdf(-c[2] - b) + norm.cdf(-c[2] + b)  # noqa: E731
        assert (1 - p) * r(0.0) + p * r(np.sqrt(t)) <= 0.10 + 1e-6


def test_between_org_variance_by_hand():
    from theater.audit.pool import tau2_estimates

    # equal sampling variances, no covariate: Paule-Mandel is sum (y - mean)^2 / (k - 1) - v
    y = np.array([0.0, 0.1, 0.2, 0.3])
    v = np.full(4, 0.001)
    tau2, upper = tau2_estimates(y, v, np.ones((4, 1)), level=0.9)
    assert tau2 == pytest.approx(0.05 / 3 - 0.001, rel=1e-6)
    # Q-profile upper end: 0.05 / (tau2 + v) = chi2_3 10% quantile (0.5844)
    assert upper == pytest.approx(0.05 / 0.584375 - 0.001, rel=1e-3)
    # all alike: no spread
    assert tau2_estimates(np.full(4, 0.2), v, np.ones((4, 1)))[0] == 0


def _pool_world(k_z: int, k_zpad: int = 9):
    """10 orgs alike (detector flags 10% of 1,000 interactions, precision 0.9, misses 2%) and
    an org Z alike for the detector but with ``k_z`` theater labels of its 40 'none' ones and
    ``k_zpad`` of its 10 flagged ones."""
    cells, lab = [], []
    for i, org in enumerate([f"o{i}" for i in range(10)] + ["Z"]):
        cells += [
            {"org_id": org, "user_key": "u", "stratum": "none", "n": 900, "sum_p": 18.0},
            {"org_id": org, "user_key": "u", "stratum": "padding", "n": 100, "sum_p": 90.0},
        ]
        k_none = k_z if org == "Z" else (0, 1, 1, 2, 0, 1, 1, 0, 2, 1)[i]
        k_pad = k_zpad if org == "Z" else (9, 9, 8, 9, 10, 9, 9, 8, 9, 10)[i]
        lab.append(_labels([(org, "none", 40, k_none, 40 / 900), (org, "padding", 10, k_pad, 0.1)]))
    return pd.DataFrame(cells), pd.concat(lab, ignore_index=True)


def test_pooled_interval_reports_what_it_rests_on_and_an_outlier_keeps_its_own_labels():
    cells, lab = _pool_world(k_z=0, k_zpad=0)
    out = estimate(cells, lab, Settings(replicates=400)).set_index("org_id")
    # every org rests on its own 50 labels and borrows from the 500 of the other ten
    assert (out["audit_n"] == 50).all() and (out["pooled_n"] == 500).all()
    assert ((out["own_weight"] > 0) & (out["own_weight"] <= 1)).all()
    # Z saw no theater label: its lower end is 0; the interval stays inside [0, 1]
    assert out.loc["Z", "ci_low"] == 0
    assert ((out["ci_low"] >= 0) & (out["ci_high"] <= 1)).all()
    assert (out["ci_low"] <= out["share"]).all() and (out["share"] <= out["ci_high"]).all()
    # Z's own labels say 12 of 40 'none' interactions are theater (the detector misses them
    # there only): the spread between orgs grows, Z keeps most of its own figure and its
    # interval covers what its labels say, not the others' 2%
    cells, lab = _pool_world(k_z=12)
    out2 = estimate(cells, lab, Settings(replicates=400)).set_index("org_id")
    own = 0.9 * (12 + 860 * 12 / 40) / 900 + 0.1 * (9 + 90 * 0.9) / 100
    assert out2.loc["Z", "own_weight"] > 0.5
    assert out2.loc["Z", "ci_low"] < own < out2.loc["Z", "ci_high"]
    assert out2.loc["Z", "ci_low"] > out2.loc["o0", "ci_high"]
    # without pooling each org's interval is its own labels' (the bounded one)
    alone = estimate(cells, lab, Settings(replicates=400, pool=False)).set_index("org_id")
    assert (alone["pooled_n"] == 0).all() and (alone["own_weight"] == 1).all()


def test_pooled_plan_needs_fewer_labels_when_orgs_spread_little():
    cells = pd.DataFrame(
        [
            {"org_id": f"o{i}", "user_key": "u", "stratum": h, "n": n}
            for i in range(20)
            for h, n in (("none", 800), ("padding", 200))
        ]
    )
    rates = {"none": 0.05, "padding": 0.8}
    own = plan.widths(cells, rates, 300)["width"]
    tight = plan.widths(cells, rates, 300, tau2=0.0005)["width"]
    loose = plan.widths(cells, rates, 300, tau2=1.0)["width"]
    assert (tight < own).all() and (tight < loose).all()
    # a spread far above the sampling variance: no shrinkage, the normal interval again
    assert loose.to_numpy() == pytest.approx(own.to_numpy(), rel=0.03)
    need_own = plan.plan(cells, rates, 12)["labels"]
    need_pooled = plan.plan(cells, rates, 12, tau2=0.0005)["labels"]
    assert need_pooled < need_own
