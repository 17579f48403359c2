"""The pipeline: stages in order on one engine session, tracked as one MLflow run.

``theater run``, ``theater demo``, the jobs under ``jobs/`` and the Airflow DAGs all come here.
"""

from __future__ import annotations

import logging
import time
import uuid
from pathlib import Path

from .config import Config, ConfigError
from .period import Period

log = logging.getLogger(__name__)

STAGES = ("ingest", "refine", "score")


def run_pipeline(
    cfg: Config,
    period: Period | None,
    stages=STAGES,
    *,
    landing: str | None = None,
    lake_root: str | None = None,
    progress=log.info,
    command: str = "run",
    wait: float | None = None,
) -> dict:
    """Run the stages in order on one session, as one MLflow run, holding the lake's writer
    lock (``theater.lock``; ``wait``: seconds to wait for it); return each stage's metrics."""
    from .engine import session
    from .lake import Lake
    from .lock import check_lake_root, lake_lock
    from .stages import ingest, refine, score
    from .tracking import PipelineRun

    lake = Lake(lake_root or cfg.paths.lake, cfg.table_format)
    landing = landing or cfg.paths.landing
    if "refine" in stages:
        # refuse early, before any work, when the key is missing (refine warns about a demo key)
        refine.pseudonym_key(cfg, announce=False)
    if "ingest" in stages and not Path(landing).is_dir():
        raise ConfigError(f"landing zone {landing!r} is not a folder (use --landing)")
    if "://" not in lake.root:
        check_lake_root(lake.root)  # a file or an unwritable folder: exit 2 before any work
    if period is None and set(stages) - {"ingest"}:
        raise ConfigError("refine and score need a period (--quarter, or --start and --end)")
    results: dict = {"period": str(period) if period else None, "lake": lake.root}
    t_all = time.time()
    progress(
        f"engine {cfg.engine} ({cfg.table_format}); "
        f"{f'period {period}' if period else 'new landing files'}; lake {lake.root}"
    )
    with (
        PipelineRun(cfg, period, lake.root, command) as tracked,
        lake_lock(lake.root, tracked.run_id or uuid.uuid4().hex, cfg, wait) as held,
        session(cfg) as spark,
    ):
        run_id = tracked.run_id or (held.run_id if held else uuid.uuid4().hex)
        results["run_id"] = run_id
        results["mlflow"] = tracked.enabled
        if tracked.enabled:
            from .tracking import tracking_uri

            results["tracking_uri"] = tracking_uri(cfg)
        for stage in STAGES:
            if stage not in stages:
                continue
            t0 = time.time()
            progress(f"stage {stage}: start")
            with tracked.stage(stage):
                if stage == "ingest":
                    m = ingest.run(spark, lake, landing, cfg=cfg, run_id=run_id, progress=progress)
                    rows = sum(m["rows_loaded"].values()) + sum(m["rows_quarantined"].values())
                elif stage == "refine":
                    m = refine.run(spark, cfg, lake, period, run_id=run_id, progress=progress)
                    rows = m["silver_interactions"]
                else:
                    m = score.run(spark, cfg, lake, period, run_id=run_id, progress=progress)
                    rows = m["labelled_interactions"]
                results[stage] = m
            tracked.record_stage(stage, m, time.time() - t0, rows)
            progress(f"stage {stage}: done in {time.time() - t0:.1f}s")
        if "score" in stages:
            results["orgs"] = org_rows(spark, lake, period)
            tracked.record_index(results["orgs"])
    results["seconds"] = round(time.time() - t_all, 1)
    return results


def org_rows(spark, lake, period: Period) -> list[dict]:
    """The period's gold org index as dicts, published orgs by index first, then suppressed."""
    gold = lake.read(spark, "gold/org_theater_index").where(period.matches_col())
    rows = [r.asDict() for r in gold.collect()]
    return sorted(rows, key=lambda r: (r["suppressed"], -(r["theater_index"] or 0), r["org_id"]))
