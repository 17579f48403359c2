"""Rank bands' per-setting shares summed on the driver over the collected combinations: an org
with nothing measured gets 0 (as the engine's empty sum did), an org without bunching factors
keeps its weights, and a bunching weight times its factor is capped at 1."""

import pytest

from theater.signals import sensitivity


def test_unmeasured_org_and_capped_factor(spark):
    rows = [
        ("A", 0.8, None, None),  # bunching 0.8; x2 -> capped at 1
        ("A", 0.0, None, 2000),  # unused (2000 < 3000); bunching 0
        ("C", None, None, None),  # nothing measured: share 0
        ("D", 0.5, "accepted", 100),  # no factor for D: 0.5 under every order
    ]
    labels = spark.createDataFrame(
        rows, "org_id string, sig_quota_bunching double, output_disposition string, dwell_ms int"
    )
    configs = [
        {"dwell": 3000, "order": 5, "drop": None},
        {"dwell": 3000, "order": 6, "drop": None},
        {"dwell": 1000, "order": 6, "drop": "unused_output"},
    ]
    got = sensitivity.org_shares(
        labels, {}, ["unused_output", "quota_bunching"], configs, {"A": {5: 1.0, 6: 2.0}}
    )
    # A: order 5: p = 0.8 and 1 -> 1.8 / 2; order 6: 1 and 1 -> 2 / 2;
    #    without unused_output at order 6: 1 and 0 -> 1 / 2
    assert got["A"] == pytest.approx([0.9, 1.0, 0.5], abs=1e-12)
    assert got["C"] == [0.0, 0.0, 0.0]
    assert got["D"] == pytest.approx([0.5, 0.5, 0.5], abs=1e-12)
