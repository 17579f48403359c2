"""Stratified audit sample of scored interactions, for human review.

Design (docs/methodology.md, "Audit"): strata are org x detector output, where the detector
output is the set of signals that fired (``flags`` in gold/interaction_labels):

- ``none``: no signal fired (theater here is the detector's misses);
- ``<signal>``: exactly one signal fired (its precision is what the audit measures);
- ``multi``: two or more fired.

The stratum depends only on which signals fired, never on ``theater_probability``, so it is the
same before and after the probability is calibrated from an audit.

Allocation: the sample size is split equally across orgs (every org gets its own interval), and
within an org proportionally to the stratum sizes, with at least ``min_per_cell`` labels in
every non-empty cell (all of it when smaller), so that every detector output of every org is
seen. Within a cell the draw is simple random sampling without replacement; each row records
``inclusion_probability`` = n / N of its cell.

The reviewers' CSV is opened in spreadsheets: a text cell that starts with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return would run as a formula there (an event id or artifact id comes
from a vendor's export, an org folder name from whoever wrote the landing zone). Such cells are
written with a leading ``'`` (:func:`neutralise`); ``theater audit load`` strips it again
(:func:`unneutralise`), so the keys still match the lake.

Orgs the index suppresses for the period (too few users, one dominant user) are not sampled:
suppressed means no figures anywhere, and an interaction row of a small org is one.

Pure functions on pandas frames, plus :func:`read_population`, the thin reader.
"""

from __future__ import annotations

import logging
from typing import Iterable

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

NONE, MULTI = "none", "multi"
SAMPLE_COLUMNS = [
    "event_id",
    "tool",
    "org_id",
    "user_key",
    "event_ts",
    "action",
    "output_disposition",
    "artifact_id",
    "signals_fired",
    "theater_probability",
    "stratum",
    "inclusion_probability",
    "label",
]


#: first characters that make a spreadsheet read a cell as a formula
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    """A text cell safe to open in a spreadsheet: prefixed with ``'`` when it starts like a
    formula (or with ``'`` itself, so that :func:`unneutralise` is exact); other values as
    they are."""
    if isinstance(value, str) and value.startswith((*FORMULA_START, "'")):
        return "'" + value
    return value


def unneutralise(value: str) -> str:
    """The value :func:`neutralise` was given (a cell without its prefix is returned as is)."""
    if value.startswith("'") and value[1:].startswith((*FORMULA_START, "'")):
        return value[1:]
    return value


def stratum_of(flags: Iterable[str] | None) -> str:
    """Detector-output stratum of one interaction from the names of the signals that fired."""
    fired = [f for f in (flags if flags is not None else []) if f]
    if not fired:
        return NONE
    return fired[0] if len(fired) == 1 else MULTI


def strata(flags: pd.Series) -> pd.Series:
    """:func:`stratum_of` over a column of flag lists (arrays, lists or comma-joined strings)."""

    def one(v):
        if isinstance(v, str):
            v = [x for x in v.split(",") if x]
        elif v is None or (isinstance(v, float) and np.isnan(v)):
            v = []
        return stratum_of(list(v))

    return flags.map(one)


def _largest_remainder(weights: np.ndarray, total: int) -> np.ndarray:
    """Integer allocation of ``total`` proportional to ``weights`` (Hamilton's method)."""
    if total <= 0 or weights.sum() <= 0:
        return np.zeros(len(weights), dtype=int)
    raw = weights / weights.sum() * total
    out = np.floor(raw).astype(int)
    rest = total - out.sum()
    order = np.argsort(-(raw - out), kind="stable")
    out[order[:rest]] += 1
    return out


def allocate(cells: pd.DataFrame, size: int, min_per_cell: int = 2) -> pd.DataFrame:
    """Sample size per (org_id, stratum) cell.

    ``cells`` has ``org_id, stratum, N`` (interactions in the cell). Returns it with ``n``:
    ``size`` split equally over orgs (remainder to the largest orgs), then within an org
    ``min(min_per_cell, N)`` per cell first and the rest proportionally to N; n <= N always.
    When the sample is at least the population every interaction is taken.
    """
    cells = cells.sort_values(["org_id", "stratum"]).reset_index(drop=True).copy()
    cells["n"] = 0
    if cells.empty or size <= 0:
        return cells
    orgs = cells.groupby("org_id", sort=True)["N"].sum()
    # Equal split, remainder to the largest orgs (ties by org id).
    per_org = pd.Series(size // len(orgs), index=orgs.index)
    extra = size - per_org.sum()
    for org in orgs.sort_values(ascending=False, kind="stable").index[:extra]:
        per_org[org] += 1
    spare = 0
    for org, idx in cells.groupby("org_id", sort=True).groups.items():
        N = cells.loc[idx, "N"].to_numpy()
        budget = int(per_org[org])
        floor = np.minimum(N, min_per_cell)
        if floor.sum() > budget:  # too small a budget: spread it over the largest cells
            n = np.zeros_like(N)
            order = np.argsort(-N, kind="stable")
            n[order[:budget]] = 1
        else:
            n = floor + _largest_remainder(
                np.maximum(N - floor, 0).astype(float), budget - int(floor.sum())
            )
            n = np.minimum(n, N)
        spare += budget - int(n.sum())
        cells.loc[idx, "n"] = n
    if spare > 0:  # small orgs left labels over: give them to the others
        room = (cells["N"] - cells["n"]).to_numpy().astype(float)
        add = _largest_remainder(room, min(spare, int(room.sum())))
        cells["n"] = np.minimum(cells["n"] + add, cells["N"])
    return cells


def draw(population: pd.DataFrame, size: int, seed: int, min_per_cell: int = 2) -> pd.DataFrame:
    """Stratified sample of ``population`` (one row per interaction with ``event_id, tool,
    org_id`` and ``flags`` or ``stratum``). Returns the sampled rows with ``stratum`` and
    ``inclusion_probability``; the same population, size and seed give the same sample."""
    pop = population.copy()
    if "stratum" not in pop:
        pop["stratum"] = strata(pop["flags"])
    pop = (
        pop[pop["org_id"].notna()]
        .sort_values(["org_id", "stratum", "tool", "event_id"], kind="stable")
        .reset_index(drop=True)
    )
    cells = pop.groupby(["org_id", "stratum"], sort=True).size().rename("N").reset_index()
    alloc = allocate(cells, size, min_per_cell)
    rng = np.random.default_rng(seed)
    picked = []
    starts = pop.groupby(["org_id", "stratum"], sort=True).indices
    for row in alloc.itertuples(index=False):
        if row.n <= 0:
            continue
        idx = starts[(row.org_id, row.stratum)]
        take = rng.choice(idx, size=int(row.n), replace=False)
        part = pop.loc[np.sort(take)].copy()
        part["inclusion_probability"] = row.n / row.N
        picked.append(part)
    if not picked:
        return pop.head(0).assign(inclusion_probability=pd.Series(dtype=float))
    return pd.concat(picked, ignore_index=True)


def sample_frame(sampled: pd.DataFrame) -> pd.DataFrame:
    """The reviewer's CSV: fixed columns, signals joined with ';', an empty ``label``."""
    out = sampled.copy()
    if "signals_fired" not in out:
        out["signals_fired"] = out["flags"].map(
            lambda v: ";".join(v.split(",") if isinstance(v, str) else list(v or []))
        )
    out["label"] = ""
    for c in SAMPLE_COLUMNS:
        if c not in out:
            out[c] = None
    out["inclusion_probability"] = out["inclusion_probability"].round(8)
    out = out[SAMPLE_COLUMNS]
    for c in out.columns:
        if out[c].dtype == object:
            out[c] = out[c].map(neutralise)
    return out


def published_orgs(spark, lake, period):
    """Orgs with a published (not suppressed) row for exactly ``period`` in
    gold/org_theater_index (``org_id``), or None when the index has no row for the period."""
    from pyspark.sql import functions as F

    if not lake.exists("gold/org_theater_index"):
        return None
    idx = lake.read(spark, "gold/org_theater_index").where(
        (F.col("period_start") == F.lit(period.start)) & (F.col("period_end") == F.lit(period.end))
    )
    if not idx.limit(1).count():
        return None
    return idx.where(~F.coalesce(F.col("suppressed"), F.lit(False))).select("org_id").distinct()


def read_population(spark, lake, period) -> pd.DataFrame:
    """The period's scored interactions (gold/interaction_labels, with the artifact id from
    silver/interactions) of the orgs the index publishes for the period, as pandas: the frame
    :func:`draw` samples from. Empty when the period has not been scored into the index."""
    from pyspark.sql import functions as F

    labels = (
        lake.read(spark, "gold/interaction_labels")
        .where(period.date_col("event_date") & F.col("org_id").isNotNull())
        .select(
            "event_id",
            "tool",
            "org_id",
            "user_key",
            F.date_format("event_ts", "yyyy-MM-dd'T'HH:mm:ss'Z'").alias("event_ts"),
            "action",
            "output_disposition",
            "theater_probability",
            F.array_join("flags", ",").alias("flags"),
        )
    )
    if lake.exists("silver/interactions"):
        art = (
            lake.read(spark, "silver/interactions")
            .where(period.ts_col("event_ts"))
            .select("event_id", "tool", "artifact_id")
        )
        labels = labels.join(art, on=["tool", "event_id"], how="left")
    orgs = published_orgs(spark, lake, period)
    if orgs is None:
        log.warning(
            "gold/org_theater_index has no row for %s: nothing to sample (run the score "
            "stage for the period)",
            period,
        )
        return labels.limit(0).toPandas()
    return labels.join(F.broadcast(orgs), "org_id", "left_semi").toPandas()
