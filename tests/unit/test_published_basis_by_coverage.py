"""Which figure an org publishes when it has both a per-interaction index and an estimate from
acceptance counts: the one that reads more of its usage unless the index's measured
interactions are most of it (transforms.score.org_index), and the
outputs the counts read (acceptance_excess.estimate's ``acceptance_outputs``). Hand-made
frames; expected values worked out in the comments."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from theater.signals import acceptance_excess as ax
from theater.transforms.score import org_index


def _index(spark, acceptance_rows):
    # every org: 12 users of 10 interactions each (120 usage units), each interaction's
    # probability 0.2 where measured (index 20.0); measured per user: 'more' 10 (120 in all),
    # 'less' 3 (36), 'tie' 5 (60), 'only' 4 (48, no acceptance estimate), 'most' 7 (84)
    measured = {"more": 10, "less": 3, "tie": 5, "only": 4, "most": 7}
    users = spark.createDataFrame(
        [(o, f"{o}{i}", 10, m, 0.2 * m) for o, m in measured.items() for i in range(12)],
        "org_id string, user_key string, n long, n_measured long, sum_p double",
    )
    signals = spark.createDataFrame(
        [(o, 0.2, 1.0, 1) for o in measured],
        "org_id string, signal_a double, coverage_a double, _n_measurable_flags int",
    )
    interval = spark.createDataFrame(
        [(o, 0.15, 0.25) for o in measured], "org_id string, ci_low double, ci_high double"
    )
    acceptance = spark.createDataFrame(
        acceptance_rows,
        "org_id string, _ax_share double, _ax_low double, _ax_high double, _ax_users int, "
        "_ax_coverage double, _ax_outputs double, _ax_reason string",
    )
    out = org_index(
        users,
        signals,
        interval,
        names=["a"],
        min_users=5,
        dominance_share=0.5,
        top_n=3,
        period_start=date(2026, 7, 1),
        period_end=date(2026, 10, 1),
        run_id="r",
        flag_names=["a"],
        acceptance=acceptance,
        confidence=0.90,
    )
    return {r.org_id: r for r in out.collect()}


def test_the_basis_that_reads_more_of_the_usage_is_published(spark):
    # every acceptance estimate 35% [30, 40] from counts that read 60 of the 120 units
    got = _index(
        spark,
        [(o, 0.35, 0.30, 0.40, 12, 1.0, 60.0, None) for o in ("more", "less", "tie")]
        + [("most", 0.35, 0.30, 0.40, 12, 1.0, 100.0, None)],
    )
    # 120 measured interactions >= 60 counted outputs: the per-interaction index
    more = got["more"]
    assert more.index_basis == "interactions" and more.theater_index == 20.0
    assert (more.ci_low, more.ci_high) == (15.0, 25.0) and more.top_signals == ["a"]
    # 36 measured < 60 counted: the acceptance estimate, its interval, no top signals; the
    # index's measured count and signal shares stay as details, no reason (it is published)
    less = got["less"]
    assert less.index_basis == "acceptance" and less.theater_index == 35.0
    assert (less.ci_low, less.ci_high) == (30.0, 40.0)
    assert less.top_signals is None and less.not_measurable_reason is None
    assert less.n_measured == 36 and less.signal_a == 0.2
    # 60 = 60: a tie keeps the per-interaction index
    assert got["tie"].index_basis == "interactions" and got["tie"].theater_index == 20.0
    # 84 measured < 100 counted, but 84 is most of the 120 units (>= 60, half): the measured
    # part is the larger one, the per-interaction index stands
    assert got["most"].index_basis == "interactions" and got["most"].theater_index == 20.0
    # no acceptance estimate: the per-interaction index, however little it measures
    assert got["only"].index_basis == "interactions" and got["only"].theater_index == 20.0


def test_an_acceptance_estimate_not_published_does_not_take_the_org(spark):
    # 'less' has counts from fewer than the users needed (share null, with a reason): its
    # 36 measured interactions publish, whatever the counts read
    got = _index(spark, [("less", None, None, None, 3, 0.2, 100.0, "too few")])
    less = got["less"]
    assert less.index_basis == "interactions" and less.theater_index == 20.0
    assert less.not_measurable_reason is None


def test_acceptance_outputs_count_each_users_outputs_up_to_its_usage():
    acc = pd.DataFrame(
        [
            ("A", "u1", "ide/chat", 30.0, 3.0),
            ("A", "u1", "ide/completion", 50.0, 25.0),  # u1: 80 outputs, usage 60
            ("A", "u2", "ide/chat", 20.0, 2.0),  # u2: 20 outputs, usage 100
            ("B", "v1", "ide/chat", 10.0, 1.0),  # v1: 10 outputs, no usage row
        ],
        columns=["org_id", "user_key", "feature", "n", "k"],
    )
    users = pd.DataFrame(
        [("A", "u1", 60.0, np.nan), ("A", "u2", 100.0, np.nan), ("A", "u3", 40.0, np.nan)],
        columns=["org_id", "user_key", "usage", "incentive"],
    )
    got = ax.estimate(acc, users, ax.Settings(replicates=0)).set_index("org_id")
    # A: min(80, 60) + min(20, 100) + 0 (u3 has no counts) = 80; B: v1's own 10
    assert got.loc["A", "acceptance_outputs"] == 80.0
    assert got.loc["B", "acceptance_outputs"] == 10.0
    assert list(got.reset_index().columns) == ax.COLUMNS
