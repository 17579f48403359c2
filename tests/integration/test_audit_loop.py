"""Audit loop on a real lake: sample -> label from the planted truth -> load -> rescore.

Real Sail + Delta tables and a real MLflow store; labels come from the generator's truth.
"""

from __future__ import annotations

import pandas as pd
import pytest
from mlflow import MlflowClient
from pyspark.sql import functions as F

from theater.cli import main
from theater.config import load_config
from theater.console import format_org_table
from theater.lake import Lake
from theater.period import Period
from theater.pipeline import run_pipeline

Q3 = Period.quarter("2026Q3")


@pytest.fixture(scope="module")
def world(quarter, tmp_path_factory):
    """A copy of the shared quarter's lake and MLflow store, beside its landing and truth."""
    out = quarter.copy(tmp_path_factory.mktemp("audit"))
    (out / "landing").symlink_to(quarter.landing, target_is_directory=True)
    (out / "truth").symlink_to(quarter.truth, target_is_directory=True)
    cfg = load_config(
        env="local",
        environ={},
        overrides={
            "paths.state": str(out / "state"),
            "spark.shuffle_partitions": 2,
            "audit.replicates": 200,
            # neither is looked at here (their cost only): Data Docs, rank bands
            "quality.data_docs": False,
            "incentives.sensitivity.enabled": False,
        },
    )
    return out, cfg, quarter.results(out)


def test_without_labels_the_interval_is_sampling_only_and_says_so(world):
    out, cfg, res = world
    rows = res["orgs"]
    assert {r["interval_kind"] for r in rows} == {"sampling"}
    assert all(r["audit_n"] == 0 for r in rows)
    assert all(r["detector_index"] == r["theater_index"] for r in rows)
    from theater.audit.explain import interval_sentence

    text = format_org_table(rows, interval_sentence(rows, None))
    assert "excludes the detector's own errors" in text


def test_audit_round_trip(world, spark, tmp_path, capsys, monkeypatch):
    out, cfg, _ = world
    lake = Lake(str(out / "lake"))
    monkeypatch.setenv("THEATER_PATHS__STATE", str(out / "state"))
    sample_csv = tmp_path / "sample.csv"
    assert (
        main(
            [
                "audit",
                "sample",
                "--lake",
                lake.root,
                "--quarter",
                "2026Q3",
                "--size",
                "300",
                "--out",
                str(sample_csv),
                "--seed",
                "11",
            ]
        )
        == 0
    )
    s = pd.read_csv(sample_csv, dtype={"event_id": str, "label": str}, keep_default_na=False)
    assert len(s) == 300
    for c in (
        "event_id",
        "tool",
        "org_id",
        "event_ts",
        "action",
        "output_disposition",
        "artifact_id",
        "signals_fired",
        "theater_probability",
        "stratum",
        "inclusion_probability",
        "label",
        "user_key",
    ):
        assert c in s.columns
    assert (s["label"] == "").all()
    # users only as pseudonyms: no raw directory user id appears anywhere in the file
    directory = pd.concat(
        [
            pd.read_json(f, lines=True)
            if f.suffix == ".jsonl"
            else pd.read_csv(f)
            if f.suffix == ".csv"
            else pd.read_parquet(f)
            for f in (out / "landing" / "directory").iterdir()
            if f.suffix in (".jsonl", ".csv", ".parquet")
        ]
    )
    text = sample_csv.read_text()
    assert len(directory) and not any(str(u) in text for u in directory["user_id"].unique())
    # every org the index publishes is represented; suppressed orgs are not sampled at all
    published = {r["org_id"] for r in world[2]["orgs"] if not r["suppressed"]}
    assert 0 < len(published) < 6  # the world has suppressed orgs: the check means something
    assert set(s["org_id"]) == published

    truth = pd.read_csv(out / "truth" / "interactions.csv", dtype={"event_id": str})
    lab = s.merge(truth[["tool", "event_id", "is_theater"]], on=["tool", "event_id"])
    assert len(lab) == 300
    lab["label"] = lab["is_theater"].astype(int)
    good = tmp_path / "labels.csv"
    lab.drop(columns=["is_theater"]).to_csv(good, index=False)

    # a bad file: exit 2, line numbers, nothing written
    bad = tmp_path / "bad.csv"
    b = lab.drop(columns=["is_theater"]).head(5).copy()
    b["label"] = b["label"].astype(str)
    b.loc[1, "label"] = "yes"  # line 3
    b.loc[3, "event_id"] = "no-such-event"  # line 5
    b = pd.concat([b, b.iloc[[0]].assign(label="0" if b.loc[0, "label"] == "1" else "1")])
    b.to_csv(bad, index=False)  # line 7 conflicts with line 2
    capsys.readouterr()
    assert main(["audit", "load", "--lake", lake.root, "--labels", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "line 3: label 'yes'" in err
    assert "line 7: duplicate of line 2" in err
    assert not lake.exists("ops/audit_labels")
    # a file that parses but names an unknown interaction
    bad2 = tmp_path / "bad2.csv"
    b.iloc[[3]].to_csv(bad2, index=False)
    assert main(["audit", "load", "--lake", lake.root, "--labels", str(bad2)]) == 2
    assert "line 2: no interaction" in capsys.readouterr().err

    assert main(["audit", "load", "--lake", lake.root, "--labels", str(good)]) == 0
    first = lake.read(spark, "ops/audit_labels").orderBy("tool", "event_id").toPandas()
    assert len(first) == 300 and first["label"].sum() == lab["label"].sum()
    # loading twice changes nothing
    assert main(["audit", "load", "--lake", lake.root, "--labels", str(good)]) == 0
    assert "0 new, 0 relabelled, 300 unchanged" in capsys.readouterr().out
    again = lake.read(spark, "ops/audit_labels").orderBy("tool", "event_id").toPandas()
    pd.testing.assert_frame_equal(first, again)
    # a re-label replaces the old label
    one = lab.drop(columns=["is_theater"]).head(1).copy()
    one["label"] = 1 - one["label"]
    relabel = tmp_path / "relabel.csv"
    one.to_csv(relabel, index=False)
    assert main(["audit", "load", "--lake", lake.root, "--labels", str(relabel)]) == 0
    t = lake.read(spark, "ops/audit_labels")
    assert t.count() == 300
    got = t.where(
        (F.col("tool") == one["tool"].iloc[0]) & (F.col("event_id") == one["event_id"].iloc[0])
    ).collect()
    assert [r.label for r in got] == [int(one["label"].iloc[0])]
    # and back to the truth
    assert main(["audit", "load", "--lake", lake.root, "--labels", str(good)]) == 0

    # plan: a narrower target needs more labels
    capsys.readouterr()
    assert (
        main(["audit", "plan", "--lake", lake.root, "--quarter", "2026Q3", "--target-width", "12"])
        == 0
    )
    assert "audited rates from 300 labels" in capsys.readouterr().out

    # the score stage now publishes the debiased index
    res = run_pipeline(cfg, Q3, stages=("score",), lake_root=lake.root)
    rows = res["orgs"]
    pub = [r for r in rows if not r["suppressed"]]
    assert pub and {r["interval_kind"] for r in pub} == {"sampling+detector"}
    assert sum(r["audit_n"] for r in rows) == 300
    orgs = pd.read_csv(out / "truth" / "orgs.csv").set_index("org_id")["theater_share"]
    for r in pub:
        assert r["ci_low"] <= r["theater_index"] <= r["ci_high"]
        assert r["detector_index"] is not None
    err_debiased = sum(abs(r["theater_index"] / 100 - orgs[r["org_id"]]) for r in pub)
    err_detector = sum(abs(r["detector_index"] / 100 - orgs[r["org_id"]]) for r in pub)
    assert err_debiased < err_detector
    # calibrated probabilities in gold/interaction_labels: one value per detector output
    from theater.audit.calibrate import stratum_column

    per = (
        lake.read(spark, "gold/interaction_labels")
        .where(Q3.date_col("event_date"))  # the lake also holds 2026Q2, scored without labels
        .withColumn("h", stratum_column())
        .groupBy("h")
        .agg(F.countDistinct("theater_probability").alias("k"))
        .collect()
    )
    assert all(r.k == 1 for r in per)
    # MLflow: audited precision per signal and the reliability slope
    m = MlflowClient(tracking_uri=res["tracking_uri"]).get_run(res["run_id"]).data.metrics
    assert m["score.audit.labels"] == 300
    assert any(k.startswith("score.audit.signal_precision.") for k in m)
    assert 0 < m["score.audit.precision"] <= 1 and 0 < m["score.audit.recall"] <= 1
    assert "score.audit.reliability_slope" in m
    from theater.audit.explain import interval_sentence, lake_rates

    note = interval_sentence(rows, lake_rates(lake.root))
    assert "detector's own mistakes" in note and "audited precision" in note
    # rescore reproduces the debiased index from the logged audit-labels version
    from theater.reproduce import rescore

    same, diffs = rescore(cfg, res["run_id"])
    assert same, diffs
    # the report says it in one sentence
    from theater import report

    html = report.write(lake.root, Q3, tmp_path / "r.html", cfg=cfg).path.read_text()
    assert "300 sampled interactions" in html and "audited precision" in html
