"""The org index step with its second thread gives the org index of one thread, and an error
there fails the computation; so do adoption's activity, the acceptance counts and the labels'
counts, computed on the stage's own second thread from the incentive step on.

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
    adoption = sorted(
        (
            {k: v for k, v in r.asDict(recursive=True).items() if k not in VOLATILE}
            for r in gold.adoption.collect()
        ),
        key=lambda r: (r["org_id"], r["source_format"]),
    )
    counts = (
        gold.label_counts.result() if gold.label_counts is not None else None,
        score.label_counts(gold.labels),
    )
    return rows, gold.incentives.summary()["org_shares"], adoption, counts


def _where(monkeypatch, module, name) -> list:
    """The threads ``module.name`` ran on, recorded."""
    seen: list = []
    real = getattr(module, name)

    def recorded(*args, **kwargs):
        seen.append(threading.current_thread().name)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, recorded)
    return seen


def test_second_thread_gives_the_index_of_one(spark, scored, monkeypatch):
    seen = _where(monkeypatch, incentives, "decoupling_estimates")
    early = _where(monkeypatch, score, "adoption_activity")
    counted = _where(monkeypatch, score, "acceptance_counts")
    beside, beside_shares, beside_adoption, beside_counts = _index(spark, scored, "s1")
    assert len(seen) == 1 and seen[0].startswith("score-beside")
    # adoption's activity, the acceptance and the labels' counts: on the stage's second thread
    assert len(early) == 1 and early[0].startswith("score-beside")
    assert len(counted) == 1 and counted[0].startswith("score-beside")
    assert beside_counts[0] is not None and beside_counts[0] == beside_counts[1]
    monkeypatch.setattr(score, "BESIDE_BUCKETS", 0)
    alone, alone_shares, alone_adoption, alone_counts = _index(spark, scored, "s2")
    assert seen[1:] == [threading.main_thread().name]
    assert early[1:] == [threading.main_thread().name]
    assert counted[1:] == [threading.main_thread().name]
    assert alone_counts[0] is None
    assert beside == alone
    assert beside_shares == alone_shares
    assert beside_adoption == alone_adoption and beside_adoption
    assert beside_counts[1] == alone_counts[1]
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


def test_an_error_in_adoptions_early_activity_fails_the_computation(spark, scored, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("activity broke")

    monkeypatch.setattr(score, "adoption_activity", broken)
    with pytest.raises(RuntimeError, match="activity broke"):
        _index(spark, scored, "s4")


def test_an_error_in_the_early_acceptance_counts_fails_the_computation(spark, scored, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("counts broke")

    monkeypatch.setattr(score, "acceptance_counts", broken)
    with pytest.raises(RuntimeError, match="counts broke"):
        _index(spark, scored, "s5")
