"""The org index step with its second thread gives the org index of one thread, and an error
there fails the computation.

A copy of the session's shared quarter is scored twice with the rank bands on (their grid's
shares are among the second thread's work): with the second thread (the quarter is one label
bucket) and with none (``BESIDE_BUCKETS`` = 0, every part computed where it always was)."""

from __future__ import annotations

import threading

import pytest

from theater.config import load_config
from theater.lake import Lake
from theater.period import Period
from theater.stages import incentives, score

Q3 = Period.quarter("2026Q3")
VOLATILE = {"run_id", "computed_at", "scored_at"}


@pytest.fixture(scope="module")
def scored(quarter, tmp_path_factory, spark):
    tmp = quarter.copy(tmp_path_factory.mktemp("beside"))
    cfg = load_config(
        env="local",
        environ={},
        overrides={
            "paths.state": str(tmp / "state"),
            "spark.shuffle_partitions": 2,
            "tracking.enabled": False,
            "scoring.bootstrap.replicates": 50,
            "quality.data_docs": False,
        },
    )
    return tmp, cfg, Lake(str(tmp / "lake"), cfg.table_format)


def _index(spark, scored, name):
    tmp, cfg, lake = scored
    inputs = score.read_inputs(spark, lake, Q3, cfg)
    gold = score.compute_gold(spark, inputs, Q3, cfg, "beside", staging=str(tmp / name))
    rows = [
        {k: v for k, v in r.asDict(recursive=True).items() if k not in VOLATILE}
        for r in gold.index.orderBy("org_id").collect()
    ]
    return rows, gold.incentives.summary()["org_shares"]


def _where(monkeypatch) -> list:
    """The threads outcome decoupling's estimates ran on, recorded."""
    seen: list = []
    real = incentives.decoupling_estimates

    def recorded(*args, **kwargs):
        seen.append(threading.current_thread().name)
        return real(*args, **kwargs)

    monkeypatch.setattr(incentives, "decoupling_estimates", recorded)
    return seen


def test_second_thread_gives_the_index_of_one(spark, scored, monkeypatch):
    seen = _where(monkeypatch)
    beside, beside_shares = _index(spark, scored, "s1")
    assert len(seen) == 1 and seen[0].startswith("score-beside")
    monkeypatch.setattr(score, "BESIDE_BUCKETS", 0)
    alone, alone_shares = _index(spark, scored, "s2")
    assert seen[1:] == [threading.main_thread().name]
    assert beside == alone
    assert beside_shares == alone_shares
    # what the second thread computed is in the rows (rank bands) and the org shares (this
    # world has no org with a decoupling estimate: the estimates ran, empty)
    assert any(r["rank_low"] is not None for r in beside)
    assert beside_shares


def test_an_error_on_the_second_thread_fails_the_index(spark, scored, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("grid broke")

    monkeypatch.setattr(incentives, "config_shares", broken)
    with pytest.raises(RuntimeError, match="grid broke"):
        _index(spark, scored, "s3")
