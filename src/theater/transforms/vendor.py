"""Pure transforms for vendor exports, bronze -> silver (the refine side).

Identities
    ``identity_map`` turns ``bronze/identities`` into one row per normalized alias;
    ``resolve_identities`` adds to vendor rows the directory ``user_id`` they belong to
    (``_resolved_id``, still raw: it is hashed into ``user_key`` before anything is written) and
    ``_identity_status``:

    - ``directory``: the alias IS a directory user_id (no mapping needed);
    - ``mapped``: ``bronze/identities`` maps it to exactly one user_id (latest delivery of the
      alias wins);
    - ``shared``: a shared service principal: ``shared = true`` in identities, or an AWS IAM role
      ARN (``arn:aws:sts::<acct>:assumed-role/<role>/<session>``, ``arn:aws:iam::<acct>:role/...``)
      that identities do not map to a person. Left out of every per-user figure;
    - ``ambiguous``: the latest delivery maps the alias to more than one user_id. Never guessed:
      the alias resolves to no one and its rows are counted as ``rows_ambiguous``;
    - ``conflicting``: the alias IS a directory user_id but identities map it to another person
      (or to several). The two sources disagree and neither is guessed: it resolves to no one
      and its rows are counted as ``rows_conflicting``;
    - ``unknown_user``: identities map the alias to exactly one user_id that the directory does
      not have. Kept under that user_id (as a native row of a user missing from the directory
      is: the org comes from the row or stays unresolved) and counted, since the mapping or the
      directory is out of date;
    - ``unmapped``: none of the above. The row does not reach silver; it is counted.

    Conflicts are data-quality findings: counted per format and alias kind in
    ``ops/identity_coverage`` (``ambiguous``, ``conflicting``, ``unknown_user`` aliases and the
    rows left out for the first two), warned about in the run, and checked by the
    ``ops/identity_coverage`` suite (warnings). People who reach one format through several
    aliases of one kind (two GitHub logins) are summed as one person, which is the point of
    the mapping; ``several_aliases`` counts them so that it is visible.

    Aliases compare after ``normalize_identity``: trimmed, and case-insensitively when they
    contain ``@`` (e-mail addresses, UPNs); other ids (logins, UUIDs, ARNs) are case-sensitive.
    Native rows (``source_format`` null) pass through unchanged (status ``native``).

Folding ``interaction_updates`` (``claude_code_otel``)
    ``fold_updates`` is the Spark twin of ``sources.exports.formats.claude_code_otel.fold_updates``.

Aggregates
    ``latest_aggregate_delivery``: rows of one delivery (file, batch) sharing a key are parts of
    one figure and are summed (unknown + unknown = unknown); between deliveries the latest
    (``_ingested_at``, then content hash) wins whole: duplicates are never summed.
"""

from __future__ import annotations

from typing import Callable

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from ..sources.exports.rows import ORG_DAY_COUNTS, USER_DAY_COUNTS
from .contract import parse_date, parse_timestamp
from .refine import content_hash, normalize_identity, pseudonym

#: an AWS role session / role ARN: a workload identity, not a person (unless identities map it)
ROLE_ARN = r"^arn:aws[a-z-]*:(sts::[0-9]*:assumed-role/|iam::[0-9]*:role/)"
RESOLVED = ("directory", "mapped", "unknown_user")
UNMAPPED = ("unmapped",)
#: aliases whose mappings contradict themselves or the directory: they resolve to no one
CONFLICTS = ("ambiguous", "conflicting")
#: An alias neither the directory nor identities know, whose export gives its org (Viva's
#: ``Organization``, GitHub team membership): kept as its own person (``with_export_orgs``).
EXPORT = "export"
#: user_days rows that only say which team (org) a user belongs to on a day; no usage.
MEMBERSHIP_FEATURE = "team_membership"

SILVER_USER_DAY_COLUMNS = [
    "source_format",
    "user_key",
    "org_id",
    "vendor_org",
    "day",
    "feature",
    *USER_DAY_COUNTS,
    "period_days",
    "cost_usd",
]
SILVER_ORG_DAY_COLUMNS = [
    "source_format",
    "org_id",
    "day",
    "feature",
    *ORG_DAY_COUNTS,
    "period_days",
]
COVERAGE_COUNTS = (
    "aliases",
    "mapped",
    "unmapped",
    "shared",
    "rows_unmapped",
    "rows_shared",
    "ambiguous",
    "conflicting",
    "unknown_user",
    "rows_ambiguous",
    "rows_conflicting",
    "several_aliases",
)
COVERAGE_SCHEMA = (
    "run_id string, period_start date, period_end date, source_format string, "
    "alias_kind string, " + ", ".join(f"{c} bigint" for c in COVERAGE_COUNTS)
)


# ----------------------------------------------------------------------------- identities


def identity_map(identities: DataFrame) -> DataFrame:
    """``bronze/identities`` -> ``_alias_norm, _map_id, _map_shared, _map_ambiguous``, one row per
    normalized alias. Only the alias's latest delivery (``_ingested_at``) counts; within it, a
    ``shared`` flag on any row wins, and more than one distinct user_id makes it ambiguous."""
    shared = (
        F.lower(F.trim(F.col("shared"))) == "true"
        if "shared" in identities.columns
        else F.lit(False)
    )
    uid = F.trim(F.col("user_id"))
    ids = identities.select(
        normalize_identity(F.col("alias")).alias("_alias_norm"),
        F.when(uid != "", uid).alias("_uid"),
        F.coalesce(shared, F.lit(False)).alias("_shared"),
        "_ingested_at",
    ).where(F.col("_alias_norm").isNotNull() & (F.col("_alias_norm") != ""))
    w = Window.partitionBy("_alias_norm")
    latest = (
        ids.withColumn("_latest", F.max("_ingested_at").over(w))
        .where(F.col("_ingested_at") == F.col("_latest"))
        .drop("_latest")
    )
    users = F.array_distinct(F.collect_list(normalize_identity(F.col("_uid"))))
    return (
        latest.groupBy("_alias_norm")
        .agg(
            F.max(F.col("_shared").cast("int")).alias("_s"),
            F.min("_uid").alias("_map_id"),
            F.size(users).alias("_n"),
        )
        .select(
            "_alias_norm",
            F.when(F.col("_n") == 1, F.col("_map_id")).alias("_map_id"),
            (F.col("_s") == 1).alias("_map_shared"),
            (F.col("_n") > 1).alias("_map_ambiguous"),
        )
    )


def directory_ids(directory: DataFrame) -> DataFrame:
    """Raw directory user_ids (``bronze/directory``) -> ``_alias_norm, _dir_id``."""
    d = directory.select(F.trim("user_id").alias("_id")).where(
        F.col("_id").isNotNull() & (F.col("_id") != "")
    )
    return d.groupBy(normalize_identity(F.col("_id")).alias("_alias_norm")).agg(
        F.min("_id").alias("_dir_id")
    )


def resolve_identities(
    idmap: DataFrame, dir_ids: DataFrame, alias_col: str = "user_id"
) -> Callable[[DataFrame], DataFrame]:
    """Add ``_alias_norm``, ``_resolved_id`` and ``_identity_status`` (see the module docstring)
    to rows with ``source_format`` and ``alias_col``; native rows get status ``native`` and
    their own id."""

    # directory user_ids a mapping may point to
    known = dir_ids.select(F.col("_alias_norm").alias("_map_norm"), F.lit(True).alias("_known"))

    def apply(df: DataFrame) -> DataFrame:
        vendor = F.col("source_format").isNotNull()
        out = (
            df.withColumn("_alias_norm", normalize_identity(F.col(alias_col)))
            .join(F.broadcast(idmap), "_alias_norm", "left")
            .join(F.broadcast(dir_ids), "_alias_norm", "left")
            .withColumn("_map_norm", normalize_identity(F.col("_map_id")))
            .join(F.broadcast(known), "_map_norm", "left")
        )
        ambiguous = F.coalesce(F.col("_map_ambiguous"), F.lit(False))
        mapped_elsewhere = F.col("_map_id").isNotNull() & (
            F.col("_map_norm") != F.col("_alias_norm")
        )
        status = (
            F.when(~vendor, F.lit("native"))
            .when(F.col("_alias_norm").isNull() | (F.col("_alias_norm") == ""), F.lit("unmapped"))
            .when(F.coalesce(F.col("_map_shared"), F.lit(False)), F.lit("shared"))
            .when(
                F.col("_dir_id").isNotNull() & (ambiguous | mapped_elsewhere), F.lit("conflicting")
            )
            .when(F.col("_dir_id").isNotNull(), F.lit("directory"))
            .when(F.col("_map_id").isNotNull() & F.col("_known").isNull(), F.lit("unknown_user"))
            .when(F.col("_map_id").isNotNull(), F.lit("mapped"))
            .when(ambiguous, F.lit("ambiguous"))  # mapped, to several people: not a workload
            .when(F.col("_alias_norm").rlike(ROLE_ARN), F.lit("shared"))
            .otherwise(F.lit("unmapped"))
        )
        resolved = (
            F.when(~vendor, F.col(alias_col))
            .when(status == "directory", F.col("_dir_id"))
            .when(status.isin("mapped", "unknown_user"), F.col("_map_id"))
        )
        return (
            out.withColumn("_identity_status", status)
            .withColumn("_resolved_id", resolved)
            .drop("_map_id", "_map_shared", "_map_ambiguous", "_dir_id", "_map_norm", "_known")
        )

    return apply


def coverage_aliases(rows: DataFrame) -> DataFrame:
    """Distinct-alias counts per (source_format, alias_kind) from resolved vendor rows with
    ``user_alias_kind``, ``_alias_norm``, ``_identity_status``. Counts only."""
    v = rows.where(F.col("source_format").isNotNull())

    def distinct_where(cond: Column) -> Column:
        return F.count_distinct(F.when(cond, F.col("_alias_norm")))

    st = F.col("_identity_status")
    return v.groupBy("source_format", F.col("user_alias_kind").alias("alias_kind")).agg(
        F.count_distinct("_alias_norm").alias("aliases"),
        distinct_where(st.isin(*RESOLVED, EXPORT)).alias("mapped"),
        distinct_where(st.isin(*UNMAPPED)).alias("unmapped"),
        distinct_where(st == "shared").alias("shared"),
        *[distinct_where(st == c).alias(c) for c in (*CONFLICTS, "unknown_user")],
    )


def coverage_rows(rows: DataFrame) -> DataFrame:
    """Row counts left out per (source_format, alias_kind), by reason: unmapped, shared,
    ambiguous, conflicting."""
    v = rows.where(F.col("source_format").isNotNull())
    st = F.col("_identity_status")
    return v.groupBy("source_format", F.col("user_alias_kind").alias("alias_kind")).agg(
        F.sum(st.isin(*UNMAPPED).cast("long")).alias("rows_unmapped"),
        F.sum((st == "shared").cast("long")).alias("rows_shared"),
        *[F.sum((st == c).cast("long")).alias(f"rows_{c}") for c in CONFLICTS],
    )


def several_aliases(resolved: DataFrame) -> DataFrame:
    """People reached through more than one alias of one kind, per (source_format, alias_kind),
    from resolved vendor rows (``_alias_norm``, ``_resolved_id``, ``_identity_status``)."""
    v = resolved.where(
        F.col("source_format").isNotNull() & F.col("_identity_status").isin(*RESOLVED)
    )
    per_person = v.groupBy(
        "source_format", F.col("user_alias_kind").alias("alias_kind"), "_resolved_id"
    ).agg(F.count_distinct("_alias_norm").alias("_n"))
    return per_person.groupBy("source_format", "alias_kind").agg(
        F.sum((F.col("_n") > 1).cast("long")).alias("several_aliases")
    )


def identity_coverage(
    aliases: DataFrame, rows: DataFrame, several: DataFrame | None = None
) -> DataFrame:
    """``coverage_aliases`` joined with ``coverage_rows`` and ``several_aliases`` (missing
    counts are 0: counted)."""
    out = aliases.join(rows, ["source_format", "alias_kind"], "full")
    if several is not None:
        out = out.join(several, ["source_format", "alias_kind"], "left")
    else:
        out = out.withColumn("several_aliases", F.lit(0))
    return out.select(
        "source_format",
        "alias_kind",
        *[F.coalesce(F.col(c), F.lit(0)).cast("long").alias(c) for c in COVERAGE_COUNTS],
    )


# ----------------------------------------------------------------------------- updates


def _dedup_updates(updates: DataFrame) -> DataFrame:
    """One row per (source_format, update_id): a re-delivered file adds nothing; between
    conflicting deliveries the latest wins (then the content hash). A table written before
    updates carried a cost gets ``cost_usd`` null (unknown)."""
    if "cost_usd" not in updates.columns:
        updates = updates.withColumn("cost_usd", F.lit(None).cast("double"))
    cols = [
        "source_format",
        "event_id",
        "update_id",
        "event_ts",
        "prompt_tokens",
        "completion_tokens",
        "model",
        "output_disposition",
        "cost_usd",
    ]
    u = updates.withColumn("_h", content_hash(cols))
    w = Window.partitionBy("source_format", "update_id").orderBy(
        F.col("_ingested_at").desc(), F.col("_h").desc()
    )
    return u.withColumn("_rn", F.row_number().over(w)).where("_rn = 1").drop("_rn", "_h")


def fold_aggregates(updates: DataFrame) -> DataFrame:
    """``bronze/interaction_updates`` -> one row per (source_format, event_id): ``_f_requests``
    (api_request updates), ``_f_prompt_tokens``/``_f_completion_tokens``/``_f_cost_usd`` (sums
    of the known values, null when none), ``_f_model`` (model of the first api_request with a model, by
    (event_ts, update_id)), ``_f_disposition`` (accepted if any accept, else discarded if any
    reject, else null). An update with ``output_disposition`` is a tool_decision, the others
    api_requests."""
    u = _dedup_updates(updates)
    is_req = F.col("output_disposition").isNull()
    ts = parse_timestamp(F.col("event_ts"))
    model_first = F.sort_array(
        F.collect_list(
            F.when(
                is_req & F.col("model").isNotNull(),
                F.struct(ts.alias("t"), F.col("update_id").alias("u"), F.col("model").alias("m")),
            )
        )
    )
    disp = F.collect_set("output_disposition")
    return (
        u.groupBy("source_format", "event_id")
        .agg(
            F.sum(is_req.cast("long")).alias("_f_requests"),
            F.sum(F.when(is_req, F.col("prompt_tokens"))).cast("long").alias("_f_prompt_tokens"),
            F.sum(F.when(is_req, F.col("completion_tokens")))
            .cast("long")
            .alias("_f_completion_tokens"),
            F.sum(F.when(is_req, F.col("cost_usd"))).cast("double").alias("_f_cost_usd"),
            model_first.alias("_models"),
            disp.alias("_disp"),
        )
        .select(
            "source_format",
            "event_id",
            "_f_requests",
            "_f_prompt_tokens",
            "_f_completion_tokens",
            "_f_cost_usd",
            F.when(F.size("_models") > 0, F.col("_models")[0]["m"]).alias("_f_model"),
            F.when(F.array_contains("_disp", "accepted"), F.lit("accepted"))
            .when(F.array_contains("_disp", "discarded"), F.lit("discarded"))
            .alias("_f_disposition"),
        )
    )


def fold_updates(updates: DataFrame) -> Callable[[DataFrame], DataFrame]:
    """Apply folded updates to interaction rows (``source_format, event_id, prompt_tokens,
    completion_tokens, model, output_disposition`` and, when the rows have it, ``cost_usd``), as
    ``claude_code_otel.fold_updates``: tokens, model and cost are replaced when the prompt has api_requests; the disposition when it has
    a decision; rows without updates are unchanged."""
    agg = fold_aggregates(updates)

    def apply(df: DataFrame) -> DataFrame:
        j = df.join(agg, ["source_format", "event_id"], "left")
        has_req = F.coalesce(F.col("_f_requests"), F.lit(0)) > 0
        cols = []
        for c in df.columns:
            if c in ("prompt_tokens", "completion_tokens", "model", "cost_usd"):
                cols.append(F.when(has_req, F.col(f"_f_{c}")).otherwise(F.col(c)).alias(c))
            elif c == "output_disposition":
                cols.append(F.coalesce(F.col("_f_disposition"), F.col(c)).alias(c))
            else:
                cols.append(F.col(c))
        return j.select(*cols)

    return apply


def orphan_updates(updates: DataFrame, prompts: DataFrame) -> DataFrame:
    """Updates (deduplicated) whose (source_format, event_id) has no prompt row: counted, never
    turned into events."""
    keys = prompts.select("source_format", "event_id").where(F.col("source_format").isNotNull())
    return _dedup_updates(updates).join(keys.distinct(), ["source_format", "event_id"], "left_anti")


# ----------------------------------------------------------------------------- aggregates


def latest_aggregate_delivery(
    keys: list[str], counts: tuple[str, ...], carried: dict[str, Column]
) -> Callable[[DataFrame], DataFrame]:
    """One row per ``keys``. Rows of one delivery (``_source_file, _batch_id, _ingested_at``)
    sharing the key are parts of one figure: counts summed (null only when no part reports
    it), ``carried`` columns aggregated as given (e.g. ``F.min``). Between deliveries the one
    with the latest ``_ingested_at`` wins whole, ties broken by the content hash of the
    delivery's figures (larger wins): deterministic, and duplicates are never summed."""

    def apply(df: DataFrame) -> DataFrame:
        delivery = ["_source_file", "_batch_id", "_ingested_at"]
        parts = df.groupBy(*keys, *delivery).agg(
            *[F.sum(c).cast("long").alias(c) for c in counts],
            *[agg.alias(name) for name, agg in carried.items()],
        )
        content = [*keys, *counts, *carried]
        parts = parts.withColumn("_h", content_hash(content))
        w = Window.partitionBy(*keys).orderBy(F.col("_ingested_at").desc(), F.col("_h").desc())
        return parts.withColumn("_rn", F.row_number().over(w)).where("_rn = 1").drop("_rn", "_h")

    return apply


def org_as_of(
    directory: DataFrame, date_col: str, keys: list[str]
) -> Callable[[DataFrame], DataFrame]:
    """Set ``org_id`` from the directory row (``user_key, org_id, valid_from, valid_to``;
    valid_to exclusive, null = current) covering ``date_col``; overlapping rows: the latest
    valid_from wins; none: null. ``keys`` identify a row of the input."""

    def apply(df: DataFrame) -> DataFrame:
        d = directory.select(
            F.col("user_key").alias("_d_user"),
            F.col("org_id").alias("_d_org"),
            F.col("valid_from").alias("_d_from"),
            F.col("valid_to").alias("_d_to"),
        )
        cover = (
            (F.col("user_key") == F.col("_d_user"))
            & (F.col(date_col) >= F.col("_d_from"))
            & (F.col("_d_to").isNull() | (F.col(date_col) < F.col("_d_to")))
        )
        j = df.drop("org_id").join(d, on=cover, how="left")
        w = Window.partitionBy(*keys).orderBy(
            F.col("_d_from").desc_nulls_last(), F.col("_d_org").asc_nulls_last()
        )
        return (
            j.withColumn("_rn", F.row_number().over(w))
            .where("_rn = 1")
            .withColumn("org_id", F.col("_d_org"))
            .drop("_rn", "_d_user", "_d_org", "_d_from", "_d_to")
        )

    return apply


def resolved_user_days(bronze: DataFrame, idmap: DataFrame, dir_ids: DataFrame) -> DataFrame:
    """``bronze/user_days`` with identities resolved, ``day`` typed (``_day`` date) and the
    org the export gives (``with_export_orgs``)."""
    return (
        bronze.transform(resolve_identities(idmap, dir_ids))
        .withColumn("_day", parse_date(F.col("day")))
        .transform(with_export_orgs)
    )


def with_export_orgs(resolved: DataFrame) -> DataFrame:
    """Add ``_export_org``, the org the export itself gives a user-day row: the row's own
    ``org_id`` (Viva's ``Organization``), else the team of a membership row
    (``MEMBERSHIP_FEATURE``, GitHub's user-teams report) of the same alias on the same day,
    else of the alias's latest membership day among the rows given. A user in several teams
    on one day gets the first team slug in sort order (deterministic; a directory decides
    better). An ``unmapped`` alias with an export org becomes ``export``: kept as its own
    person (``_resolved_id`` = the normalized alias, hashed like any id)."""
    own = F.trim(F.col("org_id"))
    m = resolved.where(
        (F.col("feature") == MEMBERSHIP_FEATURE) & (F.trim(F.col("org_id")) != "")
    ).select("_alias_norm", F.col("_day").alias("_m_day"), own.alias("_m_org"))
    same_day = m.groupBy("_alias_norm", "_m_day").agg(F.min("_m_org").alias("_m_same"))
    latest = (
        m.groupBy("_alias_norm", "_m_day")
        .agg(F.min("_m_org").alias("_m_org"))
        .groupBy("_alias_norm")
        .agg(F.max_by("_m_org", "_m_day").alias("_m_latest"))
    )
    out = (
        resolved.join(
            same_day,
            (resolved["_alias_norm"] == same_day["_alias_norm"])
            & (resolved["_day"] == same_day["_m_day"]),
            "left",
        )
        .drop(same_day["_alias_norm"])
        .drop("_m_day")
        .join(latest, "_alias_norm", "left")
    )
    export = F.coalesce(F.when(own != "", own), F.col("_m_same"), F.col("_m_latest"))
    st = F.col("_identity_status")
    is_export = (st == "unmapped") & export.isNotNull()
    # the id first: the status test reads the status before it changes
    return (
        out.withColumn("_export_org", export)
        .withColumn(
            "_resolved_id",
            F.when(is_export, F.col("_alias_norm")).otherwise(F.col("_resolved_id")),
        )
        .withColumn("_identity_status", F.when(is_export, F.lit(EXPORT)).otherwise(st))
        .drop("_m_same", "_m_latest")
    )


def _cost_usd(df: DataFrame) -> Column:
    """The vendor-reported cost column; null for a bronze table written before it existed."""
    return F.col("cost_usd") if "cost_usd" in df.columns else F.lit(None).cast("double")


def clean_user_days(
    resolved: DataFrame, key: bytes, directory: DataFrame, *, with_source: bool = False
) -> DataFrame:
    """Resolved user-day rows (``resolved_user_days``, already limited to the period) ->
    ``silver/user_days`` rows: resolved identities and ``export`` ones, no membership rows,
    latest delivery per (source_format, user, day, feature), ``user_key`` = HMAC of the
    directory user_id (of the alias for ``export``). ``org_id``: the directory's as of
    ``day`` (a person-week's: as of the Monday after its Sunday start) when it has one (a directory wins), else the org the export gives
    (``_export_org``), else null. Never expanded into events. ``with_source``: add
    ``org_source`` (``directory``, ``export`` or null) for the run summary."""
    r = (
        resolved.where(F.col("_identity_status").isin(*RESOLVED, EXPORT))
        .where(F.col("feature") != MEMBERSHIP_FEATURE)
        .withColumn("user_key", pseudonym(F.col("_resolved_id"), key))
        .withColumn("day", F.col("_day"))
    )
    keys = ["source_format", "user_key", "day", "feature"]
    dedup = r.transform(
        latest_aggregate_delivery(
            keys,
            USER_DAY_COUNTS,
            {
                "vendor_org": F.min("vendor_org"),
                "period_days": F.max("period_days").cast("int"),
                "_export_org": F.min("_export_org"),
                # the vendor's own cost (USD): parts add like counts; null when none reports it
                "cost_usd": F.sum(_cost_usd(resolved)).cast("double"),
            },
        )
    )
    # a person-week (Viva's, starting on Sunday) counts for the ISO week holding six of its
    # seven days (aggregates.week_of): its org is the directory's on that week's Monday, so a
    # person who moves on the Monday has the week in the org they spent it in
    org_day = F.when(F.col("period_days") == F.lit(7), F.date_add(F.col("day"), 1)).otherwise(
        F.col("day")
    )
    out = (
        dedup.withColumn("org_id", F.lit(None).cast("string"))
        .withColumn("_org_day", org_day)
        .transform(org_as_of(directory, "_org_day", keys))
        .drop("_org_day")
        .withColumn(
            "org_source",
            F.when(F.col("org_id").isNotNull(), F.lit("directory")).when(
                F.col("_export_org").isNotNull(), F.lit(EXPORT)
            ),
        )
        .withColumn("org_id", F.coalesce(F.col("org_id"), F.col("_export_org")))
    )
    return out.select(*SILVER_USER_DAY_COLUMNS, *(["org_source"] if with_source else []))


def user_days_left_out(resolved: DataFrame) -> DataFrame:
    """Unresolved user-day rows, deduplicated like kept ones (per alias): for the counts."""
    r = resolved.where(~F.col("_identity_status").isin(*RESOLVED, EXPORT)).withColumn(
        "day", F.col("_day")
    )
    keys = ["source_format", "user_alias_kind", "_alias_norm", "day", "feature"]
    return r.transform(
        latest_aggregate_delivery(keys, (), {"_identity_status": F.min("_identity_status")})
    )


def clean_org_days(bronze: DataFrame) -> DataFrame:
    """``bronze/org_days`` (already limited to the period) -> ``silver/org_days``: org_id = the
    vendor org (folder org), latest delivery per (source_format, org_id, day, feature)."""
    o = (
        bronze.withColumn("org_id", F.trim("vendor_org"))
        .withColumn("org_id", F.when(F.col("org_id") != "", F.col("org_id")))
        .withColumn("day", parse_date(F.col("day")))
    )
    keys = ["source_format", "org_id", "day", "feature"]
    dedup = o.transform(
        latest_aggregate_delivery(
            keys, ORG_DAY_COUNTS, {"period_days": F.max("period_days").cast("int")}
        )
    )
    return dedup.select(*SILVER_ORG_DAY_COLUMNS)
