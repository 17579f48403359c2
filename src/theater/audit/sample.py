"""Stratified audit sample of scored interactions, for human review.

Design (docs/methodology.md, "Audit"): strata are org x detector output, where the detector
output is the set of signals that fired (``flags`` in gold/interaction_labels):

- ``none``: no signal fired (theater here is the detector's misses);
- ``<signal>``: exactly one signal fired (its precision is what the audit measures);
- ``multi``: two or more fired.

That is the ``signal`` design; the ``grouped`` one (:mod:`theater.audit.design`) merges every
stratum but ``none`` into ``flagged``, and is drawn by default when the budget is small.

The stratum depends only on which signals fired, never on ``theater_probability``, so it is the
same before and after the probability is calibrated from an audit.

Allocation (:func:`allocate`): at least ``min_per_cell`` labels in every non-empty cell (all
of it when smaller), so that every detector output of every org is seen; the rest equally
over orgs (every org gets its own interval) and within an org in proportion to the cells'
sizes. On request (``neyman``) the rest is Neyman-type instead, on a guessed label sd per cell
from the detector's mean probability there (kept in [0.3, 0.5], :func:`cell_sd`): within an
org in proportion to N_h S_h, across orgs in proportion to S_o^(2/3), the split that
minimises the orgs' mean interval width. It is not the default: the cells' label sds differ
too little (0.27-0.45 on simulated worlds) for Neyman to gain, even with the true rates
(under 4% of width), and a guess from an uncalibrated probability lost 2-5%
(benchmarks/RESULTS.md). Within a cell the draw is simple random sampling without
replacement; each row records ``inclusion_probability`` = n / N of its cell, which is all
the estimator needs (it weights each cell by N_h / N_o).

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
#: the one flagged stratum of :func:`grouped`
FLAGGED = "flagged"
#: a cell's guessed label rate is kept in [SD_CLIP, 1 - SD_CLIP] (:func:`cell_sd`)
SD_CLIP = 0.1
#: labels first given to every org x stratum cell. Two, not one: with one, a flagged cell of
#: an org near zero whose single label is theater puts the cell's whole weight in the org's
#: share, and on simulated worlds such orgs' lower ends then rose above their true share
#: (coverage 0.84 in a case of the CI test, misses of 2 points), though the mean width fell
#: by a tenth (benchmarks/RESULTS.md)
MIN_PER_CELL = 2
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
    "design",
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


def grouped(stratum: pd.Series) -> pd.Series:
    """Two design strata instead of one per detector output: ``none`` and ``flagged`` (any
    signal fired): the ``grouped`` design of :mod:`theater.audit.design`, which says when it
    pays and how the score stage reads it."""
    return pd.Series(np.where(stratum.to_numpy() == NONE, NONE, FLAGGED), index=stratum.index)


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


def cell_sd(F) -> np.ndarray:
    """Guessed standard deviation of a label in a cell from the detector's mean probability
    there: sqrt(r (1 - r)), r = F clipped to [``SD_CLIP``, 1 - ``SD_CLIP``]; 1/2 (the largest)
    where F is unknown. The clip bounds the guess to [0.3, 0.5]: a design built on a
    detector that is wrong weights no cell more than 5/3 times what the proportional design
    does relative to another, so it is never far from that design, and it is only a design:
    the estimator weights each label by its inclusion probability whatever the guess."""
    r = np.clip(np.nan_to_num(np.asarray(F, float), nan=0.5), SD_CLIP, 1 - SD_CLIP)
    return np.sqrt(r * (1 - r))


def _org_budgets(cells: pd.DataFrame, size: int, neyman: bool) -> pd.Series:
    """Labels per org: equal, or (``neyman``) proportional to S_o^(2/3), S_o = sum_h W_oh S_h
    the org's per-label sd under a Neyman design within it; that split minimises the sum over
    orgs of S_o / sqrt(n_o), the mean width of the orgs' intervals. Remainders by largest
    remainder (ties: the larger org first, then org id)."""
    orgs = cells.groupby("org_id", sort=True)["N"].sum()
    if not neyman:
        weight = pd.Series(1.0, index=orgs.index)
    else:
        s = cells.assign(ws=cells["N"] * cell_sd(cells["F"])).groupby("org_id", sort=True)["ws"]
        weight = (s.sum() / orgs) ** (2 / 3)
    order = orgs.sort_values(ascending=False, kind="stable").index
    n = _largest_remainder(weight[order].to_numpy(float), size)
    return pd.Series(n, index=order).reindex(orgs.index)


def allocate(
    cells: pd.DataFrame, size: int, min_per_cell: int = MIN_PER_CELL, neyman: bool | None = None
) -> pd.DataFrame:
    """Sample size per (org_id, stratum) cell.

    ``cells`` has ``org_id, stratum, N`` (interactions in the cell) and optionally ``F`` (the
    detector's mean probability in the cell). Returns it with ``n``. With ``F`` (and
    ``neyman`` not False) the design is Neyman-type on a guessed sd per cell
    (:func:`cell_sd`): ``size`` split over orgs in proportion to S_o^(2/3)
    (:func:`_org_budgets`), then within an org ``min(min_per_cell, N)`` per cell first and the
    rest in proportion to N_h S_h. Without ``F``: an equal split over orgs (remainder to the
    largest) and proportional to N within an org. n <= N always; labels an org cannot use
    go to the others; when the sample is at least the population every interaction is taken.
    """
    cells = cells.sort_values(["org_id", "stratum"]).reset_index(drop=True).copy()
    cells["n"] = 0
    if cells.empty or size <= 0:
        return cells
    neyman = "F" in cells if neyman is None else neyman
    if neyman and "F" not in cells:
        raise ValueError(
            "Neyman allocation needs each cell's mean detector probability (column F); "
            f"the cells have {', '.join(cells.columns)}"
        )
    per_org = _org_budgets(cells, size, neyman)
    sd = cell_sd(cells["F"]) if neyman else np.ones(len(cells))
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
            room = np.maximum(N - floor, 0).astype(float)
            n = floor + _largest_remainder(room * sd[idx], budget - int(floor.sum()))
            n = np.minimum(n, N)
        spare += budget - int(n.sum())
        cells.loc[idx, "n"] = n
    if spare > 0:  # small orgs left labels over: give them to the others
        room = (cells["N"] - cells["n"]).to_numpy().astype(float)
        add = _largest_remainder(room, min(spare, int(room.sum())))
        cells["n"] = np.minimum(cells["n"] + add, cells["N"])
    return cells


def draw(
    population: pd.DataFrame,
    size: int,
    seed: int,
    min_per_cell: int = MIN_PER_CELL,
    neyman: bool = False,
    design: str = "signal",
) -> pd.DataFrame:
    """Stratified sample of ``population`` (one row per interaction with ``event_id, tool,
    org_id`` and ``flags`` or ``stratum``; with ``theater_probability`` and ``neyman`` the
    allocation is Neyman-type, :func:`allocate`). ``design``: ``signal`` (strata by detector
    output) or ``grouped`` (``none`` / ``flagged``, :func:`grouped`). Returns the sampled rows
    with ``stratum`` (the design stratum), ``design`` and ``inclusion_probability``; the same
    population, size, seed and design give the same sample."""
    if design not in ("signal", "grouped"):
        raise ValueError(f"audit design must be signal or grouped; got {design!r}")
    pop = population.copy()
    if "stratum" not in pop:
        pop["stratum"] = strata(pop["flags"])
    if design == "grouped":
        pop["stratum"] = grouped(pop["stratum"])
    pop = (
        pop[pop["org_id"].notna()]
        .sort_values(["org_id", "stratum", "tool", "event_id"], kind="stable")
        .reset_index(drop=True)
    )
    g = pop.groupby(["org_id", "stratum"], sort=True)
    cells = g.size().rename("N").reset_index()
    if neyman and "theater_probability" in pop:
        cells["F"] = g["theater_probability"].mean().to_numpy()
    alloc = allocate(cells, size, min_per_cell, neyman=neyman and "F" in cells)
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
        return pop.head(0).assign(inclusion_probability=pd.Series(dtype=float), design=design)
    return pd.concat(picked, ignore_index=True).assign(design=design)


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
