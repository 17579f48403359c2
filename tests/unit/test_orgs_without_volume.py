"""Orgs whose people used a tool by user-day exports that count no usage volume: which orgs,
how many people, and their gold row (n/a with the reason, or suppressed)."""

from __future__ import annotations

from datetime import date

from theater.transforms import aggregates as agg

COLS = (
    "org_id string, user_key string, source_format string, feature string, requests bigint, "
    "suggestions_shown bigint, accepted bigint, rejected bigint, dismissed bigint, "
    "sessions bigint, prompt_tokens bigint, output_tokens bigint"
)
CCA = "claude_code_analytics"


def _rows(spark):
    # (org, user, source, feature, requests, shown, acc, rej, dis, sessions, in, out)
    return spark.createDataFrame(
        [
            # org a: three people with sessions or tokens only; u4 reports all zeros
            ("a", "u1", CCA, "agent", None, None, 0, 0, None, 3, None, None),
            ("a", "u2", CCA, "agent", None, None, None, None, None, None, 100, 900),
            ("a", "u3", CCA, "agent", None, None, None, None, None, 1, None, None),
            ("a", "u4", CCA, "agent", None, None, 0, 0, None, 0, 0, 0),
            # automation acting in u5's name is not a person's use
            ("a", "u5", CCA, "auto_review", None, None, None, None, None, 4, 0, 0),
            # org b: one person with sessions (below k = 2: suppressed)
            ("b", "u6", CCA, "agent", None, None, None, None, None, 2, None, None),
            # org c already has an index row: not added
            ("c", "u7", CCA, "agent", None, None, None, None, None, 2, None, None),
            # no org: never an org row
            (None, "u8", CCA, "agent", None, None, None, None, None, 2, None, None),
        ],
        COLS,
    )


def test_active_orgs_without_volume(spark):
    held = spark.createDataFrame([("c",)], "org_id string")
    got = {
        r.org_id: r
        for r in agg.active_orgs_without_volume(_rows(spark), held, min_users=2).collect()
    }
    assert set(got) == {"a", "b"}
    assert got["a"]._peak == 3 and not got["a"].suppressed  # u1, u2, u3
    assert got["a"].sources == [CCA]
    assert got["b"]._peak == 1 and got["b"].suppression_reason == "min_users"


def test_rows_say_why(spark):
    schema = (
        "org_id string, period_start date, period_end date, theater_index double, "
        "ci_low double, ci_high double, n_users long, suppressed boolean, "
        "suppression_reason string, not_measurable_reason string, index_basis string, "
        "sources array<string>, run_id string"
    )
    empty = spark.createDataFrame([], schema)
    held = spark.createDataFrame([("c",)], "org_id string")
    orgs = agg.active_orgs_without_volume(_rows(spark), held, min_users=2)
    rows = {
        r.org_id: r
        for r in agg.with_org_level_orgs(
            empty,
            orgs,
            date(2026, 7, 1),
            date(2026, 10, 1),
            "run-1",
            template=agg.NOT_MEASURABLE_NO_VOLUME,
            people=True,
        ).collect()
    }
    a, b = rows["a"], rows["b"]
    assert a.theater_index is None and a.ci_low is None and a.index_basis == "none"
    assert a.n_users == 3 and a.sources == [CCA]
    assert a.not_measurable_reason == agg.NOT_MEASURABLE_NO_VOLUME.format(sources=CCA)
    # suppressed: the reason only, no figure, no count, no sources
    assert b.suppressed and b.n_users is None and b.not_measurable_reason is None
    assert b.sources is None and b.index_basis is None
