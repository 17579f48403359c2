"""The score stage's use of audit labels (Spark side; the statistics are in estimate/calibrate).

- :func:`read_labels`: the period's audit labels (pandas) or None;
- :func:`calibrate_labels`: calibrated ``theater_probability`` in gold/interaction_labels;
- :func:`apply`: the debiased org index (``interval_kind``, ``audit_n``, ``detector_index``);
- :func:`metrics`: audited precision/recall, per-signal precision, reliability slope (MLflow);
- :func:`summary`: audited precision and recall over every audit in the lake (CLI, report).
"""

from __future__ import annotations

import logging

import pandas as pd

from . import calibrate as _cal
from .design import align
from .estimate import SAMPLING, Settings, audited_rates, estimate, signal_precision
from .labels import TABLE

log = logging.getLogger(__name__)

NEW_COLUMNS = ("detector_index", "interval_kind", "audit_n")


def cells_frame(labels):
    """Interactions and summed probability per (org, user, detector-output stratum)."""
    from pyspark.sql import functions as F

    return (
        labels.where(F.col("org_id").isNotNull())
        .withColumn("stratum", _cal.stratum_column())
        .groupBy("org_id", "user_key", "stratum")
        .agg(F.count("*").alias("n"), F.sum("theater_probability").alias("sum_p"))
    )


def read_labels(spark, lake, period, interactions=None, version: int | None = None):
    """The period's audit labels as pandas (``event_id, tool, org_id, stratum, label,
    inclusion_probability`` and ``signals``, the signals that fired, from ``interactions`` or
    else the lake's current gold/interaction_labels), or None when the lake holds none for the
    period."""
    frame = period_labels(lake, spark, period, version)
    if frame is None:
        return None
    if interactions is None and lake.exists("gold/interaction_labels"):
        interactions = lake.read(spark, "gold/interaction_labels").where(
            period.date_col("event_date")
        )
    return labels_pandas(frame, interactions)


def period_labels(lake, spark, period, version: int | None = None):
    """ops/audit_labels rows of the period (Spark, at ``version``), or None without the table."""
    if not lake.exists(TABLE):
        return None
    return lake.read(spark, TABLE, version=version).where(period.date_col("event_date"))


def labels_pandas(frame, interactions=None):
    """Audit label rows as pandas with the ``signals`` that fired (from ``interactions``), in a
    fixed order; None when there are none."""
    from pyspark.sql import functions as F

    df = frame
    if interactions is not None:
        df = df.join(
            interactions.select("tool", "event_id", F.array_join("flags", ",").alias("signals")),
            on=["tool", "event_id"],
            how="left",
        )
    # a fixed order: the bootstrap weights and held-out folds are drawn by position
    out = df.toPandas().sort_values(["tool", "event_id"], kind="stable").reset_index(drop=True)
    return out if len(out) else None


def calibrate_labels(labels, audit: pd.DataFrame | None, cfg):
    """gold/interaction_labels with ``theater_probability`` calibrated from the audit (no
    change without one)."""
    if audit is None or audit.empty:
        return labels
    return _cal.apply(labels, _cal.fit(audit), cfg.scoring.threshold)


def apply(spark, index, labels, audit: pd.DataFrame | None, cfg):
    """The org index with ``detector_index`` (the detector-only figure), ``interval_kind`` and
    ``audit_n``. With audit labels for the period, ``theater_index``/``ci_low``/``ci_high`` of
    published orgs with labels of their own become the debiased estimate and its interval,
    which carries the detector's error in that org (``sampling+detector``)."""
    from pyspark.sql import types as T

    rows = [r.asDict() for r in index.collect()]
    est = {}
    if audit is not None and not audit.empty:
        # each org's cells in the strata of the design its labels were drawn under
        cells, aud = align(cells_frame(labels).toPandas(), _with_probability(audit, labels))
        res = estimate(cells, aud, Settings.from_config(cfg))
        est = {r.org_id: r for r in res.itertuples(index=False)}
    for r in rows:
        r["detector_index"] = r["theater_index"]
        e = est.get(r["org_id"])
        # an org none of whose interactions was labelled keeps the detector-only interval,
        # which says that it excludes detector error: nothing of its own would carry it
        if e is None or r["suppressed"] or int(e.audit_n) == 0:
            r["interval_kind"], r["audit_n"] = SAMPLING, int(e.audit_n) if e is not None else 0
            continue
        r["theater_index"] = round(100 * float(e.share), 2)
        r["ci_low"] = round(100 * float(e.ci_low), 2)
        r["ci_high"] = round(100 * float(e.ci_high), 2)
        r["interval_kind"], r["audit_n"] = e.interval_kind, int(e.audit_n)
    schema = T.StructType(
        list(index.schema.fields)
        + [
            T.StructField("detector_index", T.DoubleType()),
            T.StructField("interval_kind", T.StringType()),
            T.StructField("audit_n", T.LongType()),
        ]
    )
    return spark.createDataFrame([tuple(r[f.name] for f in schema.fields) for r in rows], schema)


def _with_probability(audit: pd.DataFrame, labels) -> pd.DataFrame:
    """The audit labels with each labelled interaction's (calibrated) ``theater_probability``
    from ``labels``, the f of the estimator's PPI++ rectifier. Under the signal design it is
    one value per cell and changes nothing; in the grouped design's ``flagged`` cell it differs
    by the signals that fired, and the rectifier uses it."""
    if "theater_probability" in audit:
        return audit
    from pyspark.sql import functions as F

    keys = labels.sparkSession.createDataFrame(audit[["tool", "event_id"]].drop_duplicates())
    p = (
        labels.join(F.broadcast(keys), on=["tool", "event_id"], how="left_semi")
        .select("tool", "event_id", "theater_probability")
        .toPandas()
        .drop_duplicates(["tool", "event_id"])
    )
    return audit.merge(p, on=["tool", "event_id"], how="left")


def metrics(audit: pd.DataFrame | None, names) -> dict:
    """Audit figures for MLflow (score.audit.*): labels, audited precision and recall of
    "any signal fired", per-signal precision, held-out reliability slope of the calibration."""
    if audit is None or audit.empty:
        return {"labels": 0}
    a = audit.assign(flagged=audit["stratum"] != "none")
    out = {"labels": len(a)}
    pr = audited_rates(a)
    out.update(
        {
            k: v
            for k, v in (("precision", pr["precision"]), ("recall", pr["recall"]))
            if v is not None
        }
    )
    if "signals" in a:
        out["signal_precision"] = signal_precision(a.assign(signals=a["signals"].fillna("")), names)
    rel = _cal.held_out(a)
    if rel["slope"] is not None:
        out["reliability_slope"] = rel["slope"]
        out["reliability_intercept"] = rel["intercept"]
    return out


def summary(spark, lake) -> dict | None:
    """Audited precision and recall over every audit in the lake, or None without one."""
    if not lake.exists(TABLE):
        return None
    a = lake.read(spark, TABLE).select("stratum", "label", "inclusion_probability").toPandas()
    if a.empty:
        return None
    return audited_rates(a.assign(flagged=a["stratum"] != "none"))
