"""Per-event vendor cost through the real stages: the Cursor and LiteLLM fixtures and one native
event land, ingest writes bronze/interactions with ``cost_usd``, refine carries it to
silver/interactions, and gold/org_adoption's cost transform reads it from there.

Expected, from the fixtures by hand: Cursor ana's token-priced request 1.42 US cents ->
$0.0142; Ben's request-priced call has no ``totalCents`` -> null. LiteLLM ``spend`` 0.00012,
0.002, 0 (a reported zero) and 0.0004 dollars. The native event sends a ``cost_usd`` field of
its own: the landing contract has no cost, so it stays in ``_extra`` and silver's cost is null.
"""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pytest
from pyspark.sql import functions as F
from vendor_lake import ingest_and_refine, one_org_directory

from theater.config import Adoption
from theater.period import Period
from theater.sources.exports import map_file
from theater.transforms import adoption as ad

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "vendor"
FORMATS = ("cursor_usage_events", "litellm_spend_logs")
PERIOD = Period(date(2026, 7, 1), date(2026, 8, 1))
NATIVE = {
    "event_id": "n1",
    "event_ts": "2026-07-06T12:00:00Z",
    "user_id": "p-native",
    "tool": "chat",
    "action": "chat",
    "org_id": "org-a",
    "cost_usd": 9.99,
}
EXPECTED = {
    "cur-7cf612fff3bfa1086e14239a": 0.0142,
    "cur-c7b7ab6230d776e419fa0e42": None,
    "chatcmpl-7f3a0001": 0.00012,
    "chatcmpl-7f3a0002": 0.002,
    "chatcmpl-7f3a0003": 0.0,
    "chatcmpl-7f3a0101": 0.0004,
    "n1": None,
}


def _landing(root: Path) -> Path:
    landing = root / "landing"
    kinds = set()
    for fmt in FORMATS:
        shutil.copytree(FIX / fmt, landing / "vendor" / fmt)
        for f in sorted((FIX / fmt).iterdir()):
            for rec in map_file(str(f), fmt):
                kinds |= {(r["user_id"], r["user_alias_kind"]) for r in rec.rows}
    kinds = sorted(kinds)
    (landing / "identities").mkdir()
    (landing / "identities" / "identities.csv").write_text(
        "alias,alias_kind,user_id\n"
        + "".join(f'"{a}",{k},p{n:03d}\n' for n, (a, k) in enumerate(kinds))
    )
    people = [f"p{n:03d}" for n in range(len(kinds))] + ["p-native"]
    one_org_directory(landing, people)
    (landing / "interactions").mkdir()
    (landing / "interactions" / "native.jsonl").write_text(json.dumps(NATIVE) + "\n")
    return landing


@pytest.fixture(scope="module")
def lake(spark, tmp_path_factory):
    root = tmp_path_factory.mktemp("event_cost")
    # the fixtures hold bad records on purpose (up to 3 of 5): let their good ones load
    return ingest_and_refine(spark, root, _landing(root), PERIOD, warn=0.7, fail=0.75)[0]


def test_cost_reaches_bronze_and_silver_native_stays_null(spark, lake):
    bronze = {
        r.event_id: (r.cost_usd, r._extra)
        for r in lake.read(spark, "bronze/interactions").collect()
    }
    assert {k: v[0] for k, v in bronze.items()} == pytest.approx(EXPECTED)
    assert json.loads(bronze["n1"][1]) == {"cost_usd": "9.99"}  # kept as sent, not a cost
    silver = lake.read(spark, "silver/interactions")
    assert dict(silver.dtypes)["cost_usd"] == "double"
    got = {r.event_id: r.cost_usd for r in silver.collect()}
    assert got == pytest.approx(EXPECTED)


def test_org_adoption_cost_from_silver(spark, lake):
    # Prices: cursor 0.5 a request. Cursor: 0.0142 (vendor) + 0.5 (Ben's call, priced)
    # = 0.5142 -> 0.51 'mixed'; LiteLLM: 0.00252 from the vendor alone -> 0.0 'vendor' (cents
    # rounded, a known figure); the native chat event has no price: null. all: 0.5142 +
    # 0.00252 = 0.51672 -> 0.52 'mixed'.
    prices = Adoption(
        "USD", ({"tool": "cursor", "effective_from": "2026-01-01", "per_request": 0.5},)
    ).prices_on(PERIOD.start)
    silver = lake.read(spark, "silver/interactions").where(PERIOD.ts_col("event_ts"))
    activity = ad.combined(ad.event_activity(silver, prices), None)
    out = ad.org_adoption(
        activity, PERIOD.start, PERIOD.end, min_users=1, dominance_share=1.0, run_id="r"
    )
    got = {
        r.source_format: (r.cost, r.cost_source)
        for r in out.where(F.col("org_id") == "org-a").collect()
    }
    assert got["cursor_usage_events"] == (pytest.approx(0.51), "mixed")
    assert got["litellm_spend_logs"] == (0.0, "vendor")
    assert got["native"] == (None, None)
    assert got["all"] == (pytest.approx(0.52), "mixed")
