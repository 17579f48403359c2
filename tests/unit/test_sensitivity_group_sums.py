"""Rank bands' per-setting shares from the group sums equal the definition computed row by row:
every signal kept or dropped, the unused-output flag re-derived per view-time threshold, the
bunching weight times the org's factor per order (capped at 1), weights other than 1, and NA
components (0, and not measured)."""

import pytest

from theater.signals import sensitivity

NAMES = ["unused_output", "self_summary", "quota_bunching", "checkpoint_burst"]
SCHEMA = (
    "org_id string, output_disposition string, dwell_ms int, sig_self_summary boolean, "
    "sig_quota_bunching double, sig_checkpoint_burst double"
)
ROWS = [
    ("A", "discarded", None, True, 0.3, None),
    ("A", None, 4000, False, 0.6, 0.25),
    ("A", "accepted", 100, None, None, 0.5),
    ("A", None, None, None, None, None),  # nothing measured
    ("B", None, 2000, None, 0.9, None),
    ("B", "ignored", None, False, None, 0.1),
    ("B", "copied", 9000, True, 0.05, 0.7),
    (None, "discarded", 1, True, 1.0, 1.0),  # no org: not counted
]
WEIGHTS = {"unused_output": 0.9, "self_summary": 0.5, "quota_bunching": 0.8}
FACTORS = {"A": {5: 2.0, 7: 0.5}}


def _by_row(config):
    """The definition: the mean over an org's rows with a measured component of
    1 - prod(1 - weight x component) over the kept signals."""
    num, den = {}, {}
    for org, disp, dwell, summ, quota, burst in ROWS:
        if org is None:
            continue
        keep, measured = 1.0, False
        for name in NAMES:
            if name == config["drop"]:
                continue
            if name == "unused_output":
                if disp in ("discarded", "ignored"):
                    v, m = 1.0, True
                elif disp in ("accepted", "copied"):
                    v, m = 0.0, True
                else:
                    v, m = (float(dwell < config["dwell"]), True) if dwell is not None else (0, 0)
            elif name == "self_summary":
                v, m = (float(summ), True) if summ is not None else (0.0, False)
            elif name == "quota_bunching":
                f = FACTORS.get(org, {}).get(config["order"], 1.0)
                v, m = (min(1.0, quota * f), True) if quota is not None else (0.0, False)
            else:
                v, m = (burst, True) if burst is not None else (0.0, False)
            keep *= 1.0 - WEIGHTS.get(name, 1.0) * v
            measured = measured or m
        if measured:
            num[org] = num.get(org, 0.0) + 1.0 - keep
            den[org] = den.get(org, 0.0) + 1.0
    return {o: num.get(o, 0.0) / den[o] if den.get(o) else 0.0 for o in ("A", "B")}


def test_group_sums_equal_the_row_by_row_definition(spark):
    configs = [
        {"dwell": d, "order": o, "drop": x}
        for d in (3000, 5000)
        for o in (5, 6, 7)
        for x in [None, *NAMES]
    ]
    got = sensitivity.org_shares(
        spark.createDataFrame(ROWS, SCHEMA), WEIGHTS, NAMES, configs, FACTORS
    )
    assert set(got) == {"A", "B"}
    for i, c in enumerate(configs):
        want = _by_row(c)
        assert got["A"][i] == pytest.approx(want["A"], abs=1e-12), c
        assert got["B"][i] == pytest.approx(want["B"], abs=1e-12), c


def test_a_hand_worked_setting(spark):
    # dwell 3000, order 5, nothing dropped. A's rows (weights 0.9, 0.5, 0.8, 1):
    #  1: discarded -> 0.9; summary 0.5; bunching 0.3 x 2 = 0.6 -> 0.48:
    #     p = 1 - 0.1 x 0.5 x 0.52 = 0.974
    #  2: 4000 >= 3000 -> 0; summary no; bunching 1.2 -> 1 -> 0.8; burst 0.25:
    #     p = 1 - 0.2 x 0.75 = 0.85
    #  3: accepted -> 0; burst 0.5: p = 0.5
    #  4: nothing measured, not counted.  A = (0.974 + 0.85 + 0.5) / 3
    got = sensitivity.org_shares(
        spark.createDataFrame(ROWS, SCHEMA),
        WEIGHTS,
        NAMES,
        [{"dwell": 3000, "order": 5, "drop": None}],
        FACTORS,
    )
    assert got["A"][0] == pytest.approx((0.974 + 0.85 + 0.5) / 3, abs=1e-12)
