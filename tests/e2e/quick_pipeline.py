"""One generated world scored by every stage, quickly: the set-up of the e2e tests that read
only the scored lake (no tracking, no quality gates, no rank bands, 20 bootstrap replicates)."""

from __future__ import annotations

from pathlib import Path

from theater.config import load_config
from theater.period import Period
from theater.pipeline import run_pipeline


def score_world(d: Path, period: Period) -> None:
    """Run every stage on ``d/landing`` into ``d/lake`` (state in ``d/state``)."""
    cfg = load_config(
        env="local",
        environ={},
        overrides={
            "paths.state": str(d / "state"),
            "spark.shuffle_partitions": 2,
            "tracking.enabled": False,
            "quality.enabled": False,
            "scoring.bootstrap.replicates": 20,
            "incentives.sensitivity.enabled": False,  # rank bands: not looked at here
        },
    )
    run_pipeline(
        cfg, period, landing=str(d / "landing"), lake_root=str(d / "lake"), progress=lambda m: None
    )
