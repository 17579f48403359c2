"""Adoption basics, one definition each, for events and aggregates alike -> ``gold/org_adoption``.

Both grains are first brought to *activity rows*, one per (org, user, source, day) with the
same meaning (``event_activity``: silver/interactions; ``aggregate_activity``:
silver/user_days), and every figure is computed once from those rows (``org_adoption``):

- a **use**: an interaction (events), or a user-day or person-week row reporting any activity:
  a request, a suggestion shown, an output accepted, rejected or dismissed, a session, or
  tokens consumed (aggregates);
- ``active_users``: distinct people with at least one use in the period;
- ``engaged_users``: people with a use in at least half of the period's ISO weeks (rounded
  up), and in at least two of them when the period has two or more (habitual use; weeks, not
  days, so that person-week exports such as Viva's are measured by the same rule as daily
  ones). A person-week row counts for the ISO week holding six of its seven days;
- ``active_days``: person-days with a use, summed over people. A person-week row does not say
  on which days: a row set holding one has ``active_days`` null (unknown, not 0);
- ``requests``: outputs the person asked for (chat, edit, agent...); pushed inline completions
  are not requests. Events: interactions whose action is not ``complete``; aggregates:
  ``requests``, else, for a requested-output feature, the outputs proposed
  (``aggregates.request_count``, the rule the indices use). Null when nothing reports one;
- ``accepted``: outputs the person used (events: disposition accepted, inserted, copied or
  edited; aggregates: ``accepted``);
- ``offered``: outputs whose fate is known (events: a disposition other than unknown;
  aggregates: ``suggestions_shown`` when reported, else accepted + rejected + dismissed);
- ``acceptance_rate`` = accepted / offered; null when nothing was offered.

People apart from automation: activity no person initiated (an event's ``tool`` or an
aggregate's ``feature`` matching ``AUTOMATION``: bots reviewing pull requests, coding agents,
reviews a policy triggered) is never a use: it is counted apart as ``automation_requests`` and
``automation_users`` (people in whose name only automation acted; a person with their own use
is active, as GitHub counts an active code-review user before a passive one). Shared service
principals (``shared`` in identities, AWS role ARNs) never reach silver as a person (refine
leaves them out and counts them in ``ops/identity_coverage``), so they are in no figure here.

``source_format = 'all'`` counts a person once across tools (distinct ``user_key``; one person
in two tools is one person when identities map both aliases to one directory user). Usage a
tool reports at two grains (events and aggregates of one tool family) is counted once, from the
events (``aggregates.without_event_grain``). Requests one source bills and another already
counts for the same person, day and kind (GitHub's premium requests within its users report:
``aggregates.counted_elsewhere``) are counted once in ``all``, from the counting source; the
billing rows keep their cost there, and their own ``source_format`` row keeps its counts.

Net of theater (from the org's ``theater_index`` and its interval ``[ci_low, ci_high]`` in
``gold/org_theater_index``, and each person's flagged share in ``gold/interaction_labels``):

- ``genuine_users``: active people whose usage is mostly genuine, i.e. less than half of their
  labelled interactions flagged (``MOSTLY``); a person with no labelled interaction (aggregate
  use only) takes the org's index as their share. ``_low``/``_high``: the same count with every
  share moved up by ``ci_high - index`` / down by ``index - ci_low``;
- ``genuine_requests`` = requests x (1 - index / 100), ``_low`` with ``ci_high``, ``_high``
  with ``ci_low`` (rounded to whole requests);
- ``performative_cost_share``: per person, cost x share, over the cost (bounds: the shares
  moved as above, clipped to [0, 1]).

All are null (NA, never 0) where the org's index is null (theater not measurable).

Seats (``seat_figures``, from ``silver/seats``): ``licensed_seats``, ``idle_seats`` and
``theater_only_seats`` per usage source a seat's tool maps to and for ``all``; null where the
org gave no seat (unknown is never 0).

Cost (``seat_costs``, ``_priced``; the configuration's price table, ``Adoption``, over the
period: ``prices_between``): a seat's monthly price per day held, plus per-request and
per-token prices of each use, each price on the days it is in force; a vendor's own cost
(``cost_usd``) wins over the table, converted at ``usd_rate`` when the table is in another
currency, else the cost is NA (``cost_note``); ``cost``, ``cost_per_active_user``,
``cost_per_genuine_request``; null where nothing gives a price.

Over time (``cohorts``, ``days_to_first_use``): new, retained, reactivated and lapsed people
against the previous period and the lake's whole history before it; the median days from a
seat's assignment to its first use.

Suppression follows the index: a row is suppressed when its org is suppressed in
``gold/org_theater_index``, or when the row itself has fewer than k active users, or one person
makes more than the dominance share of its requests; a suppressed row carries no figures.
"""

from __future__ import annotations

import math
import os
import shutil
from dataclasses import dataclass
from datetime import date, timedelta

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from ..buckets import BUCKET, UserParts, bucket_of
from ..columns import USED
from . import aggregates as agg

ALL = "all"
KEYS = ["org_id", "user_key", "source_format", "day"]
COUNT_FIGURES = (
    "active_users",
    "engaged_users",
    "active_days",
    "requests",
    "accepted",
    "offered",
    "automation_users",
    "automation_requests",
)
#: net of theater: each with its interval (``_low``, ``_high``)
NET_FIGURES = tuple(
    f"{n}{suffix}"
    for n in ("genuine_users", "genuine_requests", "performative_cost_share")
    for suffix in ("", "_low", "_high")
)
FIGURES = (
    *COUNT_FIGURES,
    "acceptance_rate",
    "licensed_seats",
    "idle_seats",
    "theater_only_seats",
    "cost",
    "cost_per_active_user",
    "cost_per_genuine_request",
    *NET_FIGURES,
    "new_users",
    "retained_users",
    "reactivated_users",
    "lapsed_users",
    "median_days_to_first_use",
)
#: a person's usage is mostly genuine when less than this share of it is theater
MOSTLY = 0.5
#: figures that may be negative (none of the counts, rates or costs may)
SIGNED: tuple[str, ...] = ()
#: Activity no person initiated (``aggregates.AUTOMATION``): bots reviewing pull requests,
#: coding agents, reviews a repository policy triggered.
AUTOMATION = agg.AUTOMATION
COLUMNS = (
    "org_id",
    "period_start",
    "period_end",
    "source_format",
    *FIGURES,
    "cost_source",
    "cost_note",
    "suppressed",
    "suppression_reason",
    "run_id",
)


def aggregate_formats() -> set[str]:
    """Source formats whose rows are aggregates (user-days, person-weeks, org-days): usage
    that never becomes interactions."""
    from ..sources.exports import FORMATS

    return {name for name, f in FORMATS.items() if f.grain != "event"}


def _known_sum(*cols: Column) -> Column:
    """Sum of the known values; null when none is known."""
    known = F.lit(False)
    for c in cols:
        known = known | c.isNotNull()
    return F.when(known, sum((F.coalesce(c, F.lit(0)) for c in cols), F.lit(0)))


is_automation = agg.is_automation


def _activity(df: DataFrame) -> DataFrame:
    """Rows with KEYS, period_days, _use (0/1), _auto, requests, accepted, offered -> one
    activity row per KEYS (sums of the known values; a count none of the rows reports stays
    null). A person's own use and automation acting in their name are kept apart:
    ``active``/``requests``/``accepted``/``offered`` count only the first, ``auto_active`` and
    ``auto_requests`` the second."""
    own = ~F.col("_auto")
    return df.groupBy(*KEYS).agg(
        F.max("period_days").cast("int").alias("period_days"),
        F.coalesce(F.max(F.when(own, F.col("_use"))), F.lit(0)).cast("int").alias("active"),
        F.sum(F.when(own, F.col("requests"))).cast("long").alias("requests"),
        F.sum(F.when(own, F.col("accepted"))).cast("long").alias("accepted"),
        F.sum(F.when(own, F.col("offered"))).cast("long").alias("offered"),
        F.coalesce(F.max(F.when(F.col("_auto"), F.col("_use"))), F.lit(0))
        .cast("int")
        .alias("auto_active"),
        F.sum(F.when(F.col("_auto"), F.col("requests"))).cast("long").alias("auto_requests"),
        F.sum("_cost").cast("double").alias("cost"),
        F.max(F.col("_vc").cast("int")).alias("cost_vendor"),
        F.max(F.col("_pc").cast("int")).alias("cost_priced"),
        F.max(F.col("_vconv").cast("int")).alias("cost_converted"),
        F.max(F.col("_vx").cast("int")).alias("cost_unconverted"),
        F.coalesce(F.max(F.when(own, F.col("_else").cast("int"))), F.lit(0)).alias("own_elsewhere"),
        F.coalesce(F.max(F.when(F.col("_auto"), F.col("_else").cast("int"))), F.lit(0)).alias(
            "auto_elsewhere"
        ),
    )


def _vendor_first(df: DataFrame, prices: "Prices | None" = None) -> DataFrame:
    """``df`` (``_priced``) with ``_cost`` = the vendor's own cost (``cost_usd``) where the row
    has one, else the price-table cost, else null; ``_vc`` / ``_pc`` flag which one gave it.

    Vendor costs are US dollars. When the price table is in another currency they are
    converted at ``usd_rate`` (``_vconv``); without a rate they cannot be added to it: the
    row's cost is null and ``_vx`` marks it (the org's cost is then NA, with a note)."""
    raw = F.col("cost_usd") if "cost_usd" in df.columns else F.lit(None).cast("double")
    raw = raw.cast("double")
    other = prices is not None and prices.currency != "USD"
    rate = prices.usd_rate if other else None
    has = raw.isNotNull()
    if not other:
        vendor = raw
    elif rate is not None:
        vendor = raw * F.lit(rate)
    else:
        vendor = F.lit(None).cast("double")
    stuck = has & F.lit(other and rate is None)
    return (
        df.withColumn("_vc", has & ~stuck)
        .withColumn("_vx", stuck)
        .withColumn("_vconv", has & F.lit(other and rate is not None))
        .withColumn("_pc", ~has & F.col("_cost").isNotNull())
        .withColumn("_cost", F.when(~stuck, F.coalesce(vendor, F.col("_cost"))))
    )


# ----------------------------------------------------------------------------------- cost
def _flag(df: DataFrame, name: str) -> Column:
    """0/1 column ``name`` of activity rows; 0 for rows built without it."""
    return F.coalesce(F.col(name), F.lit(0)) if name in df.columns else F.lit(0)


def price_tool(source: Column, tool: Column | None = None) -> Column:
    """The price table's ``tool`` of a usage row: the seat tool its source reports
    (``sources.seats.TOOL_SOURCES``: ``cursor_usage_events`` -> ``cursor``), else the source
    format itself; for a native event (no source format) its own ``tool``."""
    from ..sources.seats import TOOL_SOURCES

    expr = F.lower(source)
    for t, sources in TOOL_SOURCES.items():
        expr = F.when(source.isin(*sources), F.lit(t)).otherwise(expr)
    native = F.lower(tool) if tool is not None else F.lit(None).cast("string")
    return F.when(source.isNull(), native).otherwise(expr)


_USAGE_PRICES = ("per_request", "per_1k_prompt_tokens", "per_1k_output_tokens")
PRICE_SCHEMA = (
    "_p_tool string, _p_model string, _p_from date, _p_to date, per_request double, "
    "per_1k_prompt_tokens double, per_1k_output_tokens double"
)


@dataclass(frozen=True)
class Prices:
    """The price table over a period: ``rows`` of (Price, in force from, until (exclusive));
    None bounds are open. ``currency``: the table's; ``usd_rate``: units of it per US dollar
    (converts the vendors' own costs, which are US dollars)."""

    rows: tuple
    currency: str = "USD"
    usd_rate: float | None = None


def prices_between(adoption, start: date, end: date) -> Prices:
    """The price rows of ``adoption`` (``config.Adoption``) in force on some day of
    [start, end), each until the next row of its tool and model: a price that changes inside
    the period applies to the days it is in force (a later row replaces the whole row)."""
    by_key: dict = {}
    for p in sorted(adoption.prices, key=lambda p: p.effective_from):
        by_key.setdefault((p.tool, p.model), []).append(p)
    rows = []
    for ps in by_key.values():
        for i, p in enumerate(ps):
            until = ps[i + 1].effective_from if i + 1 < len(ps) else None
            if p.effective_from < end and (until is None or until > start):
                rows.append((p, p.effective_from, until))
    return Prices(tuple(rows), str(adoption.currency).upper(), adoption.usd_rate)


def as_prices(prices) -> Prices | None:
    """``Prices``, or a ``{(tool, model): Price}`` of one day (``Adoption.prices_on``: each in
    force on every day, currency unstated: taken as US dollars), or None."""
    if prices is None or isinstance(prices, Prices):
        return prices
    return Prices(tuple((p, None, None) for p in prices.values()))


def _priced(df: DataFrame, prices, source: Column, *, event: bool) -> DataFrame:
    """``df`` with ``_cost``: per_request x requests + tokens / 1000 x their prices in force on
    the row's day, the sum of the terms a price and a count are known for; null when none is
    (never 0 for unknown). An event's model-specific price wins over the tool's any-model one
    (each as in force that day)."""
    table = as_prices(prices)
    usage = [
        (p, lo, hi)
        for p, lo, hi in (table.rows if table else ())
        if any(getattr(p, f) is not None for f in _USAGE_PRICES)
    ]
    if not usage:
        return df.withColumn("_cost", F.lit(None).cast("double"))
    spark = df.sparkSession
    frame = spark.createDataFrame(
        [(p.tool, p.model, lo, hi, *[getattr(p, f) for f in _USAGE_PRICES]) for p, lo, hi in usage],
        PRICE_SCHEMA,
    )
    day = F.col("event_date") if event else F.col("day")
    tool_col = F.col("tool") if "tool" in df.columns else None
    out = df.withColumn("_ptool", price_tool(source.cast("string"), tool_col))
    model = F.col("model") if (event and "model" in df.columns) else F.lit(None).cast("string")
    out = out.withColumn("_pmodel", model).withColumn("_pday", day)
    spec = frame.where(F.col("_p_model").isNotNull()).select(
        F.col("_p_tool").alias("_st"),
        F.col("_p_model").alias("_sm"),
        F.col("_p_from").alias("_sf"),
        F.col("_p_to").alias("_su"),
        *[F.col(f).alias(f"_s_{f}") for f in _USAGE_PRICES],
    )
    anym = frame.where(F.col("_p_model").isNull()).select(
        F.col("_p_tool").alias("_at"),
        F.col("_p_from").alias("_af"),
        F.col("_p_to").alias("_au"),
        *[F.col(f).alias(f"_a_{f}") for f in _USAGE_PRICES],
    )

    def in_force(lo: str, hi: str) -> Column:
        d = F.col("_pday")
        return (F.col(lo).isNull() | (d >= F.col(lo))) & (F.col(hi).isNull() | (d < F.col(hi)))

    out = out.join(
        F.broadcast(spec),
        (F.col("_ptool") == F.col("_st"))
        & (F.col("_pmodel") == F.col("_sm"))
        & in_force("_sf", "_su"),
        "left",
    ).join(F.broadcast(anym), (F.col("_ptool") == F.col("_at")) & in_force("_af", "_au"), "left")
    has_spec = F.col("_st").isNotNull()

    def price(f):
        return F.when(has_spec, F.col(f"_s_{f}")).otherwise(F.col(f"_a_{f}"))

    if event:
        requests = (~F.coalesce(F.col("action").isin(*agg.PUSHED_ACTIONS), F.lit(False))).cast(
            "double"
        )
        prompt, output = F.col("prompt_tokens"), F.col("completion_tokens")
    else:
        requests = agg.request_count().cast("double")
        prompt, output = F.col("prompt_tokens"), F.col("output_tokens")
    cost = _known_sum(
        price("per_request") * requests,
        price("per_1k_prompt_tokens") * prompt.cast("double") / 1000.0,
        price("per_1k_output_tokens") * output.cast("double") / 1000.0,
    )
    helper = ["_ptool", "_pmodel", "_pday", "_st", "_sm", "_sf", "_su", "_at", "_af", "_au"] + [
        f"_{k}_{f}" for k in "sa" for f in _USAGE_PRICES
    ]
    return out.withColumn("_cost", cost.cast("double")).drop(*helper)


def event_activity(interactions: DataFrame, prices: dict | None = None) -> DataFrame:
    """Period interactions (``org_id, user_key, event_date, action, output_disposition`` and,
    if present, ``source_format``; null = native) -> activity rows: each interaction is a use.
    ``prices`` (``Adoption.prices_on``): the usage cost of each interaction (``usage_cost``)."""
    src = (
        F.col("source_format")
        if "source_format" in interactions.columns
        else F.lit(None).cast("string")
    )
    interactions = _vendor_first(_priced(interactions, prices, src, event=True), as_prices(prices))
    disp = F.col("output_disposition")
    requested = ~F.coalesce(F.col("action").isin(*agg.PUSHED_ACTIONS), F.lit(False))
    known = disp.isNotNull() & (disp != F.lit("unknown"))
    rows = interactions.where(F.col("org_id").isNotNull() & F.col("user_key").isNotNull()).select(
        "org_id",
        "user_key",
        agg.source_name(src.cast("string")).alias("source_format"),
        F.col("event_date").alias("day"),
        F.lit(1).alias("period_days"),
        F.lit(1).alias("_use"),
        (is_automation(F.col("tool")) if "tool" in interactions.columns else F.lit(False)).alias(
            "_auto"
        ),
        requested.cast("long").alias("requests"),
        F.coalesce(disp.isin(*USED), F.lit(False)).cast("long").alias("accepted"),
        known.cast("long").alias("offered"),
        F.col("_cost"),
        F.col("_vc"),
        F.col("_pc"),
        F.col("_vconv"),
        F.col("_vx"),
        F.lit(False).alias("_else"),
    )
    return _activity(rows)


def staged_event_activity(
    interactions: DataFrame,
    prices: dict | None,
    path: str,
    buckets: int = 1,
    *,
    with_all: bool = False,
    parts=None,
) -> DataFrame:
    """:func:`event_activity` written once as Parquet under ``path`` and read back. With
    ``buckets`` > 1 it is aggregated one user-hash bucket at a time (``buckets.bucket_of`` of
    ``user_key``, each a filtered read of ``interactions``), appended: all of a person's rows
    (org, user, source, day) fall in one bucket, so the rows are those of one aggregate, while
    the aggregate holds one bucket's person-days, not the period's. The figures read the copy
    several times (people, cohorts, seats, the ``all`` rows); without it each of them would
    aggregate the period's interactions again in the one plan of the adoption table.

    ``with_all``: the copy holds :func:`combined` of the events alone (each row once more as
    ``source_format='all'``, row by row, so bucket by bucket is the same; :func:`with_all_rows`). The figures then read
    a plain Parquet copy, never a union of that copy with its own literal ``all`` rows: Sail
    0.7.2 fails such a union once it is projected and filtered on ``source_format`` (as
    ``days_to_first_use`` does beside the earlier periods' activity) with "No field named #2".

    ``parts``: ``b`` -> bucket ``b``'s rows of ``interactions`` already apart (None: no row
    there; ``buckets.UserParts.rows``), read in place of the filtered read.

    With ``buckets`` > 1 each bucket is its own folder ``path/_bucket=<b>`` (the layout of
    ``buckets.write_partitioned``): :func:`staged_person_rows` reads them one at a time."""
    spark = interactions.sparkSession
    schema = None
    shutil.rmtree(path, ignore_errors=True)  # no bucket of an earlier copy is read back
    for b in range(max(buckets, 1)):
        if buckets <= 1:
            part = interactions
        elif parts is not None:
            part = parts(b)
            if part is None:
                continue
        else:
            part = interactions.where(bucket_of(buckets, "user_key") == b)
        frame = event_activity(part, prices)
        if with_all:
            frame = with_all_rows(frame)
        # by bucket in the Hive layout: read whole, or one bucket at a time (``read_bucket``)
        frame.write.mode("overwrite").parquet(
            os.path.join(path, f"{BUCKET}={b}") if buckets > 1 else path
        )
        schema = frame.schema
    if schema is None:  # no bucket of ``parts`` held a row
        return staged_event_activity(interactions.limit(0), prices, path, with_all=with_all)
    return spark.read.schema(schema).parquet(path)


def aggregate_activity(
    user_days: DataFrame, start: date, end: date, prices: dict | None = None
) -> DataFrame:
    """silver/user_days rows of [start, end) with an org -> activity rows. ``*_subset``
    features repeat actions counted elsewhere and are left out; null counts stay null.
    ``prices``: the usage cost of each row (any-model prices: user-days give no model)."""
    user_days = _vendor_first(
        _priced(user_days, prices, F.col("source_format"), event=False), as_prices(prices)
    )
    in_period = (F.col("day") >= F.lit(start)) & (F.col("day") < F.lit(end))
    user_days = agg.counted_elsewhere(user_days.where(in_period))
    decided = agg.decided_count()
    # any reported activity is a use: a session or tokens count too (Claude Code analytics
    # lists a person's day for their sessions and tokens even when no edit was decided)
    reported = _known_sum(
        F.col("requests"),
        F.col("suggestions_shown"),
        decided,
        F.col("sessions"),
        F.col("prompt_tokens"),
        F.col("output_tokens"),
    )
    rows = user_days.where(
        F.col("org_id").isNotNull()
        & F.col("user_key").isNotNull()
        & (F.col("day") >= F.lit(start))
        & (F.col("day") < F.lit(end))
        & ~F.lower(F.col("feature")).endswith("_subset")
    ).select(
        "org_id",
        "user_key",
        "source_format",
        "day",
        F.coalesce(F.col("period_days"), F.lit(1)).alias("period_days"),
        F.when(reported > 0, F.lit(1)).otherwise(F.lit(0)).alias("_use"),
        is_automation(F.col("feature")).alias("_auto"),
        agg.request_count().cast("long").alias("requests"),
        F.col("accepted").cast("long").alias("accepted"),
        F.coalesce(F.col("suggestions_shown"), decided).cast("long").alias("offered"),
        F.col("_cost"),
        F.col("_vc"),
        F.col("_pc"),
        F.col("_vconv"),
        F.col("_vx"),
        F.col(agg.ELSEWHERE).alias("_else"),
    )
    return _activity(rows)


def period_weeks(start: date, end: date) -> int:
    """ISO weeks (Monday starts) holding at least one day of [start, end)."""
    if end <= start:
        return 0
    first = start - timedelta(days=start.weekday())
    last = (end - timedelta(days=1)) - timedelta(days=(end - timedelta(days=1)).weekday())
    return (last - first).days // 7 + 1


def engaged_weeks(n_weeks: int) -> int:
    """Weeks with a use that make a person engaged in a period of ``n_weeks`` weeks."""
    return max(min(2, n_weeks), math.ceil(n_weeks / 2))


def combined(events: DataFrame | None, aggregates: DataFrame | None) -> DataFrame | None:
    """Activity rows of every source, plus the same rows once more as ``source_format='all'``
    (aggregate rows of a tool family a user also has events of are left out of 'all')."""
    parts = [p for p in (events, aggregates) if p is not None]
    if not parts:
        return None
    per_source = parts[0] if len(parts) == 1 else parts[0].unionByName(parts[1])
    agg_all = aggregates
    if events is not None and aggregates is not None:
        fam = agg.family(F.col("source_format"))
        agg_all = agg.without_event_grain(aggregates.withColumn("family", fam), events).drop(
            "family"
        )
    all_parts = [p for p in (events, agg_all) if p is not None]
    every = all_parts[0] if len(all_parts) == 1 else all_parts[0].unionByName(all_parts[1])
    return per_source.unionByName(_counted_once(every).withColumn("source_format", F.lit(ALL)))


def _counted_once_columns(cols) -> dict[str, Column]:
    """The columns :func:`_counted_once` replaces, by name, for activity columns ``cols``."""
    own = F.col("own_elsewhere") == 1 if "own_elsewhere" in cols else F.lit(False)
    auto = F.col("auto_elsewhere") == 1 if "auto_elsewhere" in cols else F.lit(False)
    out = {"active": F.when(own, F.lit(0)).otherwise(F.col("active"))}
    for c in ("requests", "accepted", "offered"):
        out[c] = F.when(own, F.lit(None)).otherwise(F.col(c)).cast("long")
    out["auto_active"] = F.when(auto, F.lit(0)).otherwise(F.col("auto_active"))
    out["auto_requests"] = F.when(auto, F.lit(None)).otherwise(F.col("auto_requests")).cast("long")
    return out


def _counted_once(activity: DataFrame) -> DataFrame:
    """Activity rows whose usage another source already counts (``own_elsewhere`` /
    ``auto_elsewhere``, from ``aggregates.counted_elsewhere``) keep their cost and give no use
    and no counts of that kind: for ``all``, where every source is added up."""
    out = activity
    for c, v in _counted_once_columns(set(activity.columns)).items():
        out = out.withColumn(c, v)
    return out


def with_all_rows(events: DataFrame) -> DataFrame:
    """:func:`combined` of ``events`` alone (the rows, then each once more as
    ``source_format='all'``, :func:`_counted_once`), from one read of ``events``: each row is
    doubled (an ``explode``) where the union of ``events`` with its own ``all`` rows computes
    ``events``, an aggregate of the period's interactions, twice. The same rows, in another
    order."""
    cols = events.columns
    again = _counted_once_columns(set(cols))
    dup = events.select("*", F.explode(F.array(F.lit(False), F.lit(True))).alias("_all_row"))
    is_all = F.col("_all_row")
    out = []
    for c in cols:
        if c == "source_format":
            v = F.when(is_all, F.lit(ALL)).otherwise(F.col(c))
        elif c in again:
            v = F.when(is_all, again[c]).otherwise(F.col(c))
        else:
            v = F.col(c)
        out.append(v.alias(c))
    return dup.select(*out)


def person_theater(labels: DataFrame) -> DataFrame:
    """gold/interaction_labels of the period -> (org_id, user_key, theater_share): the share of
    a person's labelled interactions flagged as theater."""
    return (
        labels.where(F.col("org_id").isNotNull() & F.col("user_key").isNotNull())
        .groupBy("org_id", "user_key")
        .agg(F.avg(F.col("is_theater").cast("double")).alias("theater_share"))
    )


def _index_frame(spark, index: DataFrame | None) -> DataFrame:
    """(org_id, _i_supp, _i_reason, _idx, _lo, _hi) of the index, the theater columns as shares
    (``theater_index`` / 100); null when the frame has none."""
    if index is None:
        index = spark.createDataFrame(
            [], "org_id string, suppressed boolean, suppression_reason string"
        )
    have = set(index.columns)

    def col(name):
        # the index and its interval are on 0-100: here a share of usage, in [0, 1]
        c = F.col(name).cast("double") / 100.0 if name in have else F.lit(None).cast("double")
        return F.when(c.isNotNull(), F.least(F.greatest(c, F.lit(0.0)), F.lit(1.0)))

    return index.select(
        "org_id",
        F.col("suppressed").alias("_i_supp"),
        F.col("suppression_reason").alias("_i_reason"),
        col("theater_index").cast("double").alias("_idx"),
        col("ci_low").cast("double").alias("_lo"),
        col("ci_high").cast("double").alias("_hi"),
    )


def _person_rows(activity: DataFrame) -> DataFrame:
    """Activity rows -> one row per (org, source_format, person): use, weeks and days with a
    use, counts, automation, usage cost and which source gave it."""
    week = agg.week_of(F.col("day"), F.col("period_days"))
    active = F.col("active") > 0
    return activity.groupBy("org_id", "source_format", "user_key").agg(
        F.max("active").alias("_active"),
        F.count_distinct(F.when(active, week)).alias("_weeks"),
        F.count_distinct(F.when(active & (F.col("period_days") == 1), F.col("day"))).alias("_days"),
        F.max(F.when(active & (F.col("period_days") != 1), F.lit(1))).alias("_weekly"),
        F.sum("requests").alias("requests"),
        F.sum("accepted").alias("accepted"),
        F.sum("offered").alias("offered"),
        F.max("auto_active").alias("_auto_active"),
        F.sum("auto_requests").alias("_auto_requests"),
        F.sum("cost").alias("_usage_cost"),
        F.max(_flag(activity, "cost_vendor")).alias("_cv"),
        F.max(_flag(activity, "cost_priced")).alias("_cp"),
        F.max(_flag(activity, "cost_converted")).alias("_cconv"),
        F.max(_flag(activity, "cost_unconverted")).alias("_cx"),
    )


def staged_person_rows(activity: UserParts, path: str) -> DataFrame | None:
    """:func:`_person_rows` of activity rows held by user bucket (``activity``, e.g. the
    buckets of :func:`staged_event_activity`), one bucket at a time, written under ``path``
    and read back (None: no bucket holds a row). A person's rows are all in one bucket, so
    these are the rows of one aggregate over every bucket. In one plan the aggregate holds a
    row per (org, source, person) of the period, each with the sets of its distinct weeks and
    days (``count_distinct``): at 50M interactions about a gigabyte more at the end of the
    adoption step (``benchmarks/RESULTS.md``, "adoption's person rows by user bucket")."""
    rows = None
    for b in range(activity.n):
        part = activity.rows(b)
        if part is None:
            continue
        mode = "append" if rows is not None else "overwrite"
        rows = _person_rows(part)
        rows.write.mode(mode).parquet(path)
    if rows is None:
        return None
    return rows.sparkSession.read.schema(rows.schema).parquet(path)


def _with_seat_cost(users: DataFrame, seat_costs: DataFrame | None) -> DataFrame:
    """Person rows with ``seat_cost`` and ``_ucost`` (usage + seat cost, null when neither is
    known); a seat holder without any use still costs their seat."""
    if seat_costs is not None:
        users = users.join(
            seat_costs.select("org_id", "source_format", "user_key", "seat_cost"),
            ["org_id", "source_format", "user_key"],
            "full",
        )
    else:
        users = users.withColumn("seat_cost", F.lit(None).cast("double"))
    users = users.withColumn("_ucost", _known_sum(F.col("_usage_cost"), F.col("seat_cost")))
    # seat prices come from the price table
    return users.withColumn(
        "_cp",
        F.greatest(F.coalesce(F.col("_cp"), F.lit(0)), F.col("seat_cost").isNotNull().cast("int")),
    )


def _with_theater(users: DataFrame, theater: DataFrame | None, idx: DataFrame) -> DataFrame:
    """Person rows with their flagged share (``theater_share``) and the org's index and
    interval as shares (``_idx``, ``_lo``, ``_hi``)."""
    if theater is None:
        theater = users.sparkSession.createDataFrame(
            [], "org_id string, user_key string, theater_share double"
        )
    return users.join(
        theater.select("org_id", "user_key", "theater_share"), ["org_id", "user_key"], "left"
    ).join(idx.select("org_id", "_idx", "_lo", "_hi"), "org_id", "left")


def _net_aggregates() -> list[Column]:
    """Per-org aggregates of person rows net of theater, and the cost with its sources."""
    # a person without labelled interactions (aggregate-only use) takes the org's share; the
    # bounds move every share by the org's index interval
    share = F.coalesce(F.col("theater_share"), F.col("_idx"))

    def genuine(shift: Column) -> Column:
        hit = (F.col("_active") > 0) & (share + shift < F.lit(MOSTLY))
        return F.sum(F.when(hit, 1).otherwise(0))

    def performative(shift: Column | None) -> Column:
        """Cost-weighted theater share, every share moved by ``shift`` (clipped to [0, 1])."""
        sh = share if shift is None else F.least(F.greatest(share + shift, F.lit(0.0)), F.lit(1.0))
        priced = F.col("_ucost").isNotNull() & sh.isNotNull()
        den = F.sum(F.when(priced, F.col("_ucost")))
        # a known cost of 0 has no share: null, and no division by zero (the engine evaluates
        # a guarded division eagerly)
        return F.sum(F.when(priced, F.col("_ucost") * sh)) / F.when(den > 0, den)

    return [
        genuine(F.lit(0.0)).alias("genuine_users"),
        genuine(F.col("_hi") - F.col("_idx")).alias("genuine_users_low"),
        genuine(F.col("_lo") - F.col("_idx")).alias("genuine_users_high"),
        F.first("_idx", ignorenulls=True).alias("_idx"),
        F.first("_lo", ignorenulls=True).alias("_lo"),
        F.first("_hi", ignorenulls=True).alias("_hi"),
        F.sum("_ucost").alias("cost"),
        F.max("_cv").alias("_cost_vendor"),
        F.max("_cp").alias("_cost_priced"),
        F.max("_cconv").alias("_cost_converted"),
        F.max("_cx").alias("_cost_unconverted"),
        performative(None).alias("performative_cost_share"),
        performative(F.col("_lo") - F.col("_idx")).alias("performative_cost_share_low"),
        performative(F.col("_hi") - F.col("_idx")).alias("performative_cost_share_high"),
    ]


def _org_rows(users: DataFrame, threshold: int) -> DataFrame:
    """Person rows -> one row per (org, source_format): the counts, net figures and cost."""
    return users.groupBy("org_id", "source_format").agg(
        F.sum(F.when(F.col("_active") > 0, 1).otherwise(0)).cast("long").alias("active_users"),
        F.sum(F.when(F.col("_weeks") >= threshold, 1).otherwise(0))
        .cast("long")
        .alias("engaged_users"),
        F.when(F.max("_weekly").isNull(), F.sum("_days")).cast("long").alias("active_days"),
        F.sum("requests").cast("long").alias("requests"),
        F.sum("accepted").cast("long").alias("accepted"),
        F.sum("offered").cast("long").alias("offered"),
        F.max("requests").alias("_max_requests"),
        F.sum(F.when((F.col("_auto_active") > 0) & (F.col("_active") == 0), 1).otherwise(0))
        .cast("long")
        .alias("automation_users"),
        F.sum("_auto_requests").cast("long").alias("automation_requests"),
        *_net_aggregates(),
    )


def _with_parts(
    rows: DataFrame,
    idx: DataFrame,
    seats: DataFrame | None,
    cohort: DataFrame | None,
    first_use: DataFrame | None,
) -> DataFrame:
    """Org rows joined with the index's suppression, the seat figures, the cohorts and the
    days to first use (empty frames where not given: their figures null)."""
    spark = rows.sparkSession
    keys = ["org_id", "source_format"]
    if seats is None:
        seats = spark.createDataFrame(
            [],
            "org_id string, source_format string, licensed_seats long, idle_seats long, "
            "theater_only_seats long",
        )
    if cohort is None:
        cohort = spark.createDataFrame(
            [],
            "org_id string, source_format string, "
            + ", ".join(f"{c} long" for c in COHORT_FIGURES),
        )
    if first_use is None:
        first_use = spark.createDataFrame(
            [], "org_id string, source_format string, median_days_to_first_use double"
        )
    rows = rows.join(idx.select("org_id", "_i_supp", "_i_reason"), "org_id", "left")
    rows = rows.join(seats, keys, "left")
    return rows.join(cohort, keys, "left").join(first_use, keys, "left")


def _positive(name: str) -> Column:
    """Column ``name`` where above 0, else null: a divisor. The engine may evaluate a division
    before the condition guarding it (both sides of an AND), so a 0 divisor must never reach
    it."""
    return F.when(F.col(name) > 0, F.col(name))


def _suppressed(rows: DataFrame, min_users: int, dominance_share: float) -> DataFrame:
    """Org rows with ``suppressed`` and ``suppression_reason``: the index's suppression, fewer
    than ``min_users`` active people, or one person over the dominance share of requests."""
    reason = (
        F.when(F.coalesce(F.col("_i_supp"), F.lit(False)), F.coalesce("_i_reason", F.lit("index")))
        .when(F.col("active_users") < min_users, F.lit("min_users"))
        .when(
            (F.col("requests") > 0)
            & (F.col("_max_requests") / _positive("requests") > dominance_share),
            F.lit("dominance"),
        )
    )
    return rows.withColumn("suppression_reason", reason).withColumn(
        "suppressed", F.col("suppression_reason").isNotNull()
    )


def _cost_columns(keep: Column) -> list[Column]:
    """The published cost columns (``cost`` already null where a vendor figure could not be
    converted), with the source and the currency note."""
    return [
        F.when(keep, F.round("cost", 2)).cast("double").alias("cost"),
        F.when(
            keep & (F.col("active_users") > 0),
            F.round(F.col("cost") / _positive("active_users"), 2),
        )
        .cast("double")
        .alias("cost_per_active_user"),
        F.when(
            keep & (F.col("_genuine_requests") > 0),
            F.round(F.col("cost") / _positive("_genuine_requests"), 4),
        )
        .cast("double")
        .alias("cost_per_genuine_request"),
    ]


def _cost_labels(keep: Column, unconverted: Column) -> list[Column]:
    """``cost_source`` (null with the cost) and ``cost_note``."""
    return [
        F.when(
            keep & F.col("cost").isNotNull(),
            F.when((F.col("_cost_vendor") == 1) & (F.col("_cost_priced") == 1), F.lit("mixed"))
            .when(F.col("_cost_vendor") == 1, F.lit("vendor"))
            .when(F.col("_cost_priced") == 1, F.lit("price_table")),
        ).alias("cost_source"),
        F.when(keep & unconverted, F.lit("vendor_usd_not_converted"))
        .when(
            keep & F.col("cost").isNotNull() & (F.col("_cost_converted") == 1),
            F.lit("vendor_usd_converted"),
        )
        .alias("cost_note"),
    ]


def _net_columns(keep: Column) -> list[Column]:
    """The published figures net of theater: NA, never 0, where the org's theater is not
    measured."""
    return [
        *[
            F.when(keep & F.col("_idx").isNotNull(), F.col(c)).cast("long").alias(c)
            for c in NET_FIGURES[:3]
        ],
        *[
            F.when(keep, F.round(F.col("requests") * (1 - F.col(b)))).cast("long").alias(c)
            for c, b in zip(NET_FIGURES[3:6], ("_idx", "_hi", "_lo"))
        ],
        *[
            F.when(keep & F.col("_idx").isNotNull() & (F.col("cost") > 0), F.round(c, 4))
            .cast("double")
            .alias(c)
            for c in NET_FIGURES[6:]
        ],
    ]


def _published(rows: DataFrame, start: date, end: date, run_id: str) -> DataFrame:
    """The gold columns (``COLUMNS``): a suppressed row keeps no figure at all."""
    keep = ~F.col("suppressed")
    # a vendor's US-dollar cost that cannot be converted into the price table's currency is
    # never added to it: the whole cost is NA (``cost_note`` says why)
    unconverted = F.coalesce(F.col("_cost_unconverted"), F.lit(0)) == 1
    rows = rows.withColumn("cost", F.when(~unconverted, F.col("cost")))
    rows = rows.withColumn("_genuine_requests", F.round(F.col("requests") * (1 - F.col("_idx"))))
    rate = F.when(F.col("offered") > 0, F.col("accepted") / _positive("offered"))
    return rows.select(
        "org_id",
        F.lit(start).alias("period_start"),
        F.lit(end).alias("period_end"),
        "source_format",
        *[F.when(keep, F.col(c)).cast("long").alias(c) for c in COUNT_FIGURES],
        F.when(keep, F.round(rate, 4)).cast("double").alias("acceptance_rate"),
        F.when(keep, F.col("licensed_seats")).cast("long").alias("licensed_seats"),
        F.when(keep, F.col("idle_seats")).cast("long").alias("idle_seats"),
        F.when(keep & F.col("_idx").isNotNull(), F.col("theater_only_seats"))
        .cast("long")
        .alias("theater_only_seats"),
        *_cost_columns(keep),
        *_net_columns(keep),
        *[F.when(keep, F.col(c)).cast("long").alias(c) for c in COHORT_FIGURES],
        F.when(keep, F.col("median_days_to_first_use"))
        .cast("double")
        .alias("median_days_to_first_use"),
        *_cost_labels(keep, unconverted),
        "suppressed",
        "suppression_reason",
        F.lit(run_id).alias("run_id"),
    )


def org_adoption(
    activity: DataFrame,
    start: date,
    end: date,
    *,
    min_users: int,
    dominance_share: float,
    run_id: str,
    index_suppressed: DataFrame | None = None,
    theater: DataFrame | None = None,
    seats: DataFrame | None = None,
    seat_costs: DataFrame | None = None,
    cohort: DataFrame | None = None,
    first_use: DataFrame | None = None,
    person_rows: DataFrame | None = None,
) -> DataFrame:
    """Activity rows (``combined``) -> one row per (org, source_format) with the figures of
    the module docstring. ``index_suppressed``: (org_id, suppressed, suppression_reason) of
    the index for the period; its suppressed orgs are suppressed here too. With
    ``theater_index, ci_low, ci_high`` in it and ``theater`` (``person_theater``) the net
    figures are computed; without, they are null (theater not measured). ``seats``:
    ``seat_figures`` (null seat figures without); ``seat_costs``: ``seat_costs`` (the usage
    cost in ``activity`` alone without); ``cohort``: ``cohorts``; ``first_use``:
    ``days_to_first_use`` (null figures without either). ``person_rows``: ``activity``'s
    person rows already computed (:func:`staged_person_rows`), else aggregated here."""
    idx = _index_frame(activity.sparkSession, index_suppressed)
    users = _person_rows(activity) if person_rows is None else person_rows
    users = _with_seat_cost(users, seat_costs)
    users = _with_theater(users, theater, idx)
    rows = _org_rows(users, engaged_weeks(period_weeks(start, end)))
    rows = _with_parts(rows, idx, seats, cohort, first_use)
    return _published(_suppressed(rows, min_users, dominance_share), start, end, run_id)


# ---------------------------------------------------------------------------------- seats
IDLE_DAYS = 28  # a seat is idle when its holder has no use in the period's last 28 days


def _seat_spans(seats: DataFrame, start: date, end: date) -> DataFrame:
    """Seats held on at least one day of [start, end): ``_from`` (assigned, else first seen)
    and ``_to`` (exclusive, null = still held)."""
    s_from = F.coalesce(F.col("assigned_from"), F.col("seen_on"))
    return (
        seats.withColumn("_from", s_from)
        .withColumn("_to", F.col("assigned_to"))
        .where(
            F.col("user_key").isNotNull()
            & (F.col("_from") < F.lit(end))
            & (F.col("_to").isNull() | (F.col("_to") > F.lit(start)))
        )
    )


def _tool_sources(spark, tools: list[str], known: list[str]) -> DataFrame:
    """(tool, source_format) pairs: which usage sources are use of which seat tool."""
    from ..sources.seats import sources_of

    pairs = [(t, s) for t in tools for s in sorted(sources_of(t, set(known)))]
    return spark.createDataFrame(pairs, "tool string, source_format string")


def seat_use(seats: DataFrame, activity: DataFrame, start: date, end: date) -> DataFrame:
    """Seats held in the period (``_seat_spans``), one row each, with ``_measurable`` (some
    usage source of the tool is in the lake, or the vendor gives a last-activity date),
    ``_used`` (a use of the tool in the period: ours, or the vendor's last activity date) and
    ``_recent`` (the same in the period's last ``IDLE_DAYS`` days), and ``_held_recent`` (the
    seat held on a day of those)."""
    from ..sources.seats import LAST_ACTIVITY_FORMATS

    spark = seats.sparkSession
    spans = _seat_spans(seats, start, end)
    tools = [r.tool for r in spans.select("tool").distinct().collect()]
    per_source = activity.where(F.col("source_format") != F.lit(ALL))
    known = [r.source_format for r in per_source.select("source_format").distinct().collect()]
    ts = _tool_sources(spark, tools, known)
    recent_from = end - timedelta(days=IDLE_DAYS)
    last_day = F.date_add(F.col("day"), F.col("period_days") - 1)
    use = (
        per_source.where(F.col("active") > 0)
        .join(F.broadcast(ts), "source_format")
        .groupBy("user_key", "tool")
        .agg(
            F.lit(True).alias("_u"),
            F.max((last_day >= F.lit(recent_from)).cast("int")).alias("_r"),
        )
    )
    measurable = ts.select("tool").distinct().withColumn("_m", F.lit(True))
    vendor_seen = F.col("last_activity").isNotNull()
    in_period = vendor_seen & (F.col("last_activity") >= F.lit(start))
    return (
        spans.join(use, ["user_key", "tool"], "left")
        .join(F.broadcast(measurable), "tool", "left")
        .withColumn(
            "_measurable",
            F.coalesce(F.col("_m"), F.lit(False))
            | F.col("source_format").isin(*LAST_ACTIVITY_FORMATS),
        )
        .withColumn("_used", F.coalesce(F.col("_u"), F.lit(False)) | in_period)
        .withColumn(
            "_recent",
            F.coalesce(F.col("_r") == 1, F.lit(False))
            | (vendor_seen & (F.col("last_activity") >= F.lit(recent_from))),
        )
        .withColumn("_held_recent", F.col("_to").isNull() | (F.col("_to") > F.lit(recent_from)))
        .drop("_u", "_r", "_m")
    )


def _seats_in_orgs(
    seats: DataFrame, activity: DataFrame, start: date, end: date, directory
) -> DataFrame:
    """``seat_use`` rows with the holder's ``org_id`` (rows with none are left out)."""
    from .vendor import org_as_of

    used = seat_use(seats, activity, start, end)
    last = F.date_sub(F.least(F.lit(end), F.coalesce(F.col("_to"), F.lit(end))), 1)
    used = used.withColumn("_on", last).withColumn("org_id", F.lit(None).cast("string"))
    keys = ["user_key", "tool", "_from", "source_format"]
    if directory is not None:
        used = used.transform(org_as_of(directory, "_on", keys))
    act_org = (
        activity.where((F.col("source_format") != F.lit(ALL)) & (F.col("active") > 0))
        .groupBy("user_key")
        .agg(F.min("org_id").alias("_act_org"))
    )
    used = (
        used.join(act_org, "user_key", "left")
        .withColumn("org_id", F.coalesce(F.col("org_id"), F.col("_act_org")))
        .where(F.col("org_id").isNotNull())
    )
    return used


def _source_rows(per_seat: DataFrame, activity: DataFrame) -> DataFrame:
    """Per-seat rows (with ``tool``) once for each usage source the tool maps to and once as
    ``all``."""
    spark = per_seat.sparkSession
    tools = [r.tool for r in per_seat.select("tool").distinct().collect()]
    known = [
        r.source_format
        for r in activity.where(F.col("source_format") != F.lit(ALL))
        .select("source_format")
        .distinct()
        .collect()
    ]
    ts = _tool_sources(spark, tools, known)
    return per_seat.join(F.broadcast(ts), "tool").unionByName(
        per_seat.withColumn("source_format", F.lit(ALL))
    )


def seat_costs(
    seats: DataFrame,
    activity: DataFrame,
    start: date,
    end: date,
    prices,
    *,
    directory: DataFrame | None = None,
) -> DataFrame | None:
    """Seat cost per (org_id, user_key, source_format incl. ``all``): for each day a seat of
    the tool is held in the period, the tool's ``seat_per_month`` in force that day x 12 / 365
    (a day counts once however many listings hold it, and a person's separate spans add up).
    Days without a seat price in force are left out (their cost is unknown, not 0); None when
    no tool has a seat price in the period. ``prices``: ``Prices`` or a one-day
    ``{(tool, model): Price}``."""
    table = as_prices(prices)
    rows = [
        (p.tool, lo, hi, p.seat_per_month)
        for p, lo, hi in (table.rows if table else ())
        if p.model is None and p.seat_per_month is not None
    ]
    if not rows:
        return None
    spark = seats.sparkSession
    price = spark.createDataFrame(rows, "tool string, _p_from date, _p_to date, _per_month double")
    used = _seats_in_orgs(seats, activity, start, end, directory)
    first = F.greatest(F.lit(start), F.col("_from"))
    last = F.date_sub(F.least(F.lit(end), F.coalesce(F.col("_to"), F.lit(end))), 1)
    days = (
        used.join(F.broadcast(price.select("tool").distinct()), "tool")
        .select("org_id", "user_key", "tool", F.explode(F.sequence(first, last)).alias("_day"))
        .distinct()
    )
    in_force = (F.col("_p_from").isNull() | (F.col("_day") >= F.col("_p_from"))) & (
        F.col("_p_to").isNull() | (F.col("_day") < F.col("_p_to"))
    )
    per_seat = (
        days.join(
            F.broadcast(price.withColumnRenamed("tool", "_ptool")),
            (F.col("tool") == F.col("_ptool")) & in_force,
        )
        .groupBy("org_id", "user_key", "tool")
        .agg((F.sum("_per_month") * 12.0 / 365.0).alias("seat_cost"))
    )
    return (
        _source_rows(per_seat, activity)
        .groupBy("org_id", "user_key", "source_format")
        .agg(F.sum("seat_cost").cast("double").alias("seat_cost"))
    )


def _org_measurable(used: DataFrame, activity: DataFrame, min_people: int = 1) -> DataFrame:
    """Seat rows (with ``org_id``) whose ``_measurable`` holds only where at least
    ``min_people`` people of the holder's org show a use of the tool in some source, or the
    vendor's listing gives a last activity: a tool the org's exports report only at org level
    (or for a stray person who moved in) cannot tell an idle seat from an unexported one, so
    none of its seats is called idle there."""
    from ..sources.seats import LAST_ACTIVITY_FORMATS

    per_source = activity.where((F.col("source_format") != F.lit(ALL)) & (F.col("active") > 0))
    tools = [r.tool for r in used.select("tool").distinct().collect()]
    known = [r.source_format for r in per_source.select("source_format").distinct().collect()]
    ts = _tool_sources(used.sparkSession, tools, known)
    seen = (
        per_source.join(F.broadcast(ts), "source_format")
        .groupBy("org_id", "tool")
        .agg(F.count_distinct("user_key").alias("_people"))
        .where(F.col("_people") >= F.lit(min_people))
        .select("org_id", "tool", F.lit(True).alias("_org_seen"))
    )
    return (
        used.join(seen, ["org_id", "tool"], "left")
        .withColumn(
            "_measurable",
            F.coalesce(F.col("_org_seen"), F.lit(False))
            | F.col("source_format").isin(*LAST_ACTIVITY_FORMATS),
        )
        .drop("_org_seen")
    )


def seat_figures(
    seats: DataFrame,
    activity: DataFrame,
    start: date,
    end: date,
    *,
    directory: DataFrame | None = None,
    theater: DataFrame | None = None,
    min_people: int = 1,
) -> DataFrame:
    """Seats -> (org_id, source_format, licensed_seats, idle_seats, theater_only_seats) for
    each usage source a seat's tool maps to, and for ``all``.

    - ``licensed_seats``: seats (person x tool) held on a day of the period;
    - ``idle_seats``: of those held in the last ``IDLE_DAYS`` days, seats whose holder has no
      use of the tool in those days (nor the vendor's own last activity); only seats whose use
      can be measured count, else null;
    - ``theater_only_seats``: seats whose holder used the tool in the period and every one of
      whose labelled interactions is flagged as theater (null without labels).

    The holder's org: the directory's on the last day the seat is held in the period, else
    the org of their activity in the period."""
    used = _seats_in_orgs(seats, activity, start, end, directory)
    used = _org_measurable(used, activity, min_people)
    if theater is not None:
        used = used.join(
            theater.select("org_id", "user_key", "theater_share"), ["org_id", "user_key"], "left"
        )
    else:
        used = used.withColumn("theater_share", F.lit(None).cast("double"))
    per_seat = used.select(
        "org_id",
        "user_key",
        "tool",
        "_measurable",
        (F.col("_measurable") & F.col("_held_recent") & ~F.col("_recent")).alias("_idle"),
        (F.col("_used") & (F.col("theater_share") >= F.lit(1.0))).alias("_theater_only"),
        F.col("theater_share").isNotNull().alias("_labelled"),
    ).distinct()
    rows = _source_rows(per_seat, activity)
    seat_key = F.concat_ws("|", F.col("user_key"), F.col("tool"))
    return rows.groupBy("org_id", "source_format").agg(
        F.count_distinct(seat_key).cast("long").alias("licensed_seats"),
        F.when(
            F.max(F.col("_measurable").cast("int")) == 1,
            F.count_distinct(F.when(F.col("_idle"), seat_key)),
        )
        .cast("long")
        .alias("idle_seats"),
        F.when(
            F.max(F.col("_labelled").cast("int")) == 1,
            F.count_distinct(F.when(F.col("_theater_only"), seat_key)),
        )
        .cast("long")
        .alias("theater_only_seats"),
    )


def reclaim_list(resolved_seats: DataFrame, activity: DataFrame, start: date, end: date):
    """Seats held in the period with no use at all: no use of the tool in the period in any
    source, and no vendor last-activity date in or after the period start. Only seats whose
    use can be measured and whose alias resolves to a person (``user_key``) are candidates.
    -> (tool, alias, assigned_from): the vendor alias, nothing else. A sensitive output: never
    written to gold or the report (see ``theater seats reclaim``)."""
    used = seat_use(resolved_seats, activity, start, end)
    return (
        used.where(F.col("_measurable") & ~F.col("_used"))
        .where(F.col("last_activity").isNull() | (F.col("last_activity") < F.lit(start)))
        .select("tool", "alias", F.col("_from").alias("assigned_from"))
        .distinct()
        .orderBy("tool", "alias")
    )


# -------------------------------------------------------------------------------- cohorts
COHORT_FIGURES = ("new_users", "retained_users", "reactivated_users", "lapsed_users")


def cohorts(
    current: DataFrame, prior: DataFrame | None, prev_start: date, start: date
) -> DataFrame:
    """Activity rows of the period (``current``) and of everything before it (``prior``, the
    same activity rows over the lake's history: no vendor window caps it) -> per (org_id,
    source_format): people

    - ``new_users``: active now, never before in the lake;
    - ``retained_users``: active now and in the previous period [prev_start, start);
    - ``reactivated_users``: active now, not in the previous period, but before it;
    - ``lapsed_users``: active in the previous period, not now.

    A person belongs to the org their activity rows carry (someone who moved is new in the
    new org). ``prior`` None (nothing before the period): everyone active is new."""
    cur = (
        current.where(F.col("active") > 0).select("org_id", "source_format", "user_key").distinct()
    )
    spark = current.sparkSession
    if prior is None:
        prior = spark.createDataFrame(
            [], "org_id string, source_format string, user_key string, day date, active int"
        )
    p = prior.where((F.col("active") > 0) & (F.col("day") < F.lit(start)))
    prev = (
        p.where(F.col("day") >= F.lit(prev_start))
        .select("org_id", "source_format", "user_key")
        .distinct()
        .withColumn("_prev", F.lit(True))
    )
    before = (
        p.where(F.col("day") < F.lit(prev_start))
        .select("org_id", "source_format", "user_key")
        .distinct()
        .withColumn("_before", F.lit(True))
    )
    keys = ["org_id", "source_format", "user_key"]
    people = cur.withColumn("_now", F.lit(True)).join(prev, keys, "full").join(before, keys, "left")
    now = F.coalesce(F.col("_now"), F.lit(False))
    was = F.coalesce(F.col("_prev"), F.lit(False))
    earlier = F.coalesce(F.col("_before"), F.lit(False))

    def count(cond):
        return F.sum(F.when(cond, 1).otherwise(0)).cast("long")

    return people.groupBy("org_id", "source_format").agg(
        count(now & ~was & ~earlier).alias("new_users"),
        count(now & was).alias("retained_users"),
        count(now & ~was & earlier).alias("reactivated_users"),
        count(~now & was).alias("lapsed_users"),
    )


def days_to_first_use(
    seats: DataFrame, activity: DataFrame, prior: DataFrame | None, start: date, end: date
) -> DataFrame:
    """Per (org_id, source_format incl. ``all``): the median days from a seat's assignment to
    its holder's first use of the tool, over seats assigned in the period that were used by its
    end (``median_days_to_first_use``; seats never used are not in it: ``idle_seats`` counts
    them). The org is the holder's activity org."""
    spark = seats.sparkSession
    every = activity if prior is None else activity.unionByName(prior, allowMissingColumns=True)
    per_source = every.where((F.col("source_format") != F.lit(ALL)) & (F.col("active") > 0))
    tools = [r.tool for r in seats.select("tool").distinct().collect()]
    known = [r.source_format for r in per_source.select("source_format").distinct().collect()]
    ts = _tool_sources(spark, tools, known)
    assigned = seats.where(
        F.col("assigned_from").isNotNull()
        & (F.col("assigned_from") >= F.lit(start))
        & (F.col("assigned_from") < F.lit(end))
    ).select("user_key", "tool", "assigned_from")
    first = (
        per_source.join(F.broadcast(ts), "source_format")
        .join(assigned, ["user_key", "tool"])
        .where((F.col("day") >= F.col("assigned_from")) & (F.col("day") < F.lit(end)))
        .groupBy("org_id", "user_key", "tool", "assigned_from")
        .agg(F.min("day").alias("_first"))
        .withColumn("_d", F.datediff("_first", "assigned_from"))
    )
    rows = _source_rows(first, activity)
    return rows.groupBy("org_id", "source_format").agg(
        F.percentile_approx("_d", 0.5).cast("double").alias("median_days_to_first_use")
    )


# ------------------------------------------------------------------------- org-day exports
def _org_day_all(per_source: DataFrame) -> DataFrame:
    """Per-source org-day figures -> the ``all`` row of an org whose usage is org-day exports
    only. Two sources of one tool family (GitHub's old metrics API and its usage reports) count
    the same usage: per family the source with the most requests is kept (then the first by
    name), and families are added. People and person-days: the largest over sources, since
    one person may use several tools (a lower bound, as each source's count is)."""
    from pyspark.sql import Window

    fam = agg.family(F.col("source_format"))
    w = Window.partitionBy("org_id", "_fam").orderBy(
        F.coalesce(F.col("requests"), F.lit(-1)).desc(), F.col("source_format")
    )
    one = (
        per_source.withColumn("_fam", fam)
        .withColumn("_r", F.row_number().over(w))
        .where(F.col("_r") == 1)
    )
    return one.groupBy("org_id").agg(
        F.lit(ALL).alias("source_format"),
        F.max("peak_active").alias("peak_active"),
        F.max("active_days").alias("active_days"),
        *[
            F.sum(c).cast("long").alias(c)
            for c in ("requests", "accepted", "offered", "automation_requests")
        ],
    )


def org_day_adoption(
    org_days: DataFrame,
    start: date,
    end: date,
    *,
    min_users: int,
    run_id: str,
    index_suppressed: DataFrame | None = None,
    person_orgs: DataFrame | None = None,
) -> DataFrame:
    """silver/org_days -> gold/org_adoption rows (``COLUMNS``): one per (org, org-day source),
    plus ``all`` for an org with no person-level usage (not in ``person_orgs``, org_id).

    What org-day exports measure (``aggregates.org_day_sources``, daily rows only):
    ``active_users`` = the largest count of people active on one day (a lower bound of the
    people active in the period: the exports never say who), ``active_days`` = the daily
    counts of active people summed (person-days), ``requests``, ``accepted``, ``offered`` and
    ``automation_requests`` summed over the days. Not measured at this grain, so NA (never 0):
    ``engaged_users`` (habitual use needs one person's weeks), ``automation_users``, seats,
    cost, cohorts and every figure net of theater.

    Suppressed (no figures at all): the org is suppressed in the index, or the row's daily
    count of active people is unknown or under ``min_users``; one person's share of the
    requests cannot be seen at this grain."""
    spark = org_days.sparkSession
    per = agg.org_day_sources(agg.org_day_rows(org_days, start, end))
    if person_orgs is None:
        person_orgs = spark.createDataFrame([], "org_id string")
    alone = per.join(person_orgs.select("org_id").distinct(), "org_id", "left_anti")
    rows = per.unionByName(_org_day_all(alone))
    idx = _index_frame(spark, index_suppressed).select("org_id", "_i_supp", "_i_reason")
    rows = rows.join(idx, "org_id", "left").withColumnRenamed("peak_active", "active_users")
    reason = F.when(
        F.coalesce(F.col("_i_supp"), F.lit(False)), F.coalesce("_i_reason", F.lit("index"))
    ).when(F.col("active_users").isNull() | (F.col("active_users") < min_users), F.lit("min_users"))
    rows = rows.withColumn("suppression_reason", reason).withColumn(
        "suppressed", F.col("suppression_reason").isNotNull()
    )
    keep = ~F.col("suppressed")
    measured = ("active_users", "active_days", "requests", "accepted", "offered")
    rate = F.when(F.col("offered") > 0, F.col("accepted") / _positive("offered"))
    given = {
        "org_id": F.col("org_id"),
        "period_start": F.lit(start),
        "period_end": F.lit(end),
        "source_format": F.col("source_format"),
        **{c: F.when(keep, F.col(c)) for c in (*measured, "automation_requests")},
        "acceptance_rate": F.when(keep, F.round(rate, 4)),
        "suppressed": F.col("suppressed"),
        "suppression_reason": F.col("suppression_reason"),
        "run_id": F.lit(run_id),
    }
    types = {c: "long" for c in FIGURES}
    types.update(
        {c: "double" for c in ("acceptance_rate", "cost", "cost_per_active_user")},
        cost_per_genuine_request="double",
        median_days_to_first_use="double",
        performative_cost_share="double",
        performative_cost_share_low="double",
        performative_cost_share_high="double",
    )
    strings = ("org_id", "source_format", "cost_source", "cost_note", "suppression_reason")
    types.update({c: "string" for c in strings}, run_id="string", suppressed="boolean")
    types.update(period_start="date", period_end="date")
    return rows.select(*[given.get(c, F.lit(None)).cast(types[c]).alias(c) for c in COLUMNS])
