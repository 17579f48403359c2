"""Pure transforms from bronze to silver: typing, deduplication, pseudonyms, org, sessions."""

from __future__ import annotations

import hashlib
from typing import Callable

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

_BLOCK = 64  # SHA-256 block size in bytes


def hmac_sha256_hex(value: Column, key: bytes) -> Column:
    """HMAC-SHA256(key, value) as 64 lowercase hex digits, in plain Spark SQL.

    HMAC(K, m) = H((K' xor opad) || H((K' xor ipad) || m)) with K' the key padded to the block
    size (hashed first when longer). Null stays null. Works on Apache Spark and Sail alike.
    """
    k = hashlib.sha256(key).digest() if len(key) > _BLOCK else key
    k = k.ljust(_BLOCK, b"\x00")
    ipad = bytes(b ^ 0x36 for b in k)
    opad = bytes(b ^ 0x5C for b in k)
    inner = F.unhex(F.sha2(F.concat(F.lit(ipad), F.encode(value, "UTF-8")), 256))
    return F.when(value.isNotNull(), F.sha2(F.concat(F.lit(opad), inner), 256))


def normalize_identity(value: Column) -> Column:
    """Identities compare trimmed; e-mail addresses compare case-insensitively."""
    trimmed = F.trim(value)
    return F.when(trimmed.contains("@"), F.lower(trimmed)).otherwise(trimmed)


def pseudonym(value: Column, key: bytes) -> Column:
    return hmac_sha256_hex(normalize_identity(value), key)


def pseudonym_mapping(identities: DataFrame, key: bytes) -> DataFrame:
    """``_id`` (each distinct non-null identity of ``identities``' one column ``_id``) and
    ``_key``, its pseudonym."""
    return (
        identities.where(F.col("_id").isNotNull())
        .distinct()
        .withColumn("_key", pseudonym(F.col("_id"), key))
    )


def with_pseudonyms(
    key: bytes,
    columns: dict[str, str],
    identities: DataFrame | None = None,
    mapping: DataFrame | None = None,
) -> Callable[[DataFrame], DataFrame]:
    """Replace identity columns by their keyed hash: ``{source column: new column}``.

    The hash is computed once per distinct identity (thousands) instead of once per row
    (millions) and joined back by broadcast; the source columns are dropped. ``identities``
    (one column ``_id``) may be given from a cheaper source than ``df`` itself (e.g. the raw
    table's identity columns), so that ``df``'s plan is not evaluated twice. ``mapping``
    (:func:`pseudonym_mapping` of a superset of ``df``'s identities, e.g. written once and
    read back) replaces both."""

    def apply(df: DataFrame) -> DataFrame:
        ids = identities
        if ids is None and mapping is None:
            for src in columns:
                part = df.select(F.col(src).alias("_id"))
                ids = part if ids is None else ids.unionByName(part)
        pairs = mapping if mapping is not None else pseudonym_mapping(ids, key)
        out = df
        for src, dst in columns.items():
            m = F.broadcast(pairs.select(F.col("_id").alias(src), F.col("_key").alias(dst)))
            out = out.join(m, on=src, how="left").drop(src)
        return out

    return apply


CONTENT_HASH = "_content_hash"


def content_hash(columns: list[str]) -> Column:
    """SHA-256 of a record's values as received (text), with an explicit null marker: the same
    on every engine, so that it can break ties between deliveries deterministically."""
    return F.sha2(
        F.concat_ws(
            "\u001f", *[F.coalesce(F.col(c).cast("string"), F.lit("\u0000")) for c in columns]
        ),
        256,
    )


def latest_delivery(keys: list[str]) -> Callable[[DataFrame], DataFrame]:
    """Keep one row per key: the latest delivery (ingest time, then source file, batch), ties
    between conflicting records of one delivery broken by their content hash (``_content_hash``
    when the frame has it): a total order, so the same input always keeps the same row."""

    def apply(df: DataFrame) -> DataFrame:
        # A window, not max_by(struct): on Sail 0.7 max_by over a wide struct used ~15 GB
        # for 1M rows.
        order = [
            F.col("_ingested_at").desc(),
            F.col("_source_file").desc(),
            F.col("_batch_id").desc(),
        ]
        if CONTENT_HASH in df.columns:
            order.append(F.col(CONTENT_HASH).desc())
        w = Window.partitionBy(*keys).orderBy(*order)
        return df.withColumn("_rn", F.row_number().over(w)).where("_rn = 1").drop("_rn")

    return apply


KEY_HASH = "_key_hash"


def repeated_keys(rows: DataFrame, keys: list[str]) -> DataFrame:
    """``_key_hash`` (xxhash64 of ``keys``) of the keys that more than one row of ``rows`` has:
    a narrow aggregate (the key columns only). Every key with more than one row is in it; a
    key with one row may be too (a hash shared with another key), which costs a sort, never a
    row: see :func:`split_repeated`."""
    return (
        rows.select(F.xxhash64(*keys).alias(KEY_HASH))
        .groupBy(KEY_HASH)
        .count()
        .where(F.col("count") > 1)
        .select(KEY_HASH)
    )


def split_repeated(
    rows: DataFrame, keys: list[str], repeated: DataFrame
) -> tuple[DataFrame, DataFrame]:
    """``rows`` as (keys with one row, every row of the other keys), by ``repeated``
    (:func:`repeated_keys` of these rows or of a superset of them).

    A window by key decides within each key alone, so it may run over the second part only:
    the first part holds one row per key (what the window would keep) and the second part
    whole keys (every row of each of its keys, by the hash of the full key). Null keys hash
    like any value (xxhash64 skips nulls), so they too stay together."""
    marked = rows.withColumn(KEY_HASH, F.xxhash64(*keys))
    rep = F.broadcast(repeated)
    once = marked.join(rep, KEY_HASH, "left_anti").drop(KEY_HASH)
    again = marked.join(rep, KEY_HASH, "left_semi").drop(KEY_HASH)
    return once, again


def resolve_org(directory: DataFrame) -> Callable[[DataFrame], DataFrame]:
    """Fill a missing ``org_id`` from the directory row covering the event's UTC date.

    ``directory`` has ``user_key, org_id, valid_from, valid_to`` (valid_to exclusive, null =
    current). A present org_id wins. With overlapping directory rows the latest valid_from
    wins (ties: the greater org_id, then the later valid_to). No covering row: org_id stays
    null (unresolved, counted downstream). Adds ``org_source``: event | directory | null.

    One pass over the interactions: the directory (one row per user and span, small) is
    gathered into one array of spans per user, latest first, broadcast and joined by user;
    the covering span is the first one whose dates hold the event. The interactions are
    neither split nor re-sorted (a split into rows with and without an org evaluated the
    whole upstream plan twice).
    """

    def apply(interactions: DataFrame) -> DataFrame:
        spans = directory.groupBy(F.col("user_key").alias("_d_user")).agg(
            F.sort_array(
                F.collect_list(
                    F.struct(
                        F.col("valid_from").alias("f"),
                        F.col("org_id").alias("o"),
                        F.col("valid_to").alias("t"),
                    )
                ),
                asc=False,
            ).alias("_d_spans")
        )
        day = F.col("event_date")
        covering = F.filter(
            "_d_spans", lambda s: (s["f"] <= day) & (s["t"].isNull() | (day < s["t"]))
        )
        found = F.get(covering, 0)["o"]
        joined = interactions.join(
            F.broadcast(spans), interactions["user_key"] == spans["_d_user"], "left"
        )
        present = F.col("org_id").isNotNull()
        return (
            joined.withColumn(
                "org_source",
                F.when(present, F.lit("event")).when(found.isNotNull(), F.lit("directory")),
            )
            .withColumn("org_id", F.when(present, F.col("org_id")).otherwise(found))
            .drop("_d_user", "_d_spans")
        )

    return apply


def sessionize(gap_minutes: int) -> Callable[[DataFrame], DataFrame]:
    """Per user, a new session starts after ``gap_minutes`` of inactivity.

    Adds ``session_key``: the user key prefix and the session's first event time.
    """

    def apply(df: DataFrame) -> DataFrame:
        w = Window.partitionBy("user_key").orderBy("event_ts", "tool", "event_id")
        secs = F.col("event_ts").cast("long")
        gap = secs - F.lag(secs).over(w)
        starts = F.when(gap.isNull() | (gap > gap_minutes * 60), F.col("event_ts"))
        running = w.rowsBetween(Window.unboundedPreceding, Window.currentRow)
        return (
            df.withColumn("_start", starts)
            .withColumn("_session_start", F.last("_start", ignorenulls=True).over(running))
            .withColumn(
                "session_key",
                F.concat(
                    F.substring("user_key", 1, 16),
                    F.lit("-"),
                    F.col("_session_start").cast("long").cast("string"),
                ),
            )
            .drop("_start", "_session_start")
        )

    return apply


def row_hash(columns: list[str]) -> Column:
    """A content hash of the given columns, to skip rewriting unchanged rows in MERGE."""
    return F.xxhash64(*[F.col(c) for c in columns])
