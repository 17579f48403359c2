"""Pure transforms over ``silver/user_days`` (vendor user-day and person-week aggregates) for the
score stage: usage units, de-duplication against event data of the same tool, and the units of
the incentive index (docs/methodology.md, "Indices from aggregates").

A *usage unit* row is (org_id, user_key, source_format, family, day, period_days, week_start,
n, usage, acceptance):

- ``n``: requests the user made with that feature that day (``requests``); where the source
  reports no request count, a requested-output feature (chat, agent, edit, apply) counts its
  proposals (``suggestions_shown``, else accepted + rejected + dismissed). Pushed inline
  completions are not requests: without ``requests`` they carry none. The activity counts of
  the signals (user-week counts at the quota, user-day counts before a checkpoint, weekly usage
  for outcome decoupling) read ``n``. ``*_subset`` features (Viva's summarise actions) repeat
  actions counted elsewhere and are dropped. Null counts stay null (never 0).
- ``usage``: the row's usage in the one unit of the indices, requests plus pushed outputs:
  ``n`` for a requested-output feature; for a pushed feature (inline completions) the
  completions shown (``suggestions_shown``, else accepted + rejected + dismissed, else
  ``requests``). One completion event of ``silver/interactions`` is one unit of usage, so a
  completion shown counted by a user-day export is one too: every source of an org measures
  usage in the same unit. Incentive units weigh ``usage`` (the incentive share and the usage the
  theater share from acceptance counts spreads over, :func:`incentive_users`).
- ``acceptance`` (named for what it reads; the value is the UNUSED share): for requested-output
  features only, (rejected + dismissed) / (accepted + rejected + dismissed) when the source
  reports rejections or dismissals; null otherwise. Low acceptance of pushed completions is the
  normal state of that feature, not theater, so completions never get one.
- ``week_start``: the ISO week (Monday) of the day; a person-week row (``period_days = 7``,
  Viva weeks start on Sunday) goes to the ISO week that holds six of its seven days, the one
  starting the next day (Monday).

De-duplication: per (org, user, tool family), event rows win: a user whose usage of a tool
appears in the period both as events (silver/interactions) and as aggregates of the same tool
(e.g. Claude Code OTel events and the Claude Code analytics API) keeps only the events; their
aggregate rows of that family are dropped for the whole period.

Counted once (``counted_elsewhere``): a source whose requests are a subset of another source's
requests for the same person and day (``SUBSET_OF``: GitHub's premium requests usage report
bills requests its usage-metrics users report already counts) adds no usage where that other
source has a row of the same person, day and kind (a person's own use, or automation acting in
their name): such a row keeps its cost but gives no usage unit here and no use, request or
active day to ``source_format = 'all'`` in adoption. Where the other source has no such row
(it is not loaded, or does not list that person-day), the subset's requests count.
"""

from __future__ import annotations

from datetime import date
from typing import Callable, Sequence

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

USER_DAYS_SCHEMA = (
    "source_format string, user_key string, org_id string, vendor_org string, day date, "
    "feature string, requests bigint, suggestions_shown bigint, accepted bigint, "
    "rejected bigint, dismissed bigint, lines_suggested bigint, lines_accepted bigint, "
    "sessions bigint, prompt_tokens bigint, output_tokens bigint, period_days int"
)

#: Features that push outputs unasked (inline completions): never requested-output usage.
PUSHED_FEATURES = ("code_completion", "completion", "complete")
#: Actions of event rows whose outputs are pushed, not requested.
PUSHED_ACTIONS = ("complete",)
#: Sources that are the same tool seen at two grains (events and aggregates).
FAMILY = {
    "claude_code_otel": "claude_code",
    "claude_code_analytics": "claude_code",
    "cursor_usage_events": "cursor",
    "cursor_daily_usage": "cursor",
    "m365_copilot_audit": "m365_copilot",
    "viva_person_query": "m365_copilot",
    "m365_copilot_reports": "m365_copilot",
    "github_copilot_users": "github_copilot",
    "github_copilot_org_metrics": "github_copilot",
    "github_copilot_org_usage": "github_copilot",
    "github_copilot_enterprise_usage": "github_copilot",
}
NATIVE = "native"
#: Sources whose requests another source already counts, per person, day and kind: the
#: premium requests GitHub bills are requests of its usage-metrics users report.
SUBSET_OF = {"github_copilot_premium_requests": "github_copilot_users"}
#: Activity no person initiated: bots reviewing pull requests (Cursor's Bugbot), coding agents
#: working on an assigned issue, reviews a repository policy triggered (GitHub's "passive" code
#: review users). Matched on an event's ``tool`` or an aggregate's ``feature`` (lower case).
AUTOMATION = r"(^|[_\- ])(bugbot|bot|coding[_\- ]agent|passive[a-z_]*|auto[_\- ]?review|auto[_\- ]triggered[a-z_]*)([_\- ]|$)"
#: the column ``counted_elsewhere`` adds
ELSEWHERE = "_elsewhere"


def source_name(col: Column) -> Column:
    """source_format, or ``native`` for native landing rows (null source_format)."""
    return F.coalesce(col, F.lit(NATIVE))


def is_automation(col: Column) -> Column:
    """True for a tool or feature name that marks activity no person initiated."""
    return F.coalesce(F.lower(col).rlike(AUTOMATION), F.lit(False))


def counted_elsewhere(user_days: DataFrame) -> DataFrame:
    """``user_days`` plus ``_elsewhere``: true on a row of a ``SUBSET_OF`` source when the
    source it is a subset of has a row of the same person (``user_key``), day and kind (own use
    or automation, by ``feature``) in ``user_days``; its requests are then counted there."""
    kind = is_automation(F.col("feature"))
    supersets = sorted(set(SUBSET_OF.values()))
    seen = (
        user_days.where(F.col("source_format").isin(*supersets))
        .select(
            F.col("source_format").alias("_sup"),
            F.col("user_key").alias("_s_user"),
            F.col("day").alias("_s_day"),
            kind.alias("_s_auto"),
        )
        .distinct()
    )
    sup = F.lit(None).cast("string")
    for sub, of in SUBSET_OF.items():
        sup = F.when(F.col("source_format") == F.lit(sub), F.lit(of)).otherwise(sup)
    j = user_days.withColumn("_want", sup).withColumn("_auto_k", kind)
    j = j.join(
        seen,
        (F.col("_want") == F.col("_sup"))
        & (F.col("user_key") == F.col("_s_user"))
        & (F.col("day") == F.col("_s_day"))
        & (F.col("_auto_k") == F.col("_s_auto")),
        "left",
    )
    return j.withColumn(ELSEWHERE, F.col("_sup").isNotNull()).drop(
        "_want", "_auto_k", "_sup", "_s_user", "_s_day", "_s_auto"
    )


def family(col: Column) -> Column:
    """The tool family of a source_format (itself when it has no sibling grain)."""
    expr = source_name(col)
    for src, fam in FAMILY.items():
        expr = F.when(source_name(col) == F.lit(src), F.lit(fam)).otherwise(expr)
    return expr


def week_of(day: Column, period_days: Column) -> Column:
    """ISO week start (Monday) of a user-day; for a person-week row (Sunday start), the Monday
    after it."""
    shift = F.when(period_days == F.lit(7), F.lit(1)).otherwise(F.lit(0))
    return F.date_trunc("week", F.date_add(day, shift)).cast("date")


def _requested(feature: Column) -> Column:
    return ~F.lower(feature).isin(*PUSHED_FEATURES) & ~F.lower(feature).endswith("_subset")


def decided_count() -> Column:
    """accepted + rejected + dismissed of a user-day row; null when none is reported."""
    decided_parts = [F.col(c) for c in ("accepted", "rejected", "dismissed")]
    any_decided = (
        F.col("accepted").isNotNull()
        | F.col("rejected").isNotNull()
        | F.col("dismissed").isNotNull()
    )
    return F.when(any_decided, sum((F.coalesce(c, F.lit(0)) for c in decided_parts), F.lit(0)))


def request_count() -> Column:
    """Requests of a user-day row (``n`` of a usage unit, see module): ``requests``, else for a
    requested-output feature the outputs proposed; null otherwise."""
    return F.when(F.col("requests").isNotNull(), F.col("requests")).when(
        _requested(F.col("feature")), F.coalesce(F.col("suggestions_shown"), decided_count())
    )


def pushed_count() -> Column:
    """Outputs a pushed-output feature (inline completions) put in front of the user on a
    user-day row: ``suggestions_shown``, else the decided outputs, else ``requests``; null for
    any other feature or when nothing is reported."""
    pushed = F.lower(F.col("feature")).isin(*PUSHED_FEATURES)
    return F.when(
        pushed, F.coalesce(F.col("suggestions_shown"), decided_count(), F.col("requests"))
    )


def usage_count() -> Column:
    """Usage of a user-day row in the one unit of the indices (``usage`` of a usage unit, see
    module): the requests of a requested-output feature (:func:`request_count`), the outputs
    shown of a pushed one (:func:`pushed_count`)."""
    return F.coalesce(pushed_count(), request_count())


def usage_units(user_days: DataFrame, start: date, end: date) -> DataFrame:
    """silver/user_days rows of [start, end) with a resolved org -> usage units (see module)."""
    req = _requested(F.col("feature"))
    decided = decided_count()
    unused = F.coalesce(F.col("rejected"), F.lit(0)) + F.coalesce(F.col("dismissed"), F.lit(0))
    reports_refusals = F.col("rejected").isNotNull() | F.col("dismissed").isNotNull()
    n = request_count()
    acceptance = F.when(
        req & reports_refusals & (decided > 0), unused.cast("double") / decided.cast("double")
    ).otherwise(F.lit(None).cast("double"))
    return (
        counted_elsewhere(
            user_days.where(
                F.col("org_id").isNotNull()
                & F.col("user_key").isNotNull()
                & (F.col("day") >= F.lit(start))
                & (F.col("day") < F.lit(end))
                & ~F.lower(F.col("feature")).endswith("_subset")
            )
        )
        .where(~F.col(ELSEWHERE))
        .select(
            "org_id",
            "user_key",
            "source_format",
            family(F.col("source_format")).alias("family"),
            F.col("day"),
            F.coalesce(F.col("period_days"), F.lit(1)).alias("period_days"),
            week_of(F.col("day"), F.coalesce(F.col("period_days"), F.lit(1))).alias("week_start"),
            n.cast("double").alias("n"),
            usage_count().cast("double").alias("usage"),
            acceptance.alias("acceptance"),
        )
        .where(
            F.col("n").isNotNull() | F.col("usage").isNotNull() | F.col("acceptance").isNotNull()
        )
    )


def without_event_grain(units: DataFrame, events: DataFrame) -> DataFrame:
    """Drop aggregate units of (org, user, family) that also have event rows in ``events``
    (org_id, user_key and, if present, source_format): events win, no double counting."""
    src = F.col("source_format") if "source_format" in events.columns else F.lit(None)
    seen = (
        events.where(F.col("org_id").isNotNull())
        .select("org_id", "user_key", family(src.cast("string")).alias("family"))
        .distinct()
    )
    return units.join(seen, on=["org_id", "user_key", "family"], how="left_anti")


#: The ``basis`` of an incentive unit: every unit is one of these (:func:`event_units`,
#: :func:`with_weights`), in sorted order (the order :func:`incentive_users` lists them in).
AGGREGATES_BASIS, EVENTS_BASIS = "aggregates", "events"
BASES = (AGGREGATES_BASIS, EVENTS_BASIS)


def event_units(labels: DataFrame) -> DataFrame:
    """Labelled interactions -> incentive units: n = 1, the interaction's incentive weights and,
    for requested outputs only, the unused-output flag as the acceptance component."""
    requested = ~F.coalesce(F.col("action").isin(*PUSHED_ACTIONS), F.lit(False))
    return labels.where(F.col("org_id").isNotNull()).select(
        "org_id",
        "user_key",
        F.lit(1.0).alias("n"),
        F.col("sig_quota_bunching").alias("w_q"),
        F.col("sig_checkpoint_burst").alias("w_cp"),
        F.when(requested, F.col("sig_unused_output").cast("double")).alias("acceptance"),
        F.lit(EVENTS_BASIS).alias("basis"),
    )


def explained(components: tuple[str, ...] = ("w_q", "w_cp", "acceptance")) -> Column:
    """Noisy-OR of the measured components; null when none is measured."""
    keep, measured = F.lit(1.0), F.lit(False)
    for c in components:
        keep = keep * (F.lit(1.0) - F.coalesce(F.col(c), F.lit(0.0)))
        measured = measured | F.col(c).isNotNull()
    return F.when(measured, F.lit(1.0) - keep).otherwise(F.lit(None).cast("double"))


def incentive_users(units: DataFrame, extra: Sequence[Column] = ()) -> DataFrame:
    """Incentive units (org_id, user_key, n, w_q, w_cp, acceptance, basis) -> per (org, user):
    ``inc_num`` (usage explained), ``inc_den`` (usage with a measured component), ``usage``
    (all usage), ``inc_rows`` (rows with a measured component) and the bases measured.
    ``extra``: more aggregates over the same rows (units with ``n`` > 0), in the same pass.

    ``_bases`` (the bases with a measured component, sorted) is one integer flag per basis of
    ``BASES``, not a ``collect_set``: the engine's set aggregate holds a large state per group,
    about 8 KB (the incentive users alone at 50M, 205,996 groups: +1,683 MB against +311 with
    the flags, and about twice the CPU; benchmarks/RESULTS.md)."""
    p = explained()
    return (
        units.where(F.col("n").isNotNull() & (F.col("n") > 0))
        .withColumn("_p", p)
        .groupBy("org_id", "user_key")
        .agg(
            F.round(F.sum(F.col("n") * F.col("_p")), 9).alias("inc_num"),
            F.sum(F.when(F.col("_p").isNotNull(), F.col("n"))).alias("inc_den"),
            F.sum("n").alias("usage"),
            F.count("_p").alias("inc_rows"),
            measured_bases(F.col("_p").isNotNull()).alias("_bases"),
            *extra,
        )
        .withColumn("inc_num", F.coalesce(F.col("inc_num"), F.lit(0.0)))
        .withColumn("inc_den", F.coalesce(F.col("inc_den"), F.lit(0.0)))
    )


def measured_bases(measured: Column) -> Column:
    """Per group (an aggregate): the sorted array of the ``BASES`` that have a row where
    ``measured`` holds, built from one max of an integer flag per basis: a fixed state per
    group."""
    empty = F.array().cast("array<string>")
    out = empty
    for b in BASES:
        seen = F.max(F.when(measured & (F.col("basis") == b), F.lit(1)))
        out = F.concat(out, F.when(seen == 1, F.array(F.lit(b))).otherwise(empty))
    return out


def with_weights(
    user_weeks: DataFrame | None, checkpoint: DataFrame | None, checkpoint_orgs: list[str]
) -> Callable[[DataFrame], DataFrame]:
    """Aggregate usage units -> incentive units: ``w_q`` from the bunching weights of the
    user-week, ``w_cp`` from the checkpoint weights of the user-day (day rows only; 0 on other
    days of a measured org, null elsewhere and on person-week rows)."""

    def apply(units: DataFrame) -> DataFrame:
        df = units
        if user_weeks is not None:
            df = df.join(
                F.broadcast(
                    user_weeks.select(
                        "org_id",
                        "user_key",
                        F.col("_week").alias("week_start"),
                        F.col("sig_quota_bunching").alias("w_q"),
                    )
                ),
                on=["org_id", "user_key", "week_start"],
                how="left",
            )
        else:
            df = df.withColumn("w_q", F.lit(None).cast("double"))
        if checkpoint is not None and checkpoint_orgs:
            m = df.sparkSession.createDataFrame([(o,) for o in checkpoint_orgs], "_m_org string")
            cp = checkpoint.select(
                "org_id",
                "user_key",
                F.col("event_date").alias("day"),
                F.col("sig_checkpoint_burst").alias("_cp"),
            )
            df = (
                df.join(F.broadcast(cp), on=["org_id", "user_key", "day"], how="left")
                .join(F.broadcast(m), on=F.col("org_id") == F.col("_m_org"), how="left")
                .withColumn(
                    "w_cp",
                    F.when(
                        F.col("_m_org").isNotNull() & (F.col("period_days") == 1),
                        F.coalesce(F.col("_cp"), F.lit(0.0)),
                    ).otherwise(F.lit(None).cast("double")),
                )
                .drop("_m_org", "_cp")
            )
        else:
            df = df.withColumn("w_cp", F.lit(None).cast("double"))
        # an incentive unit weighs its usage in the one unit of the indices (pushed
        # completions shown count, as each completion event does), not its requests
        return df.select(
            "org_id",
            "user_key",
            F.col("usage").alias("n"),
            "w_q",
            "w_cp",
            "acceptance",
            F.lit(AGGREGATES_BASIS).alias("basis"),
        )

    return apply


# ------------------------------------------------------------------- org-day aggregates
#: Why an org whose only usage is org-day aggregates has no theater share.
NOT_MEASURABLE_ORG_LEVEL = (
    "org-level aggregates only: the org's sources ({sources}) count the active people, "
    "requests and acceptances of the whole org per day, never one person's usage, which every "
    "measure of the theater share rests on"
)
NOT_MEASURABLE_NO_VOLUME = (
    "no usage volume measured: the org's sources ({sources}) report sessions or tokens for its "
    "people but no request, output shown or accept/reject decision, which every measure of the "
    "theater share rests on"
)


def org_day_rows(org_days: DataFrame, start: date, end: date) -> DataFrame:
    """silver/org_days rows of [start, end) with an org -> per row the counts in activity
    terms: ``_daily`` (a one-day row), ``_any_active`` (people active on the row),
    ``_active`` (people active that day, from a daily ``all`` row; else null), ``requests``
    (``request_count``: pushed completions are not requests), ``accepted``, ``offered``
    (suggestions shown, else the decided outputs), ``_auto`` (automation feature). A 7- or
    28-day window overlaps the days around it: its counts are never added to daily ones
    (``org_day_sources``). ``*_subset`` features repeat other counts and are left out."""
    od = org_days
    for c in ("rejected", "dismissed"):
        if c not in od.columns:
            od = od.withColumn(c, F.lit(None).cast("long"))
    return od.where(
        F.col("org_id").isNotNull()
        & (F.col("day") >= F.lit(start))
        & (F.col("day") < F.lit(end))
        & ~F.lower(F.col("feature")).endswith("_subset")
    ).select(
        "org_id",
        "source_format",
        "day",
        (F.coalesce(F.col("period_days"), F.lit(1)) == 1).alias("_daily"),
        F.when(
            (F.lower(F.col("feature")) == "all")
            & (F.coalesce(F.col("period_days"), F.lit(1)) == 1),
            F.col("active_users"),
        )
        .cast("long")
        .alias("_active"),
        F.col("active_users").cast("long").alias("_any_active"),
        is_automation(F.col("feature")).alias("_auto"),
        request_count().cast("long").alias("requests"),
        F.col("accepted").cast("long").alias("accepted"),
        F.coalesce(F.col("suggestions_shown"), decided_count()).cast("long").alias("offered"),
    )


def org_day_sources(rows: DataFrame) -> DataFrame:
    """``org_day_rows`` -> one row per (org, source_format): ``peak_active`` (the largest
    count of people active on one row of the period, a day or a window, any feature: a lower
    bound of the people active, the report's org-level rule), ``active_days`` (people active
    per day summed over the days: person-days; null unless every day with a daily row has the
    ``all`` count), and over the daily rows only ``requests``, ``accepted``, ``offered``,
    ``automation_requests`` (sums of the known values; null when no row reports one)."""
    own = ~F.col("_auto") & F.col("_daily")
    auto = F.col("_auto") & F.col("_daily")
    return rows.groupBy("org_id", "source_format").agg(
        F.max("_any_active").alias("peak_active"),
        F.when(
            F.countDistinct(F.when(F.col("_active").isNotNull(), F.col("day")))
            == F.countDistinct(F.when(F.col("_daily"), F.col("day"))),
            F.sum("_active"),
        )
        .cast("long")
        .alias("active_days"),
        F.sum(F.when(own, F.col("requests"))).cast("long").alias("requests"),
        F.sum(F.when(own, F.col("accepted"))).cast("long").alias("accepted"),
        F.sum(F.when(own, F.col("offered"))).cast("long").alias("offered"),
        F.sum(F.when(auto, F.col("requests"))).cast("long").alias("automation_requests"),
    )


def org_level_orgs(org_days: DataFrame, start: date, end: date, min_users: int) -> DataFrame:
    """Per org of silver/org_days in [start, end): ``_peak`` (the largest daily count of
    active people over its org-day sources), ``sources`` and the suppression: an org whose size
    is unknown (no daily count of active people) or below ``min_users`` is suppressed
    (``min_users``), as the report's org-level table decides. One person's share cannot be seen
    at this grain, so dominance is never decided here."""
    per = org_day_sources(org_day_rows(org_days, start, end))
    reason = F.when(
        F.col("_peak").isNull() | (F.col("_peak") < min_users), F.lit("min_users")
    ).cast("string")
    return (
        per.groupBy("org_id")
        .agg(
            F.max("peak_active").alias("_peak"),
            F.array_sort(F.collect_set("source_format")).alias("sources"),
        )
        .withColumn("suppression_reason", reason)
        .withColumn("suppressed", F.col("suppression_reason").isNotNull())
    )


def active_orgs_without_volume(
    user_days: DataFrame, index_orgs: DataFrame, min_users: int
) -> DataFrame:
    """Orgs of ``user_days`` (the period's silver/user_days rows with an org) whose people
    reported some use of their own (requests, outputs, decisions, sessions or tokens: what
    adoption counts as a use) but that ``index_orgs`` (org_id) does not hold: their exports gave
    no usage unit, e.g. Claude Code analytics with sessions and tokens but no edit decided.
    Per org ``_peak`` (the active people), ``sources`` and the suppression (``min_users``, as
    adoption decides it); dominance needs a usage volume and is not decided."""
    reported = F.greatest(
        *(
            F.coalesce(F.col(c), F.lit(0))
            for c in (
                "requests",
                "suggestions_shown",
                "accepted",
                "rejected",
                "dismissed",
                "sessions",
                "prompt_tokens",
                "output_tokens",
            )
        )
    )
    used = user_days.where(
        F.col("org_id").isNotNull()
        & F.col("user_key").isNotNull()
        & ~F.lower(F.col("feature")).endswith("_subset")
        & ~is_automation(F.col("feature"))
        & (reported > 0)
    )
    reason = F.when(F.col("_peak") < min_users, F.lit("min_users")).cast("string")
    return (
        used.join(index_orgs, "org_id", "left_anti")
        .groupBy("org_id")
        .agg(
            F.countDistinct("user_key").alias("_peak"),
            F.array_sort(F.collect_set("source_format")).alias("sources"),
        )
        .withColumn("suppression_reason", reason)
        .withColumn("suppressed", F.col("suppression_reason").isNotNull())
    )


def with_org_level_orgs(
    index: DataFrame,
    orgs: DataFrame,
    period_start: date,
    period_end: date,
    run_id: str,
    estimate: DataFrame | None = None,
    basis: str = "org_aggregates",
    confidence: float = 0.90,
    template: str = NOT_MEASURABLE_ORG_LEVEL,
    people: bool = False,
) -> DataFrame:
    """``index`` (the org rows of gold/org_theater_index, before the incentive columns) plus
    one row for each org of ``orgs`` (``org_level_orgs``) it does not hold. An org ``index``
    holds (person-level data) that ``orgs`` holds too lists the org-day sources beside its own
    in ``sources`` (every source that counted the org's usage in the period), unless it is
    suppressed. With ``estimate``
    (org_id, _ol_share, _ol_low, _ol_high, _ol_reason: shares,
    :func:`theater.signals.org_acceptance.org_estimate`) an org that has one publishes it as
    its index (``index_basis`` = ``basis``, the interval never zero-width); otherwise no
    figure, the index basis ``none`` and why the share cannot be measured (``template``, its
    ``{sources}`` the org's sources). With ``people``, ``_peak`` counts the org's people (not
    one day's) and is its ``n_users``. A suppressed org gets no figure at all. Every other
    column is a typed null."""
    from .score import nonzero_width

    spark = index.sparkSession
    if estimate is None:
        estimate = spark.createDataFrame(
            [],
            "org_id string, _ol_share double, _ol_low double, _ol_high double, _ol_reason string",
        )
    both = F.col("_ol_src").isNotNull() & ~F.coalesce(F.col("suppressed"), F.lit(False))
    listed = F.array_sort(
        F.array_distinct(
            F.concat(
                F.coalesce(F.col("sources"), F.array().cast("array<string>")), F.col("_ol_src")
            )
        )
    )
    index = (
        index.join(orgs.select("org_id", F.col("sources").alias("_ol_src")), "org_id", "left")
        .withColumn("sources", F.when(both, listed).otherwise(F.col("sources")))
        .select(*index.columns)
    )
    new = orgs.join(index.select("org_id"), "org_id", "left_anti").join(estimate, "org_id", "left")
    keep = ~F.col("suppressed")
    pub = keep & F.col("_ol_share").isNotNull()
    reason = F.concat(
        F.lit(template.split("{sources}")[0]),
        F.array_join(F.col("sources"), ", "),
        F.lit(template.split("{sources}")[1]),
    )
    reason = F.when(
        F.col("_ol_reason").isNotNull(), F.concat_ws("; ", reason, F.col("_ol_reason"))
    ).otherwise(reason)
    ix, lo, hi = nonzero_width(
        F.col("_ol_share"), F.col("_ol_low"), F.col("_ol_high"), F.col("_peak"), confidence
    )
    given = {
        "org_id": F.col("org_id"),
        "period_start": F.lit(period_start),
        "period_end": F.lit(period_end),
        "theater_index": F.when(pub, ix),
        "ci_low": F.when(pub, lo),
        "ci_high": F.when(pub, hi),
        "suppressed": F.col("suppressed"),
        "suppression_reason": F.col("suppression_reason"),
        "n_users": F.when(keep, F.col("_peak")) if people else F.lit(None),
        "not_measurable_reason": F.when(keep & ~pub, reason),
        "index_basis": F.when(pub, F.lit(basis)).when(keep, F.lit("none")),
        "sources": F.when(keep, F.col("sources")),
        "run_id": F.lit(run_id),
    }
    cols = [
        given.get(f.name, F.lit(None)).cast(f.dataType).alias(f.name) for f in index.schema.fields
    ]
    return index.unionByName(new.select(*cols))
