"""gold/org_adoption's GX suite on the adoption transform's own output: the real suite, on
a frame holding published, suppressed and automation rows, passes; a suppressed row that
still carries a figure fails it."""

from __future__ import annotations

from datetime import date

import pytest
from pyspark.sql import functions as F

from theater import quality
from theater.errors import DataQualityError
from theater.lake import Lake
from theater.period import Period
from theater.transforms import adoption as ad
from theater.transforms.aggregates import USER_DAYS_SCHEMA
from theater.transforms.vendor import USER_DAY_COUNTS

START, END = date(2026, 3, 1), date(2026, 4, 1)


def _ud(src, user, day, feature, org, **counts):
    return (
        (src, user, org, None, date.fromisoformat(day), feature)
        + tuple(counts.get(n) for n in USER_DAY_COUNTS)
        + (1,)
    )


@pytest.fixture(scope="module")
def frame(spark, cfg):
    k = cfg.privacy.min_users
    rows = []
    for org, n in (("A", k), ("B", k - 1)):
        for i in range(n):
            rows.append(
                _ud(
                    "cursor_daily_usage",
                    f"{org}{i}",
                    "2026-03-02",
                    "chat",
                    org,
                    requests=1,
                    accepted=1,
                    rejected=1,
                )
            )
    rows.append(_ud("cursor_daily_usage", "A-bot-only", "2026-03-02", "bugbot", "A", requests=4))
    ag = ad.aggregate_activity(spark.createDataFrame(rows, USER_DAYS_SCHEMA), START, END)
    return ad.org_adoption(
        ad.combined(None, ag), START, END, min_users=k, dominance_share=0.9, run_id="r"
    )


def _gate(spark, cfg, tmp_path):
    period = Period(START, END)
    return quality.Gate(
        spark, Lake(str(tmp_path / "lake")), cfg, "score", run_id="adopt", period=period
    )


def test_the_suite_passes_on_the_transforms_output(spark, cfg, tmp_path, frame):
    got = {(r.org_id, r.source_format): r for r in frame.collect()}
    assert got[("A", "all")]["automation_users"] == 1 and got[("B", "all")]["suppressed"]
    gate = _gate(spark, cfg, tmp_path)
    gate.check("gold/org_adoption", frame, materialize=False)
    assert gate.results and all(r["success"] for r in gate.results if r["severity"] == "critical")


def test_a_suppressed_row_with_a_figure_fails(spark, cfg, tmp_path, frame):
    leak = frame.withColumn("automation_requests", F.lit(4).cast("long"))
    with pytest.raises(DataQualityError, match="automation_requests_null_when_suppressed"):
        _gate(spark, cfg, tmp_path).check("gold/org_adoption", leak, materialize=False)
