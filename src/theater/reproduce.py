"""``theater rescore``: recompute a tracked run from the Delta versions and the configuration
it logged, with the same ``compute_gold`` the run used, and compare org by org."""

from __future__ import annotations

import logging
import shutil
import uuid
from datetime import date

from .config import Config, ConfigError
from .period import Period

log = logging.getLogger(__name__)

COMPARE = (
    "theater_index",
    "ci_low",
    "ci_high",
    "n_users",
    "n_interactions",
    "suppressed",
    "suppression_reason",
    "signal_coverage",
    "usage_change",
    "outcome_change",
    "outcome_decoupling",
    "outcome_decoupling_low",
    "outcome_decoupling_high",
    "decoupled",
    "high_confidence_theater",
    "rank_low",
    "rank_high",
    "detector_index",
    "interval_kind",
    "audit_n",
    "not_measurable_reason",
    "incentive_index",
    "incentive_ci_low",
    "incentive_ci_high",
    "incentive_basis",
    "incentive_not_measurable_reason",
    "index_basis",
    "sources",
)


def compare_rows(old: dict[str, dict], new: dict[str, dict]) -> list[str]:
    """Differences between published and recomputed org rows (floats within 1e-9)."""
    diffs = []
    for org in sorted(set(new) | set(old)):
        a, b = old.get(org), new.get(org)
        if a is None or b is None:
            diffs.append(
                f"{org}: {'only in the recomputation' if a is None else 'missing from the recomputation'}"
            )
            continue
        cols = [c for c in COMPARE if c in a] + [
            c for c in a if c.startswith(("signal_", "coverage_")) and c != "signal_coverage"
        ]
        for c in cols:
            x, y = a.get(c), b.get(c)
            same = (x == y) or (isinstance(x, float) and isinstance(y, float) and abs(x - y) < 1e-9)
            if not same:
                diffs.append(f"{org}: {c} published {x} recomputed {y}")
    return diffs


def rescore(cfg: Config, run_id: str, *, engine: str | None = None) -> tuple[bool, list[str]]:
    """Recompute run ``run_id``'s org index from the Delta versions and configuration it
    logged; return (identical, differences org by org)."""
    import yaml
    from pyspark.sql import functions as F

    from .engine import session
    from .lake import Lake
    from .stages import score
    from .tracking import get_run, load_artifact_text

    run = get_run(cfg, run_id)
    params = run.data.params
    if "lineage.score.inputs.silver/interactions" not in params:
        raise ConfigError(f"MLflow run {run_id} has no score lineage (was the score stage run?)")
    data = yaml.safe_load(load_artifact_text(cfg, run_id, "config.yaml"))
    if engine:
        data["engine"] = engine
    data.setdefault("tracking", {})["enabled"] = False
    # runs logged before user buckets existed: the setting does not change any figure
    data.setdefault("scoring", {}).setdefault("bucket_rows", 0)
    logged = Config.from_dict(data, (f"MLflow run {run_id}",))
    period = Period(
        date.fromisoformat(params["period_start"]), date.fromisoformat(params["period_end"])
    )
    lake = Lake(params["lake"], logged.table_format)
    from .keycheck import check_run

    check_run(cfg, lake.root, "theater rescore")  # the lake's key, or exit 2
    prefix = "lineage.score.inputs."
    versions = {k[len(prefix) :]: int(v) for k, v in params.items() if k.startswith(prefix)}
    out_version = int(params["lineage.score.outputs.gold/org_theater_index"])
    log.info("rescoring %s %s from %s", run_id, period, versions)
    with session(logged) as spark:
        inputs = score.read_inputs(spark, lake, period, logged, versions)
        staging = lake.path(f"ops/_staging/rescore-{uuid.uuid4().hex[:12]}")
        try:
            gold = score.compute_gold(
                spark, inputs, period, logged, run_id, progress=log.debug, staging=staging
            )
            new = {r.org_id: r.asDict() for r in gold.index.collect()}
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        published = lake.read(spark, "gold/org_theater_index", version=out_version).where(
            period.matches_col() & (F.col("run_id") == run_id)
        )
        old = {r.org_id: r.asDict() for r in published.collect()}
    diffs = compare_rows(old, new)
    return not diffs and bool(old), diffs
