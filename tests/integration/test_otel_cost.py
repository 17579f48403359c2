"""Claude Code OpenTelemetry's per-request ``cost_usd`` (on ``api_request`` events) becomes the
prompt's vendor cost: mapped onto the update, summed over the prompt's requests by both folds
(the pure one and refine's on Sail), and carried through the real ingest and refine to
silver/interactions and gold/org_adoption's cost.

Fixture by hand (``tests/fixtures/vendor/claude_code_otel``): prompt a001 (Ana) has two
api_requests, the first reporting ``cost_usd`` 0.0087 and the second none -> 0.0087; prompt
b001 has only a tool decision -> None; prompt e001 (next day's file) has no update -> None
(unknown, never 0).
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
from pyspark.sql import functions as F
from vendor_lake import ingest_and_refine, one_org_directory

from theater.config import load_config
from theater.lake import Lake
from theater.period import Period
from theater.pipeline import run_stage
from theater.sources.exports import map_file
from theater.sources.exports.formats import claude_code_otel as m
from theater.sources.exports.values import VendorRecordError
from theater.transforms import adoption as ad
from theater.transforms import vendor

NAME = "claude_code_otel"
FIX = Path(__file__).resolve().parents[1] / "fixtures" / "vendor" / NAME
A, B, D, E = (f"6f1c1e2a-0000-4000-8000-00000000{x}001" for x in "abde")
PERIOD = Period(date(2026, 7, 1), date(2026, 8, 1))
EXPECTED = {A: 0.0087, B: None, E: None}


def _request(seq, cost, tokens=10):
    attrs = {
        "event.name": "api_request",
        "prompt.id": "p-1",
        "event.timestamp": f"2026-07-06T10:00:0{seq}Z",
        "event.sequence": seq,
        "input_tokens": tokens,
        "output_tokens": 1,
        "model": "claude-sonnet-4-5",
    }
    if cost is not None:
        attrs["cost_usd"] = cost
    return {"attributes": attrs}


def _prompt(event_id="p-1"):
    return {
        "attributes": {
            "event.name": "user_prompt",
            "prompt.id": event_id,
            "event.timestamp": "2026-07-06T10:00:00Z",
            "user.email": "x@example.org",
        }
    }


def test_api_request_cost_is_mapped_and_summed_by_the_pure_fold():
    (u1,) = m.map_record(_request(1, 0.25))
    (u2,) = m.map_record(_request(2, "0.5"))
    (u3,) = m.map_record(_request(3, None))
    assert (u1["cost_usd"], u2["cost_usd"], u3["cost_usd"]) == (0.25, 0.5, None)
    (p,) = m.map_record(_prompt())
    assert p["cost_usd"] is None
    # 0.25 + 0.5, the request without a cost adds nothing; u1 delivered twice counts once
    (row,), orphans = m.fold_updates([p], [u1, u2, u3, u1])
    assert (row["cost_usd"], row["prompt_tokens"], orphans) == (0.75, 30, [])
    # no request reports a cost: unknown, not 0
    (row,), _ = m.fold_updates([p], [u3])
    assert row["cost_usd"] is None
    # a reported 0 is a known 0
    (row,), _ = m.fold_updates([p], [m.map_record(_request(4, 0))[0]])
    assert row["cost_usd"] == 0.0
    with pytest.raises(VendorRecordError, match="bad_type: cost_usd"):
        m.map_record(_request(5, "-1"))


def test_the_spark_fold_sums_cost_like_the_pure_one(spark):
    updates = [m.map_record(_request(s, c))[0] for s, c in ((1, 0.25), (2, 0.5), (3, None))]
    cols = ["source_format", "event_id", "update_id", "event_ts", "prompt_tokens"]
    cols += ["completion_tokens", "model", "output_disposition", "cost_usd"]
    rows = [
        tuple(u["update_ts"] if c == "event_ts" else u[c] for c in cols) + ("2026-07-07",)
        for u in updates
    ]
    schema = (
        "source_format string, event_id string, update_id string, event_ts string, "
        "prompt_tokens bigint, completion_tokens bigint, model string, "
        "output_disposition string, cost_usd double, _ingested_at string"
    )
    upd = spark.createDataFrame(rows + rows[:1], schema).withColumn(
        "_ingested_at", F.col("_ingested_at").cast("timestamp")
    )
    prompts = spark.createDataFrame(
        [(NAME, "p-1", None, None, None, None, None), (NAME, "p-2", None, None, None, None, None)],
        "source_format string, event_id string, prompt_tokens bigint, "
        "completion_tokens bigint, model string, output_disposition string, cost_usd double",
    )
    got = {r.event_id: r.cost_usd for r in prompts.transform(vendor.fold_updates(upd)).collect()}
    assert got == {"p-1": pytest.approx(0.75), "p-2": None}
    # a bronze table written before updates carried a cost: the fold still runs, cost unknown
    old = {
        r.event_id: r.cost_usd
        for r in prompts.transform(vendor.fold_updates(upd.drop("cost_usd"))).collect()
    }
    assert old == {"p-1": None, "p-2": None}


@pytest.fixture(scope="module")
def lake(spark, tmp_path_factory):
    root = tmp_path_factory.mktemp("otel_cost")
    landing = root / "landing"
    shutil.copytree(FIX, landing / "vendor" / NAME)
    aliases = sorted(
        {
            (r["user_id"], r["user_alias_kind"])
            for f in sorted(FIX.iterdir())
            for rec in map_file(str(f), NAME)
            for r in rec.rows
            if r["_table"] == "interactions"
        }
    )
    (landing / "identities").mkdir()
    (landing / "identities" / "identities.csv").write_text(
        "alias,alias_kind,user_id\n"
        + "".join(f"{a},{k},p{n}\n" for n, (a, k) in enumerate(aliases))
    )
    one_org_directory(landing, (f"p{n}" for n in range(len(aliases))))
    # the fixtures hold bad records on purpose (one of the two lines of the .jsonl)
    return ingest_and_refine(spark, root, landing, PERIOD, warn=0.5, fail=0.6)[0]


def test_cost_reaches_bronze_updates_and_silver(spark, lake):
    upd = lake.read(spark, "bronze/interaction_updates")
    assert dict(upd.dtypes)["cost_usd"] == "double"
    got = sorted(
        (r.event_ts, r.update_kind, r.cost_usd) for r in upd.where(F.col("event_id") == A).collect()
    )
    assert got == [
        ("2026-07-06T09:00:02Z", "api_request", pytest.approx(0.0087)),
        ("2026-07-06T09:00:05Z", "tool_decision", None),
        ("2026-07-06T09:00:09Z", "api_request", None),
    ]
    silver = lake.read(spark, "silver/interactions").where(F.col("source_format") == NAME)
    got = {r.event_id: r.cost_usd for r in silver.collect()}
    assert got == pytest.approx(EXPECTED)


def test_org_adoption_cost_from_the_otel_estimate(spark, lake):
    # No price table: the org's cost is Ana's 0.0087 alone (the other prompts' cost is
    # unknown and adds nothing) -> 0.01 after rounding to cents, from the vendor.
    silver = lake.read(spark, "silver/interactions").where(PERIOD.ts_col("event_ts"))
    activity = ad.combined(ad.event_activity(silver), None)
    out = ad.org_adoption(
        activity, PERIOD.start, PERIOD.end, min_users=1, dominance_share=1.0, run_id="r"
    )
    got = {
        r.source_format: (r.active_users, r.cost, r.cost_source)
        for r in out.where(F.col("org_id") == "org-a").collect()
    }
    assert got[NAME] == (3, pytest.approx(0.01), "vendor")
    assert got["all"] == (3, pytest.approx(0.01), "vendor")


def test_an_older_updates_table_gains_the_cost_column(spark, lake, tmp_path):
    # a lake whose bronze/interaction_updates was written before updates carried a cost: the
    # next ingest adds the column (null: unknown) and appends the new file's costs
    shutil.copytree(lake.root, tmp_path / "lake")
    old = Lake(str(tmp_path / "lake"), lake.fmt)
    rows = old.read(spark, "bronze/interaction_updates").drop("cost_usd").toPandas()
    old.overwrite(spark.createDataFrame(rows), "bronze/interaction_updates")
    assert "cost_usd" not in old.read(spark, "bronze/interaction_updates").columns
    landing = tmp_path / "landing" / "vendor" / NAME
    landing.mkdir(parents=True)
    text = (FIX / "logs_2026-07-06.json").read_text().replace("0000-4000-8000", "0000-4000-9000")
    (landing / "later.json").write_text(text)
    cfg = load_config(
        env="local",
        environ={},
        overrides={"quality.quarantine_warn_share": 0.5, "quality.quarantine_fail_share": 0.6},
    )
    run_stage(spark, "ingest", cfg, old.root, str(tmp_path / "landing"), PERIOD, "test-run")
    got = old.read(spark, "bronze/interaction_updates")
    costs = sorted(
        (r.event_id[14:23], r.cost_usd) for r in got.where(F.col("cost_usd").isNotNull()).collect()
    )
    assert costs == [("4000-9000", pytest.approx(0.0087))]
    assert got.where(F.col("event_id").contains("4000-8000")).count() == len(rows)
