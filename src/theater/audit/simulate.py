"""Simulated audits on generated worlds (coverage tests and the audit benchmarks).

A world is the pipeline's per-interaction output (``event_id, tool, org_id, user_key,
theater_probability, flags``) joined with the generator's truth (``is_theater``), plus the
planted org shares (truth/orgs.csv). :func:`audit_world` draws the stratified sample that
``theater audit sample`` draws, labels it from the truth (a perfect reviewer), runs the score
stage's estimator and says which orgs' intervals cover the planted share.
"""

from __future__ import annotations

import pandas as pd

from . import calibrate, estimate, sample


def world_cells(df: pd.DataFrame) -> pd.DataFrame:
    """Interactions and summed probability per (org, user, stratum)."""
    return df.groupby(["org_id", "user_key", "stratum"], as_index=False).agg(
        n=("event_id", "size"), sum_p=("theater_probability", "sum")
    )


def audit_once(
    df: pd.DataFrame,
    orgs: pd.DataFrame,
    size: int,
    seed: int,
    settings: estimate.Settings,
    cells: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One audit of ``size`` labels drawn as ``theater audit sample`` draws them
    (:func:`theater.audit.sample.draw`), labelled from ``is_theater``, and the estimator's
    intervals: (per-org estimates with ``theater_share`` and ``covered``, the labels).
    ``cells``: :func:`world_cells` of ``df`` when already computed (several audits of a world)."""
    if "stratum" not in df:
        df = df.assign(stratum=sample.strata(df["flags"]))
    drawn = sample.draw(df, size, seed)
    labels = drawn.assign(label=drawn["is_theater"].astype(int))
    est = estimate.estimate(world_cells(df) if cells is None else cells, labels, settings)
    est = est.merge(orgs[["org_id", "theater_share"]], on="org_id")
    # a bound made of labelled interactions only can equal the truth: no float noise
    est["covered"] = (est["ci_low"] <= est["theater_share"] + 1e-9) & (
        est["theater_share"] <= est["ci_high"] + 1e-9
    )
    return est, labels


def audit_world(
    df: pd.DataFrame,
    orgs: pd.DataFrame,
    labels_per_org: int,
    seed: int,
    settings: estimate.Settings,
    min_users: int = 10,
):
    """(per-org estimates with ``theater_share`` and ``covered``, held-out reliability, labels).

    Orgs below ``min_users`` users (truth/orgs.csv ``n_users``) are left out, as the published
    index suppresses them.
    """
    if "stratum" not in df:
        df = df.assign(stratum=sample.strata(df["flags"]))
    keep = orgs[orgs["n_users"] >= min_users]["org_id"]
    df = df[df["org_id"].isin(keep)]
    est, labels = audit_once(df, orgs, labels_per_org * df["org_id"].nunique(), seed, settings)
    return est, calibrate.held_out(labels, seed=seed), len(labels)


def scored_world(spark, lake, truth_dir) -> pd.DataFrame:
    """gold/interaction_labels (rows with an org) joined with truth/interactions.csv."""
    from pathlib import Path

    from pyspark.sql import functions as F

    labels = (
        lake.read(spark, "gold/interaction_labels")
        .where(F.col("org_id").isNotNull())
        .select(
            "event_id",
            "tool",
            "org_id",
            "user_key",
            "theater_probability",
            F.array_join("flags", ",").alias("flags"),
        )
        .toPandas()
    )
    truth = pd.read_csv(
        Path(truth_dir) / "interactions.csv",
        usecols=["event_id", "tool", "is_theater"],
        dtype={"event_id": str},
    )
    df = labels.merge(truth, on=["tool", "event_id"], how="inner")
    df["is_theater"] = df["is_theater"].astype("int8")
    return df
