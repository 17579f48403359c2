"""Two design strata per org (none / flagged) and the low-miss detector of the simulations,
checked by hand (pure pandas/numpy, seconds)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from theater.audit import sample, simworld
from theater.audit.estimate import Settings, estimate


def test_grouped_strata_keep_none_and_merge_every_signal():
    st = pd.Series(
        ["none", "unused_output", "multi", "none", "checkpoint_burst"], index=[4, 3, 2, 1, 0]
    )
    out = sample.grouped(st)
    assert out.tolist() == ["none", "flagged", "flagged", "none", "flagged"]
    assert out.index.tolist() == [4, 3, 2, 1, 0]


def test_grouped_allocation_gives_the_unflagged_cell_the_labels_the_floor_took():
    # one org: none 750, three signals 100 + 100 + 50. By detector output, 15 labels give
    # 2 to each of 4 cells first and 7 in proportion to the 742, 98, 98, 48 left:
    # 5.26, 0.70, 0.70, 0.34 -> 5 + 1 + 1 + 0 -> none 7 of 15
    by_signal = pd.DataFrame(
        {"org_id": "A", "stratum": ["none", "s1", "s2", "s3"], "N": [750, 100, 100, 50]}
    )
    a = sample.allocate(by_signal, 15).set_index("stratum")["n"]
    assert a.to_dict() == {"none": 7, "s1": 3, "s2": 3, "s3": 2}
    # grouped: 2 + 2 first, 11 in proportion to 748 and 248: 8.26, 2.74 -> 8 + 3
    grouped = pd.DataFrame({"org_id": "A", "stratum": ["flagged", "none"], "N": [250, 750]})
    g = sample.allocate(grouped, 15).set_index("stratum")["n"]
    assert g.to_dict() == {"flagged": 5, "none": 10}


def test_estimate_on_grouped_strata_by_hand():
    # flagged: 200 interactions over two signals, 4 labels drawn from the group at random
    # (inclusion 4/200 each), 3 theater: (3 + 196 * 3/4) / 200 = 0.75. none: 800, 8 labels,
    # 1 theater: (1 + 792 / 8) / 800 = 0.125. Share 0.8 * 0.125 + 0.2 * 0.75 = 0.25
    cells = pd.DataFrame(
        {
            "org_id": "A",
            "user_key": ["u1", "u2"],
            "stratum": ["none", "flagged"],
            "n": [800, 200],
            "sum_p": [40.0, 120.0],
        }
    )
    lab = pd.DataFrame(
        {
            "org_id": "A",
            "stratum": ["flagged"] * 4 + ["none"] * 8,
            "label": [1, 1, 1, 0] + [1] + [0] * 7,
            "inclusion_probability": [4 / 200] * 4 + [8 / 800] * 8,
        }
    )
    out = estimate(cells, lab, Settings(replicates=400, seed=3, pool=False)).iloc[0]
    assert out["share"] == pytest.approx(0.25, abs=1e-12)
    assert out["detector_share"] == pytest.approx(0.16)
    assert out["audit_n"] == 12
    assert out["ci_low"] < 0.25 < out["ci_high"]


def test_sharp_detector_misses_little_and_flags_mostly_theater():
    df, _ = simworld.world(11, "sharp", n_orgs=6)
    flagged = df["flags"] != ""
    miss = df.loc[~flagged, "is_theater"].mean()
    precision = df.loc[flagged, "is_theater"].mean()
    recall = df.loc[df["is_theater"] == 1, "flags"].ne("").mean()
    assert recall > 0.96 and miss < 0.02 and precision > 0.8, (recall, miss, precision)
    with pytest.raises(ValueError, match="sharp"):
        simworld.world(1, "blunt")
    assert np.isin(sample.grouped(sample.strata(df["flags"])), ["none", "flagged"]).all()
