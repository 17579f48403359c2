"""All table reads and writes go through here.

Delta (default): one atomic commit per write (overwrite, append, replaceWhere, MERGE, DELETE),
so a failed write leaves no partial table version. Table metadata comes from delta-rs
(``deltalake``), which reads the same ``_delta_log`` whatever engine wrote it.

Parquet (``table_format: parquet``) exists so the same jobs run on Apache Spark without the
Delta jars (tests, or a cluster without Delta). It emulates replace/merge by rewriting the table
into a staging folder and swapping it in (local filesystems only); it has no time travel.
"""

from __future__ import annotations

import logging
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import types as T

log = logging.getLogger(__name__)


class LakeError(RuntimeError):
    pass


#: Name prefix of staged Parquet files a commit moved into a table's folder
#: (:meth:`Lake.commit_staged`), then the writer's tag.
STAGED_PREFIX = "part-staged-"


def _sql_path(path: str) -> str:
    return path.replace("`", "``")


def _shape(schema_json: str) -> list:
    """A Delta schema's columns without their metadata: names, types, nullability."""
    import json

    return [
        {k: v for k, v in f.items() if k != "metadata"} for f in json.loads(schema_json)["fields"]
    ]


def _engine_schema(schema_json: str) -> str:
    """A Delta schema read from Parquet files, with each column's metadata as the engine
    writes it in a table it creates (the Spark field metadata as a JSON object; Parquet keeps
    it as a string, or not at all when empty), so that a table created from staged files has
    the schema the engine would have given it."""
    import json

    key = "SPARK::metadata::json"
    data = json.loads(schema_json)
    for f in data["fields"]:
        value = (f.get("metadata") or {}).get(key, {})
        f["metadata"] = {key: json.loads(value) if isinstance(value, str) else value}
    return json.dumps(data)


@dataclass(frozen=True)
class Lake:
    """A lake root and its table format. Table names are ``layer/name`` (e.g. ``silver/interactions``)."""

    root: str
    fmt: str = "delta"

    def path(self, table: str) -> str:
        return os.path.join(self.root, table)

    # ---------------------------------------------------------------- metadata
    def exists(self, table: str) -> bool:
        p = self.path(table)
        if self.fmt == "delta":
            from deltalake import DeltaTable

            return DeltaTable.is_deltatable(p)
        return Path(p).is_dir() and any(Path(p).glob("*.parquet"))

    def version(self, table: str) -> int | None:
        """Current Delta version (None when the table does not exist or format is parquet)."""
        if self.fmt != "delta" or not self.exists(table):
            return None
        from deltalake import DeltaTable

        return DeltaTable(self.path(table)).version()

    # ---------------------------------------------------------------- reads
    def data_files(self, table: str, version: int | None = None) -> list[tuple[str, int]] | None:
        """(local path, bytes) of the table's data files (at ``version`` for Delta), whose rows,
        read as plain Parquet, are exactly the table's: None when they are not (a Delta table
        with partition columns, column mapping, deletion vectors or a newer reader protocol) or
        not local files."""
        p = self.path(table)
        if self.fmt != "delta":
            names = sorted(n for n in os.listdir(p) if n.endswith(".parquet") and n[0] not in "._")
            return [(os.path.join(p, n), os.path.getsize(os.path.join(p, n))) for n in names]
        from deltalake import DeltaTable

        dt = DeltaTable(p, version=version)
        proto, meta = dt.protocol(), dt.metadata()
        if (
            proto.min_reader_version > 1
            or proto.reader_features
            or meta.partition_columns
            or meta.configuration.get("delta.columnMapping.mode", "none") != "none"
        ):
            return None
        uris = dt.file_uris()
        if not all(os.path.isfile(u) for u in uris):
            return None
        return [(u, os.path.getsize(u)) for u in uris]

    def read(self, spark: SparkSession, table: str, version: int | None = None) -> DataFrame:
        if not self.exists(table):
            raise LakeError(
                f"table {table} does not exist at {self.path(table)}; "
                "run the stage that writes it first"
            )
        reader = spark.read.format(self.fmt)
        if version is not None:
            if self.fmt != "delta":
                raise LakeError("time travel (versionAsOf) needs table_format: delta")
            reader = reader.option("versionAsOf", version)
        return reader.load(self.path(table))

    def read_files(
        self, spark: SparkSession, table: str, files: list[str], version: int | None = None
    ) -> DataFrame:
        """Some of the table's data files (from :meth:`data_files`, at ``version``), read as
        plain Parquet with the table's schema at that version (a column added after a file was
        written reads as null there, as in the table)."""
        return spark.read.schema(self.read(spark, table, version).schema).parquet(*files)

    def read_or_empty(self, spark: SparkSession, table: str, schema: str) -> DataFrame:
        if self.exists(table):
            return self.read(spark, table)
        return spark.createDataFrame([], schema)

    # ---------------------------------------------------------------- writes
    def _create_keeping_not_null(
        self, df: DataFrame, table: str, not_null: tuple[str, ...] = ()
    ) -> bool:
        """Create a new Delta table from ``df``'s schema, with its NOT NULL columns and those
        named in ``not_null``, before Delta on Apache Spark writes its first rows; True when it
        did.

        Sail 0.7.2 replaces rows (replaceWhere) in a table with a list column only when the
        table's schema has a NOT NULL column (measured: then it casts the new rows to the
        table's types): otherwise it reads the kept rows' lists as ``List(element)``, the new
        ones as ``List(item)``, and fails ("UnionExec/InterleaveExec requires all inputs to
        have the same data type per column"), whichever engine wrote the files. Delta on Apache
        Spark makes every column of a table that a DataFrame write creates nullable (only DDL
        keeps NOT NULL), and Apache Spark reads every Parquet column (a staged copy) as
        nullable, so the writer names the columns it never leaves null (``not_null``). Then a
        table Apache Spark creates has the NOT NULL columns Sail gives it, and Sail can continue
        that lake. Only for a table with a list or map column and a NOT NULL column (the case
        Sail needs), and only on Apache Spark (Sail keeps the frame's): there the first publish
        is two commits, an empty version 0 and the rows; a run killed in between leaves an
        empty table, which holds what the lake held before (no rows).
        """
        if self.fmt != "delta" or self.exists(table):
            return False
        missing = sorted(set(not_null) - set(df.columns))
        if missing:
            raise LakeError(f"{table}: not_null names columns the frame lacks: {missing}")
        schema = T.StructType(
            [
                T.StructField(f.name, f.dataType, f.nullable and f.name not in not_null, f.metadata)
                for f in df.schema.fields
            ]
        )
        lists = any(isinstance(f.dataType, (T.ArrayType, T.MapType)) for f in schema.fields)
        if not lists or all(f.nullable for f in schema.fields):
            return False
        spark = df.sparkSession
        if "DeltaSparkSessionExtension" not in (spark.conf.get("spark.sql.extensions", "") or ""):
            return False  # Sail (or Delta not on Apache Spark's SQL side): the write keeps it
        spark.sql(
            f"CREATE TABLE IF NOT EXISTS delta.`{_sql_path(self.path(table))}` "
            f"({schema.toDDL()}) USING delta"
        )
        return True

    def overwrite(self, df: DataFrame, table: str, not_null: tuple[str, ...] = ()) -> None:
        """Replace the table's rows (and schema) with ``df``'s. ``not_null``: columns the writer
        never leaves null, kept NOT NULL in a table this creates (see
        :meth:`_create_keeping_not_null`)."""
        if self._create_keeping_not_null(df, table, not_null):
            df.write.format("delta").mode("append").save(self.path(table))
        elif self.fmt == "delta":
            (
                df.write.format("delta")
                .mode("overwrite")
                .option("overwriteSchema", "true")
                .save(self.path(table))
            )
        else:
            self._swap_in(df, table)

    def _check_same_columns(self, df: DataFrame, table: str) -> None:
        """A partial overwrite needs the table's columns (the engine has no schema evolution)."""
        self._check_same_columns_names(set(df.columns), table)

    def _check_same_columns_names(self, want: set[str], table: str) -> None:
        from deltalake import DeltaTable

        have = {f.name for f in DeltaTable(self.path(table)).schema().fields}
        if have != want:
            raise LakeError(
                f"{table} at {self.path(table)} was written with other columns "
                f"(missing {sorted(want - have) or 'none'}, extra {sorted(have - want) or 'none'}), "
                "probably by an older version of theater-index: score into a new lake, or move "
                "this table aside to rebuild it"
            )

    def append(self, df: DataFrame, table: str) -> None:
        self._create_keeping_not_null(df, table)
        df.write.format(self.fmt).mode("append").save(self.path(table))

    def replace_where(
        self, df: DataFrame, table: str, predicate: str, not_null: tuple[str, ...] = ()
    ) -> None:
        """Replace the rows matching ``predicate`` (SQL) with ``df`` in one commit
        (``not_null``: as for :meth:`overwrite`, when this creates the table)."""
        if not self.exists(table):
            self.overwrite(df, table, not_null)
        elif self.fmt == "delta":
            self._check_same_columns(df, table)
            (
                df.write.format("delta")
                .mode("overwrite")
                .option("replaceWhere", predicate)
                .save(self.path(table))
            )
        else:
            spark = df.sparkSession
            kept = self.read(spark, table).where(f"NOT ({predicate})")
            self._swap_in(kept.unionByName(df, allowMissingColumns=True), table)

    def commit_staged(self, table: str, files: list[str], where, tag: str) -> str | None:
        """Replace the rows of ``table`` in the slice ``where`` (a pyarrow dataset expression:
        the slice :meth:`replace_where`'s predicate selects) with the rows of ``files`` (local
        Parquet files written in the table's shape and checked), without rewriting them:
        the files are moved into the table's folder, then one delta-rs commit removes the
        data files of the slice and adds these, with their row counts as stats. Until that
        commit no table version lists the moved files (a run stopped before it leaves the
        table as it was; :meth:`remove_unlisted` deletes them later). A table that does not
        exist is created by that one commit, with the files' schema. ``tag`` (a run id)
        names the moved files.

        Returns None when committed, else why not (then nothing was changed and the caller
        writes with :meth:`replace_where`): not Delta, no files, files of another schema than
        the table's, staged rows outside the slice, a table whose protocol delta-rs should not
        write (writer features), a partitioned one, or one with a data file holding rows both
        in and out of the slice (replaceWhere would rewrite that file's other rows)."""
        import pyarrow.dataset as ds
        import pyarrow.parquet as pq
        from deltalake import DeltaTable, Schema
        from deltalake.transaction import create_table_with_add_actions

        if self.fmt != "delta":
            return "not a Delta lake"
        if not files or not all(os.path.isfile(f) for f in files):
            return "no local staged files"
        schemas = {_engine_schema(Schema.from_arrow(pq.read_schema(f)).to_json()) for f in files}
        if len(schemas) != 1:
            return "staged files of several schemas"
        schema = Schema.from_json(schemas.pop())
        staged = ds.dataset(files, format="parquet")
        rows = staged.count_rows()
        if staged.count_rows(filter=where) != rows:
            return "staged rows outside the slice"
        path = self.path(table)
        dt, removes = None, []
        if self.exists(table):
            dt = DeltaTable(path)
            found = self._slice_removes(dt, table, schema, where)
            if isinstance(found, str):
                return found
            removes = found
        else:
            os.makedirs(path, exist_ok=True)
        adds = _move_in(path, files, tag)
        if dt is None:
            create_table_with_add_actions(path, schema, adds, mode="error")
        else:
            dt.create_write_transaction([*removes, *adds], mode="append", schema=dt.schema())
        log.info(
            "%s: committed %d staged file(s) (%d rows) in place of %d",
            table,
            len(adds),
            rows,
            len(removes),
        )
        return None

    def _slice_removes(self, dt, table: str, schema, where):
        """The remove actions of the data files of ``dt`` in the slice ``where``, or why the
        staged files cannot replace them (see :meth:`commit_staged`)."""
        import time

        import pyarrow.dataset as ds
        from deltalake.transaction import RemoveAction

        self._check_same_columns_names({f.name for f in schema.fields}, table)
        proto, meta = dt.protocol(), dt.metadata()
        if proto.min_writer_version > 2 or proto.writer_features or proto.reader_features:
            return "the table's protocol has features"
        if meta.partition_columns:
            return "a partitioned table"
        if _shape(dt.schema().to_json()) != _shape(schema.to_json()):
            return "the staged files' schema is not the table's"
        now, removes = int(time.time() * 1000), []
        for uri in dt.file_uris():
            if not os.path.isfile(uri):
                return "a data file that is not local"
            part = ds.dataset(uri, format="parquet")
            inside = part.count_rows(filter=where)
            if inside and inside != part.count_rows():
                return "a data file holding rows in and out of the slice"
            if inside:
                size = os.path.getsize(uri)
                removes.append(RemoveAction(os.path.basename(uri), True, now, size, {}))
        return removes

    def remove_unlisted(
        self, table: str, keep: str | None = None, prefix: str = STAGED_PREFIX
    ) -> list[str]:
        """Delete data files named ``prefix``... that a dead run moved into the table's folder
        (:meth:`commit_staged`; ingest's good rows) but never committed (names containing
        ``keep``, the current run's tag, aside): no table version lists them, so no reader
        sees them. A file that a later commit removed (a DELETE rewrote it) is named in the
        table's log and kept: time travel still reads it. Call holding the lake's writer lock
        (no other run is committing)."""
        if self.fmt != "delta" or not self.exists(table):
            return []
        from deltalake import DeltaTable

        path = self.path(table)
        listed = {os.path.basename(u) for u in DeltaTable(path).file_uris()}
        candidates = [
            n
            for n in sorted(os.listdir(path))
            if n.startswith(prefix)
            and n.endswith(".parquet")
            and n not in listed
            and not (keep and keep in n)
        ]
        if not candidates:
            return []
        logs_dir = os.path.join(path, "_delta_log")
        named = set()
        for entry in sorted(os.listdir(logs_dir)):
            if entry.endswith(".json"):
                with open(os.path.join(logs_dir, entry), encoding="utf-8") as fh:
                    text = fh.read()
                named |= {n for n in candidates if n in text}
        removed = [n for n in candidates if n not in named]
        for name in removed:
            log.warning("%s: removing data file %s of an unfinished run", table, name)
            os.remove(os.path.join(path, name))
        return removed

    def merge(
        self,
        source: DataFrame,
        table: str,
        on: list[str],
        *,
        update_condition: str | None = None,
        delete_unmatched_condition: str | None = None,
    ) -> None:
        """Upsert ``source`` into ``table`` on the key columns ``on`` in one MERGE commit.

        ``update_condition`` limits which matched rows are updated (e.g. only newer deliveries);
        ``delete_unmatched_condition`` deletes target rows not in the source that match it
        (used to make re-running a period replace exactly that period).
        """
        if not self.exists(table):
            self.overwrite(source, table)
            return
        spark = source.sparkSession
        if self.fmt != "delta":
            self._merge_parquet(
                spark, source, table, on, update_condition, delete_unmatched_condition
            )
            return
        view = f"merge_src_{uuid.uuid4().hex[:12]}"
        source.createOrReplaceTempView(view)
        cond = " AND ".join(f"t.`{c}` = s.`{c}`" for c in on)
        matched = "WHEN MATCHED" + (f" AND ({update_condition})" if update_condition else "")
        sql = (
            f"MERGE INTO delta.`{_sql_path(self.path(table))}` AS t USING {view} AS s ON {cond} "
            f"{matched} THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *"
        )
        if delete_unmatched_condition:
            sql += f" WHEN NOT MATCHED BY SOURCE AND ({delete_unmatched_condition}) THEN DELETE"
        try:
            spark.sql(sql)
        finally:
            spark.catalog.dropTempView(view)

    def delete(self, spark: SparkSession, table: str, predicate: str) -> None:
        if not self.exists(table):
            return
        if self.fmt == "delta":
            spark.sql(f"DELETE FROM delta.`{_sql_path(self.path(table))}` WHERE {predicate}")
        else:
            self._swap_in(self.read(spark, table).where(f"NOT ({predicate})"), table)

    # ---------------------------------------------------------------- parquet emulation
    def _merge_parquet(self, spark, source, table, on, update_condition, delete_condition):
        target = self.read(spark, table)
        keys = source.select(*on).distinct()
        t, s = target.alias("t"), source.alias("s")
        matched = t.join(s, on=[t[c] == s[c] for c in on], how="inner")
        if update_condition:
            losers = matched.where(update_condition).select(*[f"t.{c}" for c in on])
            winners_from_source = source.join(losers, on=on, how="left_semi")
            kept_target = target.join(losers, on=on, how="left_anti")
            new = source.join(target.select(*on), on=on, how="left_anti")
            result = kept_target.unionByName(winners_from_source).unionByName(new)
        else:
            kept_target = target.join(keys, on=on, how="left_anti")
            result = kept_target.unionByName(source)
        if delete_condition:
            # the condition is written for the MERGE (target alias ``t``): filter before the join
            unmatched = target.alias("t").where(delete_condition).join(keys, on=on, how="left_anti")
            result = result.join(unmatched.select(*on), on=on, how="left_anti")
        # joins on ``on`` move the key columns first: keep the table's column order, as MERGE does
        self._swap_in(result.select(*target.columns), table)

    def _swap_in(self, df: DataFrame, table: str) -> None:
        final = Path(self.path(table))
        staging = final.with_name(f".{final.name}.staging-{uuid.uuid4().hex[:8]}")
        df.write.format("parquet").mode("overwrite").save(str(staging))
        old = final.with_name(f".{final.name}.old-{uuid.uuid4().hex[:8]}")
        if final.exists():
            final.rename(old)
        staging.rename(final)
        shutil.rmtree(old, ignore_errors=True)


def staged_files(frame) -> list[str]:
    """Local paths of the Parquet files a staged copy (a plain read of them) reads: what
    :meth:`Lake.commit_staged` moves into a table."""
    return [u.removeprefix("file://") for u in frame.inputFiles()]


def _move_in(path: str, files: list[str], tag: str) -> list:
    """Move the staged ``files`` into the table folder ``path`` under fresh names (with the
    ``tag``) and return their add actions, with their row counts as stats."""
    import json

    import pyarrow.parquet as pq
    from deltalake.transaction import AddAction

    adds = []
    for f in sorted(files):
        name = f"{STAGED_PREFIX}{tag}-{uuid.uuid4().hex}.parquet"
        dest = os.path.join(path, name)
        os.replace(f, dest)
        st = os.stat(dest)
        stats = json.dumps({"numRecords": pq.read_metadata(dest).num_rows})
        adds.append(AddAction(name, st.st_size, {}, int(st.st_mtime * 1000), True, stats))
    return adds
