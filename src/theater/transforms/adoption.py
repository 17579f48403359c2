"""Adoption basics, one definition each, for events and aggregates alike -> ``gold/org_adoption``.

Both grains are first brought to *activity rows*, one per (org, user, source, day) with the
same meaning (``event_activity``: silver/interactions; ``aggregate_activity``:
silver/user_days), and every figure is computed once from those rows (``org_adoption``):

- a **use**: an interaction (events), or a user-day or person-week row reporting any activity:
  a request, a suggestion shown, or an output accepted, rejected or dismissed (aggregates);
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
events (``aggregates.without_event_grain``).

Seats and cost (``licensed_seats``, ``idle_seats``, ``cost``) are null: no seat or price input
exists yet, and unknown is never 0.

Suppression follows the index: a row is suppressed when its org is suppressed in
``gold/org_theater_index``, or when the row itself has fewer than k active users, or one person
makes more than the dominance share of its requests; a suppressed row carries no figures.
"""

from __future__ import annotations

import math
from datetime import date, timedelta

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

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
FIGURES = (*COUNT_FIGURES, "acceptance_rate", "licensed_seats", "idle_seats", "cost")
#: figures that may be negative (none of the counts, rates or costs may)
SIGNED: tuple[str, ...] = ()
#: Activity no person initiated: bots reviewing pull requests (Cursor's Bugbot), coding agents
#: working on an assigned issue, reviews a repository policy triggered (GitHub's "passive" code
#: review users). Matched on an event's ``tool`` or an aggregate's ``feature`` (lower case).
AUTOMATION = r"(^|[_\- ])(bugbot|bot|coding[_\- ]agent|passive[a-z_]*|auto[_\- ]?review|auto[_\- ]triggered[a-z_]*)([_\- ]|$)"
COLUMNS = (
    "org_id",
    "period_start",
    "period_end",
    "source_format",
    *FIGURES,
    "suppressed",
    "suppression_reason",
    "run_id",
)


def aggregate_formats() -> set[str]:
    """Source formats whose rows are aggregates (user-days, person-weeks, org-days): usage
    that never becomes interactions."""
    from ..sources.vendor import FORMATS

    return {name for name, f in FORMATS.items() if f.grain != "event"}


def _known_sum(*cols: Column) -> Column:
    """Sum of the known values; null when none is known."""
    known = F.lit(False)
    for c in cols:
        known = known | c.isNotNull()
    return F.when(known, sum((F.coalesce(c, F.lit(0)) for c in cols), F.lit(0)))


def is_automation(col: Column) -> Column:
    """True for a tool or feature name that marks activity no person initiated."""
    return F.coalesce(F.lower(col).rlike(AUTOMATION), F.lit(False))


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
    )


def event_activity(interactions: DataFrame) -> DataFrame:
    """Period interactions (``org_id, user_key, event_date, action, output_disposition`` and,
    if present, ``source_format``; null = native) -> activity rows: each interaction is a use."""
    src = (
        F.col("source_format")
        if "source_format" in interactions.columns
        else F.lit(None).cast("string")
    )
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
    )
    return _activity(rows)


def aggregate_activity(user_days: DataFrame, start: date, end: date) -> DataFrame:
    """silver/user_days rows of [start, end) with an org -> activity rows. ``*_subset``
    features repeat actions counted elsewhere and are left out; null counts stay null."""
    decided = agg.decided_count()
    reported = _known_sum(F.col("requests"), F.col("suggestions_shown"), decided)
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
    return per_source.unionByName(every.withColumn("source_format", F.lit(ALL)))


def org_adoption(
    activity: DataFrame,
    start: date,
    end: date,
    *,
    min_users: int,
    dominance_share: float,
    run_id: str,
    index_suppressed: DataFrame | None = None,
) -> DataFrame:
    """Activity rows (``combined``) -> one row per (org, source_format) with the figures of
    the module docstring. ``index_suppressed``: (org_id, suppressed, suppression_reason) of
    the index for the period; its suppressed orgs are suppressed here too."""
    threshold = engaged_weeks(period_weeks(start, end))
    week = agg.week_of(F.col("day"), F.col("period_days"))
    active = F.col("active") > 0
    users = activity.groupBy("org_id", "source_format", "user_key").agg(
        F.max("active").alias("_active"),
        F.count_distinct(F.when(active, week)).alias("_weeks"),
        F.count_distinct(F.when(active & (F.col("period_days") == 1), F.col("day"))).alias("_days"),
        F.max(F.when(active & (F.col("period_days") != 1), F.lit(1))).alias("_weekly"),
        F.sum("requests").alias("requests"),
        F.sum("accepted").alias("accepted"),
        F.sum("offered").alias("offered"),
        F.max("auto_active").alias("_auto_active"),
        F.sum("auto_requests").alias("_auto_requests"),
    )
    rows = users.groupBy("org_id", "source_format").agg(
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
    )
    if index_suppressed is None:
        spark = activity.sparkSession
        index_suppressed = spark.createDataFrame(
            [], "org_id string, suppressed boolean, suppression_reason string"
        )
    idx = index_suppressed.select(
        "org_id",
        F.col("suppressed").alias("_i_supp"),
        F.col("suppression_reason").alias("_i_reason"),
    )
    rows = rows.join(idx, "org_id", "left")
    reason = (
        F.when(F.coalesce(F.col("_i_supp"), F.lit(False)), F.coalesce("_i_reason", F.lit("index")))
        .when(F.col("active_users") < min_users, F.lit("min_users"))
        .when(
            (F.col("requests") > 0)
            & (F.col("_max_requests") / F.col("requests") > dominance_share),
            F.lit("dominance"),
        )
    )
    rows = rows.withColumn("suppression_reason", reason).withColumn(
        "suppressed", F.col("suppression_reason").isNotNull()
    )
    keep = ~F.col("suppressed")
    rate = F.when(F.col("offered") > 0, F.col("accepted") / F.col("offered"))
    return rows.select(
        "org_id",
        F.lit(start).alias("period_start"),
        F.lit(end).alias("period_end"),
        "source_format",
        *[F.when(keep, F.col(c)).cast("long").alias(c) for c in COUNT_FIGURES],
        F.when(keep, F.round(rate, 4)).cast("double").alias("acceptance_rate"),
        F.lit(None).cast("long").alias("licensed_seats"),
        F.lit(None).cast("long").alias("idle_seats"),
        F.lit(None).cast("double").alias("cost"),
        "suppressed",
        "suppression_reason",
        F.lit(run_id).alias("run_id"),
    )
