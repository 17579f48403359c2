"""The gate: validate each table a stage is about to publish, decide, record the results.

The numbers come from :mod:`theater.quality.metrics` (one aggregate query per frame, one key
count per uniqueness expectation); this module decides (critical failures stop the stage),
records ``ops/dq_results`` and hands the results to GX's Data Docs renderer, after the
stage's writes or, in a pipeline run, once after the last stage (:func:`deferred_docs`)."""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from pyspark.sql import DataFrame, SparkSession

from ..config import Config
from ..errors import DataQualityError
from ..lake import Lake
from ..sources.exports.reader import quarantine_datasets
from . import docs as dq_docs
from . import frames, metrics
from .metrics import UNIQUE_TYPES
from .results import RAW_IDENTIFIER_COLUMNS, as_int, doc_entry, gx_exception, redact, short  # noqa: F401
from .runner import GX, gx_validate
from .suites import DQ_TABLE, expectation_name, load_suite_json, suites_dir

log = logging.getLogger(__name__)

DQ_SCHEMA = (
    "run_id string, stage string, table_name string, table_version bigint, "
    "suite string, expectation string, expectation_type string, frame string, "
    "severity string, success boolean, observed_value string, unexpected_count bigint, "
    "element_count bigint, sample string, validated_at timestamp"
)

__all__ = ["DQ_SCHEMA", "UNIQUE_TYPES", "Gate", "build_docs", "deferred_docs"]
# key buckets per partitioned write of the keys (``Gate._keys_by_bucket``): about 4.5M rows at
# the default ``scoring.bucket_rows``
KEY_CHUNK_BUCKETS = 3


# Data Docs to render later (a pipeline run: once, after the last stage), else None
_DEFERRED: list | None = None


@contextmanager
def deferred_docs():
    """Within this block, gates keep their Data Docs as plain data (the list yielded) instead
    of rendering them at the end of each stage: the caller renders them with
    :func:`build_docs` once the tables are published (GX imported once, off the stages'
    path). A stage that fails a critical expectation still renders its docs before raising."""
    global _DEFERRED
    before, _DEFERRED = _DEFERRED, []
    try:
        yield _DEFERRED
    finally:
        _DEFERRED = before


@dataclass
class Gate:
    """Validates the tables one stage publishes; collects the result records in ``results``."""

    spark: SparkSession
    lake: Lake
    cfg: Config
    stage: str
    run_id: str | None = None  # the pipeline's run id (MLflow), passed in by the stage
    period: Any = None  # theater.period.Period, when the stage has one
    fallback_id: str | None = None  # run id when the stage runs outside a pipeline run
    results: list[dict] = field(default_factory=list)
    seconds: float = 0.0  # validation time (GX, metric frames, results, docs)
    staging_seconds: float = 0.0  # writing the staged copy (the write then reads it)
    timings: dict = field(default_factory=dict)
    _staged: list[str] = field(default_factory=list)
    _docs: list = field(default_factory=list)  # Data Docs to render (plain data)

    def __post_init__(self):
        self.run_id = self.run_id or self.fallback_id or f"{self.stage}-{uuid.uuid4().hex[:12]}"
        self.q = self.cfg.quality
        # GX is needed only to render Data Docs (and for expectation types the aggregate does
        # not compute): import it in the background while the stage works, unless the docs are
        # rendered elsewhere after the run
        if self.enabled and self.q.data_docs and _DEFERRED is None:
            GX.prewarm()

    @property
    def enabled(self) -> bool:
        return bool(self.q.enabled)

    # ------------------------------------------------------------------ parameters
    def parameters(self) -> dict:
        q = self.q
        p: dict[str, Any] = {
            "min_users": self.cfg.privacy.min_users,
            "quarantine_warn_share": q.quarantine_warn_share,
            "quarantine_fail_share": q.quarantine_fail_share,
            "volume_min_ratio": q.volume_min_ratio,
            "volume_max_ratio": q.volume_max_ratio,
            "quarantine_datasets": quarantine_datasets(),
        }
        if self.period is not None:
            tol = timedelta(days=q.late_tolerance_days)
            start = datetime.combine(self.period.start, datetime.min.time())
            end = datetime.combine(self.period.end, datetime.min.time())
            p.update(
                {
                    "period_start": self.period.start.isoformat(),
                    "period_end": self.period.end.isoformat(),
                    "ts_min": start - tol,
                    "ts_max": end + tol - timedelta(microseconds=1),
                    "date_min": (self.period.start - tol).isoformat(),
                    "date_max": (self.period.end + tol - timedelta(days=1)).isoformat(),
                }
            )
        return p

    # ------------------------------------------------------------------ check
    def check(
        self,
        table: str,
        df: DataFrame,
        *,
        related: dict | None = None,
        materialize: bool | None = None,
        key_buckets: int = 1,
    ) -> DataFrame:
        """Validate ``df`` (about to be written to ``table``) with the table's suite.

        The rows frame's expectations are computed as one aggregate query (plus one key count
        per uniqueness expectation, and a sample query per failed expectation):
        :mod:`theater.quality.metrics`. ``key_buckets`` > 1 (a large table, see
        :mod:`theater.buckets`): the uniqueness key counts run on each hash bucket of their key
        columns in turn and are summed, so that the grouped count holds one bucket's keys at a
        time (every duplicate pair shares a bucket; the same verdict and counts as over the
        whole frame).

        Returns the DataFrame to write (the staged copy when materializing). Raises
        :class:`DataQualityError` when a critical expectation fails; the results are recorded
        in ``ops/dq_results`` either way.
        """
        if not self.enabled:
            return df
        t0 = time.time()
        data = load_suite_json(table, suites_dir(self.cfg))
        materialize = self.q.materialize if materialize is None else materialize
        if materialize:
            t_stage = time.time()
            df = self._stage(df, table)
            self.staging_seconds += time.time() - t_stage
            t0 = time.time()
        version = self.lake.version(table)
        by_frame: dict[str, list[dict]] = {}
        for e in data["expectations"]:
            by_frame.setdefault((e.get("meta") or {}).get("frame", "rows"), []).append(e)
        by_frame.pop("files", None)  # per landing file: :meth:`check_files`, before this
        params = self.parameters()
        records: list[dict] = []
        for frame, exps in by_frame.items():
            t_part = time.time()
            summary: dict = {}
            if frame == "rows":
                keys = [
                    k
                    for k in data.get("meta", {}).get("row_keys", [])
                    if k in df.columns and k not in RAW_IDENTIFIER_COLUMNS
                ]
                outcomes = self._rows_outcomes(data, exps, df, keys, params, key_buckets)
            else:
                if frame == "summary":
                    summary = frames.summary_row(df, exps, related or {})
                    rows, cols, keys = [summary], list(summary), []
                else:
                    rows = frames.daily_volume_rows(
                        self.spark, self.lake, table, df, data, self.period, self.q
                    )
                    keys, cols = ["day"], list(frames.VOLUME_COLUMNS)
                outcomes = self._small_outcomes(data, exps, rows, cols, keys, params)
            t_part = self._tick(f"dq.{table}.{frame}", t_part)
            part = []
            for e, o in zip(exps, outcomes):
                rec = self._record(table, version, data["name"], frame, e, o)
                col = (e.get("kwargs") or {}).get("column")
                if frame == "summary" and col in summary:
                    rec["observed_value"] = short(redact(summary[col]))
                    rec["sample"] = "[]"
                part.append(rec)
            records += part
            self._keep_docs(data, table, frame, outcomes, part)
        t_part = time.time()
        self._record_results(records)
        self._tick("dq_results", t_part)
        self.results.extend(records)
        self.seconds += time.time() - t0
        failed = [r for r in records if not r["success"] and r["severity"] == "critical"]
        for r in records:
            if not r["success"] and r["severity"] == "warning":
                log.warning(
                    "data quality warning on %s: %s: %s",
                    table,
                    r["expectation"],
                    r["observed_value"],
                )
        if failed:
            self.cleanup()
            self._build_docs(now=True)
            err = DataQualityError(self._message(table, data["name"], version, failed))
            err.results = list(self.results)  # type: ignore[attr-defined]
            raise err
        return df

    def check_files(
        self, table: str, df: DataFrame, quarantined: DataFrame, file_col: str = "_source_file"
    ) -> dict[str, str]:
        """The suite's per-file expectations (``meta.frame: files``) on one row per landing file
        (``row_count`` rows of ``df``, ``quarantined_count`` rows of ``quarantined``,
        ``quarantine_share``), so that one file's bad records judge that file only.

        Returns ``{file: reason}`` of the files failing a critical expectation (the caller
        rejects those files alone). The results are recorded in ``ops/dq_results`` with the
        worst file's value as ``observed_value`` and the failing files (with their values) as
        ``sample``. Raises :class:`DataQualityError` only when a critical expectation could not
        be evaluated at all (no file can be blamed)."""
        if not self.enabled:
            return {}
        data = load_suite_json(table, suites_dir(self.cfg))
        exps = [e for e in data["expectations"] if (e.get("meta") or {}).get("frame") == "files"]
        if not exps:
            return {}
        t0 = time.time()
        rows = frames.files_rows(df, quarantined, file_col)
        params = self.parameters()
        cols = [file_col, "row_count", "quarantined_count", "quarantine_share"]
        outcomes = self._small_outcomes(data, exps, rows, cols, [file_col], params, True)
        self._tick(f"dq.{table}.files", t0)
        version = self.lake.version(table)
        records, rejected, unjudged = [], {}, []
        by_file = {r[file_col]: r for r in rows}
        for e, o in zip(exps, outcomes):
            rec = self._record(table, version, data["name"], "files", e, o)
            col = (e.get("kwargs") or {}).get("column")
            bad = [
                row[file_col]
                for row in ((o.result or {}).get("unexpected_index_list") or [])
                if isinstance(row, dict) and file_col in row
            ]
            values = [r[col] for r in rows if col in r and r[col] is not None]
            if values:
                rec["observed_value"] = short(redact(max(values)))
            rec["sample"] = json.dumps(
                [{"file": f, col: by_file.get(f, {}).get(col)} for f in bad[: self.q.sample_rows]],
                default=str,
            )
            records.append(rec)
            if not rec["success"] and rec["severity"] == "critical":
                if not bad and rows:  # the expectation raised: no file can be told apart
                    unjudged.append(rec)
                for f in bad:
                    v = by_file.get(f, {})
                    val = v.get(col)
                    why = f"{expectation_name(e)}: "
                    if "quarantined_count" in v:
                        n_bad, n = v["quarantined_count"], v["quarantined_count"] + v["row_count"]
                        why += f"{n_bad:,} of {n:,} records quarantined, "
                    why += f"{col} " + (f"{val:.3g}" if isinstance(val, float) else str(val))
                    hi = (e.get("kwargs") or {}).get("max_value")
                    if isinstance(hi, dict) and hi.get("$PARAMETER") in params:
                        why += f" > {params[hi['$PARAMETER']]} (quality.{hi['$PARAMETER']})"
                    rejected.setdefault(f, f"data-quality gate on {table}: {why}")
            elif not rec["success"]:
                log.warning(
                    "data quality warning on %s: %s: %s",
                    table,
                    rec["expectation"],
                    ", ".join(bad) or rec["observed_value"],
                )
        self._keep_docs(data, table, "files", outcomes, records)
        self._record_results(records)
        self.results.extend(records)
        self.seconds += time.time() - t0
        if unjudged:  # no file can be blamed: the caller writes and records none of them
            self._build_docs(now=True)
            err = DataQualityError(self._message(table, data["name"], version, unjudged))
            err.results = list(self.results)  # type: ignore[attr-defined]
            raise err
        return rejected

    # ------------------------------------------------------------------ pieces
    def _tick(self, key: str, since: float) -> float:
        now = time.time()
        self.timings[key] = round(self.timings.get(key, 0.0) + now - since, 3)
        return now

    def _rows_outcomes(self, data, exps, df: DataFrame, keys, params, key_buckets: int):
        """The rows frame's outcomes: the aggregate (:func:`metrics.evaluate_spark`), or GX
        itself for a suite with an expectation type the aggregate does not compute."""
        if not metrics.supported(exps):
            return gx_validate(data, exps, "spark", df, keys, params, self.q.sample_rows)
        duplicates = None
        if key_buckets > 1:

            def duplicates(cols, keep):
                return self._duplicates_by_bucket(df.where(keep), cols, keys, key_buckets)

        return metrics.evaluate_spark(
            df,
            exps,
            params,
            keys=keys,
            sample_rows=self.q.sample_rows,
            duplicates=duplicates,
        )

    def _duplicates_by_bucket(self, df: DataFrame, cols, keys, n: int):
        """(duplicated rows, a sample of them) of ``cols`` counted one hash bucket of the key
        at a time (``check``'s ``key_buckets``): every duplicate pair shares a bucket, so the
        sum is the whole frame's count while the grouped count holds one bucket's keys."""
        from ..buckets import bucket_of

        narrow = df.select(*dict.fromkeys([*cols, *keys]))
        bucket = self._keys_by_bucket(narrow, bucket_of(n, *cols), n)
        total, sample = 0, []
        for b in range(n):
            part = bucket(b)
            count = metrics.duplicate_count(part, cols)
            total += count
            want = self.q.sample_rows - len(sample)
            if count and want > 0:
                sample += metrics.duplicate_sample(part, cols, keys, want)
        return total, sample

    def _small_outcomes(self, data, exps, rows: list[dict], cols, keys, params, complete=False):
        """Outcomes of a small frame given as records (summary, daily volume, files)."""
        outcomes = metrics.evaluate_rows(
            rows, cols, exps, params, keys=keys, sample_rows=self.q.sample_rows, complete=complete
        )
        if outcomes is not None:
            return outcomes
        import pandas as pd

        frame = pd.DataFrame(rows, columns=cols)
        return gx_validate(data, exps, "pandas", frame, keys, params, self.q.sample_rows, complete)

    def _record(self, table, version, suite, frame, e: dict, r) -> dict:
        res = r.result or {}
        raised, message = gx_exception(r.exception_info)
        if raised:
            observed = f"error: {message[:300]}"
        elif "observed_value" in res:
            observed = short(res["observed_value"])
        elif "unexpected_count" in res:
            n, u = res.get("element_count") or 0, res.get("unexpected_count") or 0
            pct = res.get("unexpected_percent")
            observed = f"{u} of {n} rows unexpected" + (f" ({pct:.2f}%)" if pct is not None else "")
        else:
            observed = ""
        sample = (
            res.get("partial_unexpected_index_list") or res.get("partial_unexpected_list") or []
        )
        return {
            "run_id": self.run_id,
            "stage": self.stage,
            "table_name": table,
            "table_version": version,
            "suite": suite,
            "expectation": expectation_name(e),
            "expectation_type": e["type"],
            "frame": frame,
            "severity": e["meta"]["severity"],
            "success": bool(r.success) and not raised,
            "observed_value": observed,
            "unexpected_count": as_int(res.get("unexpected_count")),
            "element_count": as_int(res.get("element_count")),
            "sample": json.dumps(redact(sample[: self.q.sample_rows]), default=str),
            "validated_at": datetime.now(timezone.utc).replace(tzinfo=None),
        }

    def _record_results(self, records: list[dict]) -> None:
        if not records:
            return
        rows = [tuple(r[c.split()[0]] for c in DQ_SCHEMA.split(", ")) for r in records]
        self.lake.append(self.spark.createDataFrame(rows, DQ_SCHEMA), DQ_TABLE)

    def _message(self, table, suite, version, failed) -> str:
        # the command line puts "data-quality gate failed: " before the message
        lines = [
            f"{table} (suite {suite}, stage {self.stage}): "
            f"{len(failed)} critical expectation(s) failed; {table} was not written "
            f"(stays at version {version})"
        ]
        for r in failed:
            lines.append(
                f"  - {r['expectation']} [{r['expectation_type']}]: observed {r['observed_value']}"
            )
            sample = json.loads(r["sample"])
            if sample:
                lines.append(f"      offending rows (pseudonymized): {short(sample, 400)}")
        lines.append(f"  results: {self.lake.path(DQ_TABLE)} (run_id {self.run_id})")
        return "\n".join(lines)

    def _keys_by_bucket(self, narrow: DataFrame, bucket, n: int):
        """``narrow`` (key columns) written once under this gate's staging, partitioned by
        ``bucket`` (0..n-1); returns bucket ``b``'s rows (an empty frame where none hash).

        Filtering the frame by bucket instead rescanned it once per bucket and per GX query:
        at 50M rows (51 buckets) more than a minute a bucket. The write goes in chunks of
        ``KEY_CHUNK_BUCKETS`` buckets (one narrow scan each), because Sail's partitioned
        writer holds its whole input."""
        from ..buckets import read_bucket, write_partitioned

        path = self.lake.path(f"ops/_staging/dq-{self.run_id}-{uuid.uuid4().hex[:8]}/keys")
        self._staged.append(os.path.dirname(path))
        chunks = -(-n // KEY_CHUNK_BUCKETS)
        for c in range(chunks):
            part = narrow if chunks == 1 else narrow.where(bucket % chunks == c)
            write_partitioned(part, bucket, path, append=c > 0)

        def rows(b: int) -> DataFrame:
            part = read_bucket(self.spark, path, b, narrow.schema)
            return part if part is not None else narrow.limit(0)

        return rows

    def _stage(self, df: DataFrame, table: str) -> DataFrame:
        path = self.lake.path(
            f"ops/_staging/dq-{self.run_id}-{uuid.uuid4().hex[:8]}/{table.replace('/', '_')}"
        )
        df.write.mode("overwrite").parquet(path)
        self._staged.append(os.path.dirname(path))
        # the schema is given: an empty frame leaves no Parquet file to infer it from
        return self.spark.read.schema(df.schema).parquet(path)

    def finish(self) -> dict:
        """End of the stage: remove staging copies, render (or hand over) the Data Docs; return
        the metrics the stage reports (``dq``: one record per expectation, ``dq_seconds``,
        ``dq_staging_seconds``)."""
        self.cleanup()
        self._build_docs()
        if self.results:
            log.info(
                "data quality %s: %d expectations in %.1fs (+%.1fs staging); %s",
                self.stage,
                len(self.results),
                self.seconds,
                self.staging_seconds,
                ", ".join(f"{k} {v:.1f}s" for k, v in sorted(self.timings.items())),
            )
        return {
            "dq": list(self.results),
            "dq_seconds": round(self.seconds, 2),
            "dq_staging_seconds": round(self.staging_seconds, 2),
        }

    def _keep_docs(self, data, table, frame, outcomes, records) -> None:
        if self.q.data_docs:
            self._docs.append(
                {
                    "directory": self.lake.path("ops/data_docs"),
                    "suite": data["name"],
                    "suite_meta": data.get("meta") or {},
                    "batch": f"{table.replace('/', '_')}-{frame}",
                    "run_name": f"{self.run_id}-{self.stage}",
                    "outcomes": outcomes,
                    "entry": doc_entry(records, frame),
                }
            )

    def _build_docs(self, now: bool = False) -> None:
        """GX Data Docs for this stage's validations: rendered now (once per stage: the index
        is rebuilt), or handed to the :func:`deferred_docs` block around the stage."""
        if not self._docs:
            return
        docs, self._docs = self._docs, []
        if _DEFERRED is not None and not now:
            _DEFERRED.extend(docs)
            return
        t = time.time()
        build_docs(docs)
        self.seconds += time.time() - t
        self._tick("data_docs", t)

    def cleanup(self) -> None:
        """Remove this gate's staging copies (call after the stage's writes)."""
        for p in self._staged:
            shutil.rmtree(p, ignore_errors=True)
        self._staged.clear()


def build_docs(docs: list[dict]) -> None:
    """Render kept Data Docs (:meth:`Gate._keep_docs`) with GX's site builder, and the offline
    index; one build per lake. Docs are for people: a failure is logged, never raised."""
    by_dir: dict[str, list[dict]] = {}
    for d in docs:
        by_dir.setdefault(d["directory"], []).append(d)
    for directory, items in by_dir.items():
        if "://" not in directory:  # GX's filesystem store wants an absolute base directory
            directory = os.path.abspath(directory)
        try:
            keys = [
                GX.store_result(
                    d["suite"],
                    d["batch"],
                    d["run_name"],
                    metrics.to_gx_result(d["suite"], d["suite_meta"], d["outcomes"]),
                )
                for d in items
            ]
            GX.build_docs(directory, keys)
            # GX's page for each result: validations/<suite>/<run name>/<run time>/<batch>.html
            entries = [
                {**d["entry"], "page": "validations/" + "/".join(k.to_tuple()) + ".html"}
                for k, d in zip(keys, items)
            ]
            dq_docs.record_entries(directory, entries)
        except Exception as exc:  # noqa: BLE001 - docs are for people; never fail the run
            log.warning("data docs not written: %s", exc)
