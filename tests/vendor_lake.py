"""A small lake made from vendor fixtures: a directory putting everyone in one org, then ingest
and refine with a quarantine share the fixtures' bad records stay under."""

from __future__ import annotations

from pathlib import Path


def one_org_directory(landing: Path, people) -> None:
    """``landing/directory/directory.csv``: each of ``people`` in org ``org-a`` since 2020."""
    (landing / "directory").mkdir()
    (landing / "directory" / "directory.csv").write_text(
        "user_id,org_id,org_name,valid_from,valid_to\n"
        + "".join(f"{p},org-a,Org A,2020-01-01,\n" for p in people)
    )


def ingest_and_refine(spark, root: Path, landing: Path, period, *, warn: float, fail: float):
    """(lake, {stage: metrics}) of ingest then refine of ``landing`` into ``root/lake``; a file
    with a share of bad records over ``warn`` warns, over ``fail`` fails its gate."""
    from theater.config import load_config
    from theater.lake import Lake
    from theater.pipeline import run_stage

    cfg = load_config(
        env="local",
        environ={},
        overrides={
            "spark.shuffle_partitions": 2,
            "quality.quarantine_warn_share": warn,
            "quality.quarantine_fail_share": fail,
        },
    )
    metrics = {}
    for stage in ("ingest", "refine"):
        metrics[stage], _ = run_stage(
            spark, stage, cfg, str(root / "lake"), str(landing), period, "test-run"
        )
    return Lake(str(root / "lake"), cfg.table_format), metrics
