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
    neyman: bool = False,
    min_per_cell: int = sample.MIN_PER_CELL,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One audit of ``size`` labels drawn as ``theater audit sample`` draws them
    (:func:`theater.audit.sample.draw`), labelled from ``is_theater``, and the estimator's
    intervals: (per-org estimates with ``theater_share`` and ``covered``, the labels).
    ``cells``: :func:`world_cells` of ``df`` when already computed (several audits of a world);
    ``neyman``, ``min_per_cell``: the sample's allocation (:func:`theater.audit.sample.allocate`;
    False: equal per org, proportional within)."""
    if "stratum" not in df:
        df = df.assign(stratum=sample.strata(df["flags"]))
    drawn = sample.draw(df, size, seed, min_per_cell, neyman)
    labels = drawn.assign(label=drawn["is_theater"].astype(int))
    est = estimate.estimate(world_cells(df) if cells is None else cells, labels, settings)
    est = est.merge(orgs[["org_id", "theater_share"]], on="org_id")
    # a bound made of labelled interactions only can equal the truth: no float noise
    est["covered"] = (est["ci_low"] <= est["theater_share"] + 1e-9) & (
        est["theater_share"] <= est["ci_high"] + 1e-9
    )
    return est, labels


def width_floors(df: pd.DataFrame, labels: pd.DataFrame, confidence: float = 0.90):
    """Per org, the normal-approximation 90% width (0-1) that the org's own labels could give
    at best, from the truth: ``srs`` with as many labels drawn at random from the org
    (2 z sqrt(p (1 - p) / n (1 - n / N)), p the org's true share) and ``strat`` under the
    sample's cells and allocation with the cells' true rates (2 z sqrt(sum_h W_h^2 p_h
    (1 - p_h) / n_h (1 - n_h / N_h))). Neither uses the detector's probability within a cell or
    other orgs' labels (pooling); both ignore the interval's own coverage correction."""
    from statistics import NormalDist

    import numpy as np

    z = NormalDist().inv_cdf(1 - (1 - confidence) / 2)
    c = df.groupby(["org_id", "stratum"]).agg(N=("is_theater", "size"), p=("is_theater", "mean"))
    c["n"] = labels.groupby(["org_id", "stratum"]).size().reindex(c.index).fillna(0)
    c = c.reset_index()
    c["W"] = c["N"] / c.groupby("org_id")["N"].transform("sum")
    with np.errstate(divide="ignore", invalid="ignore"):
        v = c["W"] ** 2 * c["p"] * (1 - c["p"]) / c["n"] * (1 - c["n"] / c["N"])
    c["v"] = np.where(c["n"] > 0, v, c["W"] ** 2 * 0.25)
    o = c.groupby("org_id").agg(N=("N", "sum"), n=("n", "sum"), v=("v", "sum"))
    p = df.groupby("org_id")["is_theater"].mean()
    srs = 2 * z * np.sqrt(p * (1 - p) / o["n"] * (1 - o["n"] / o["N"]))
    return pd.DataFrame({"srs": srs, "strat": 2 * z * np.sqrt(o["v"])}).reset_index()


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
