"""The gate: validate each table a stage is about to publish, record the results."""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
import uuid
import warnings
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from ..config import Config
from ..errors import DataQualityError
from ..lake import Lake
from ..sources.exports.reader import quarantine_datasets
from . import docs as dq_docs
from .results import RAW_IDENTIFIER_COLUMNS, as_int, doc_entry, gx_exception, redact, short  # noqa: F401
from .runner import GX
from .suites import DQ_TABLE, expectation_name, load_suite_json, suites_dir

log = logging.getLogger(__name__)

DQ_SCHEMA = (
    "run_id string, stage string, table_name string, table_version bigint, "
    "suite string, expectation string, expectation_type string, frame string, "
    "severity string, success boolean, observed_value string, unexpected_count bigint, "
    "element_count bigint, sample string, validated_at timestamp"
)


UNIQUE_TYPES = ("expect_compound_columns_to_be_unique", "expect_column_values_to_be_unique")
# key buckets per partitioned write of the keys (``Gate._keys_by_bucket``): about 4M rows at
# the default ``scoring.bucket_rows``
KEY_CHUNK_BUCKETS = 4


def _merge_bucket_results(parts: list, sample_rows: int):
    """One GX expectation result from its results on each key bucket: success when every
    bucket passed; element and unexpected counts summed (percentages recomputed); the
    offending-row samples of the failing buckets, up to ``sample_rows``; an exception if any
    bucket raised one."""
    raised = [r for r in parts if gx_exception(r.exception_info)[0]]
    failed = [r for r in parts if not r.success]
    merged = raised[0] if raised else failed[0] if failed else parts[0]
    res = dict(merged.result or {})
    counts = {
        k: sum(int((r.result or {}).get(k) or 0) for r in parts)
        for k in ("element_count", "unexpected_count", "missing_count")
        if k in res
    }
    res.update(counts)
    n, u = counts.get("element_count"), counts.get("unexpected_count")
    if n is not None and u is not None:
        missing = counts.get("missing_count", 0)
        for k, base in (
            ("unexpected_percent", n - missing),
            ("unexpected_percent_total", n),
            ("unexpected_percent_nonmissing", n - missing),
        ):
            if k in res:
                res[k] = 100.0 * u / base if base else None
        if "missing_percent" in res:
            res["missing_percent"] = 100.0 * missing / n if n else None
    for k in ("partial_unexpected_index_list", "partial_unexpected_list"):
        if k in res:
            res[k] = [x for r in failed for x in ((r.result or {}).get(k) or [])][:sample_rows]
    merged.result = res
    merged.success = not raised and not failed
    return merged


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
    _doc_keys: list = field(default_factory=list)

    def __post_init__(self):
        self.run_id = self.run_id or self.fallback_id or f"{self.stage}-{uuid.uuid4().hex[:12]}"
        self.q = self.cfg.quality
        if self.enabled:
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

        ``key_buckets`` > 1 (a large table, see :mod:`theater.buckets`): the uniqueness
        expectations of the rows frame are validated by GX on each hash bucket of their key
        columns in turn and their results summed, so that the duplicate search holds one
        bucket's keys at a time (every duplicate pair shares a bucket; the same verdict, counts
        and samples as over the whole frame). The other expectations see the whole frame.

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
        frames: dict[str, list[dict]] = {}
        for e in data["expectations"]:
            frames.setdefault((e.get("meta") or {}).get("frame", "rows"), []).append(e)
        frames.pop("files", None)  # per landing file: :meth:`check_files`, before this
        params = self.parameters()
        records: list[dict] = []
        for frame, exps in frames.items():
            t_part = time.time()
            if frame == "rows":
                batch_frame, kind = df, "spark"
                keys = [
                    k
                    for k in data.get("meta", {}).get("row_keys", [])
                    if k in df.columns and k not in RAW_IDENTIFIER_COLUMNS
                ]
            elif frame == "summary":
                batch_frame, kind, keys = self._summary(df, exps, related or {}), "pandas", []
            else:
                batch_frame, kind, keys = self._daily_volume(table, df, data), "pandas", ["day"]
            if frame == "rows" and key_buckets > 1:
                result = self._validate_keyed(data, exps, batch_frame, keys, params, key_buckets)
            else:
                result = self._validate(data, exps, frame, batch_frame, kind, keys, params)
            t_part = self._tick(f"gx.{table}.{frame}", t_part)
            for r in sorted(result.results, key=lambda r: r.expectation_config.meta["_idx"]):
                e = exps[r.expectation_config.meta["_idx"]]
                rec = self._record(table, version, data["name"], frame, e, r)
                col = (e.get("kwargs") or {}).get("column")
                if frame == "summary" and col in getattr(batch_frame, "columns", []):
                    rec["observed_value"] = short(redact(batch_frame[col].iloc[0]))
                    rec["sample"] = "[]"
                records.append(rec)
            if self.q.data_docs:
                key = GX.store_result(
                    data["name"],
                    f"{table.replace('/', '_')}-{frame}",
                    f"{self.run_id}-{self.stage}",
                    result,
                )
                self._doc_keys.append((key, doc_entry(records[-len(exps) :], frame)))
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
            self._build_docs()
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
        frame = self._files_frame(df, quarantined, file_col)
        detail = {"result_format": "COMPLETE", "unexpected_index_column_names": [file_col]}
        params = self.parameters()
        result = self._validate(
            data, exps, "files", frame, "pandas", [file_col], params, detail_format=detail
        )
        self._tick(f"gx.{table}.files", t0)
        version = self.lake.version(table)
        records, rejected, unjudged = [], {}, []
        by_file = frame.set_index(file_col).to_dict("index") if len(frame) else {}
        for r in sorted(result.results, key=lambda r: r.expectation_config.meta["_idx"]):
            e = exps[r.expectation_config.meta["_idx"]]
            rec = self._record(table, version, data["name"], "files", e, r)
            col = (e.get("kwargs") or {}).get("column")
            bad = [
                row[file_col]
                for row in ((r.result or {}).get("unexpected_index_list") or [])
                if isinstance(row, dict) and file_col in row
            ]
            if col in frame.columns and len(frame):
                rec["observed_value"] = short(redact(frame[col].max()))
            rec["sample"] = json.dumps(
                [{"file": f, col: by_file.get(f, {}).get(col)} for f in bad[: self.q.sample_rows]],
                default=str,
            )
            records.append(rec)
            if not rec["success"] and rec["severity"] == "critical":
                if not bad and len(frame):  # GX raised: no file can be told apart
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
        if self.q.data_docs:
            key = GX.store_result(
                data["name"],
                f"{table.replace('/', '_')}-files",
                f"{self.run_id}-{self.stage}",
                result,
            )
            self._doc_keys.append((key, doc_entry(records, "files")))
        self._record_results(records)
        self.results.extend(records)
        self.seconds += time.time() - t0
        if unjudged:  # no file can be blamed: the caller writes and records none of them
            self._build_docs()
            err = DataQualityError(self._message(table, data["name"], version, unjudged))
            err.results = list(self.results)  # type: ignore[attr-defined]
            raise err
        return rejected

    def _files_frame(self, df: DataFrame, quarantined: DataFrame, file_col: str):
        import pandas as pd

        good = {r[0]: r[1] for r in df.groupBy(file_col).count().collect()}
        bad = {r[0]: r[1] for r in quarantined.groupBy(file_col).count().collect()}
        rows = []
        for f in sorted(set(good) | set(bad), key=str):
            n, q = good.get(f, 0), bad.get(f, 0)
            rows.append(
                {
                    file_col: f,
                    "row_count": n,
                    "quarantined_count": q,
                    "quarantine_share": q / (n + q) if n + q else 0.0,
                }
            )
        cols = [file_col, "row_count", "quarantined_count", "quarantine_share"]
        return pd.DataFrame(rows, columns=cols).astype(
            {"row_count": "int64", "quarantined_count": "int64", "quarantine_share": "float64"}
        )

    # ------------------------------------------------------------------ pieces
    def _tick(self, key: str, since: float) -> float:
        now = time.time()
        self.timings[key] = round(self.timings.get(key, 0.0) + now - since, 3)
        return now

    def _validate(
        self,
        data: dict,
        exps: list[dict],
        frame: str,
        batch_frame,
        kind: str,
        keys: list[str],
        params: dict,
        detail_format: dict | None = None,
    ):
        GX.context()  # imports GX once (waits for a prewarm in progress)
        from great_expectations.core.expectation_suite import ExpectationSuite

        tagged = [{**e, "meta": {**(e.get("meta") or {}), "_idx": i}} for i, e in enumerate(exps)]
        suite = ExpectationSuite(
            name=data["name"], meta=data.get("meta") or {}, expectations=tagged
        )
        batch = GX.batch(kind, batch_frame)
        # Pass 1, everything: BASIC without samples (counts only; GX bundles the aggregates).
        # Pass 2, only what did not pass: SUMMARY with a few values and offending row keys.
        # Samples cost one filtered scan each per expectation, so they are only paid for failures.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = batch.validate(
                suite,
                expectation_parameters=params,
                result_format={"result_format": "BASIC", "partial_unexpected_count": 0},
            )
            failed = {r.expectation_config.meta["_idx"] for r in result.results if not r.success}
            if failed:
                detail_format = detail_format or {
                    "result_format": "SUMMARY",
                    "partial_unexpected_count": self.q.sample_rows,
                }
                if keys:
                    detail_format["unexpected_index_column_names"] = keys
                detail = batch.validate(
                    ExpectationSuite(
                        name=data["name"],
                        meta=data.get("meta") or {},
                        expectations=[e for e in tagged if e["meta"]["_idx"] in failed],
                    ),
                    expectation_parameters=params,
                    result_format=detail_format,
                )
                by_idx = {r.expectation_config.meta["_idx"]: r for r in detail.results}
                result.results = [
                    by_idx.get(r.expectation_config.meta["_idx"], r) for r in result.results
                ]
        return result

    def _validate_keyed(self, data, exps, df, keys, params, n: int):
        """:meth:`_validate` of a rows frame with the uniqueness expectations run per key
        bucket (``check``'s ``key_buckets``); results carry ``_idx`` into ``exps`` as usual."""
        from ..buckets import bucket_of

        unique = [i for i, e in enumerate(exps) if e["type"] in UNIQUE_TYPES]
        rest = [i for i in range(len(exps)) if i not in unique]
        if not unique:
            return self._validate(data, exps, "rows", df, "spark", keys, params)
        results = []
        result = None
        if rest:
            result = self._validate(
                data, [exps[i] for i in rest], "rows", df, "spark", keys, params
            )
            for r in result.results:
                r.expectation_config.meta["_idx"] = rest[r.expectation_config.meta["_idx"]]
            results += result.results
        for i in unique:
            kw = exps[i].get("kwargs") or {}
            cols = kw.get("column_list") or [kw["column"]]
            # only the key columns (and the row keys of the samples), written once by bucket
            narrow = df.select(*dict.fromkeys([*cols, *keys]))
            bucket = self._keys_by_bucket(narrow, bucket_of(n, *cols), n)
            parts = []
            for b in range(n):
                part = bucket(b)
                one = self._validate(data, [exps[i]], "rows", part, "spark", keys, params)
                parts.append(one.results[0])
                result = result or one
            merged = _merge_bucket_results(parts, self.q.sample_rows)
            merged.expectation_config.meta["_idx"] = i
            results.append(merged)
        result.results = results
        result.success = all(r.success for r in results)
        stats = getattr(result, "statistics", None)
        if isinstance(stats, dict):
            good = sum(1 for r in results if r.success)
            stats.update(
                evaluated_expectations=len(results),
                successful_expectations=good,
                unsuccessful_expectations=len(results) - good,
                success_percent=100.0 * good / len(results) if results else None,
            )
        return result

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
        """End of the stage: remove staging copies; return the metrics the stage reports
        (``dq``: one record per expectation, ``dq_seconds``, ``dq_staging_seconds``)."""
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

    def _build_docs(self) -> None:
        """GX Data Docs for this stage's validations (once per stage: the index is rebuilt)."""
        if not self._doc_keys:
            return
        t = time.time()
        directory = self.lake.path("ops/data_docs")
        if "://" not in directory:  # GX's filesystem store wants an absolute base directory
            directory = os.path.abspath(directory)
        try:
            GX.build_docs(directory, [k for k, _ in self._doc_keys])
            # GX's page for each result: validations/<suite>/<run name>/<run time>/<batch>.html
            entries = [
                {**e, "page": "validations/" + "/".join(k.to_tuple()) + ".html"}
                for k, e in self._doc_keys
            ]
            dq_docs.record_entries(directory, entries)
        except Exception as exc:  # docs are for people; never fail the run on them
            log.warning("data docs not written: %s", exc)
        self._doc_keys = []
        self.seconds += time.time() - t
        self._tick("data_docs", t)

    def cleanup(self) -> None:
        """Remove this gate's staging copies (call after the stage's writes)."""
        for p in self._staged:
            shutil.rmtree(p, ignore_errors=True)
        self._staged.clear()

    # ------------------------------------------------------------------ metric frames
    def _summary(self, df: DataFrame, exps: list[dict], related: dict):
        import pandas as pd

        wanted = {(e.get("kwargs") or {}).get("column") for e in exps}
        row: dict[str, Any] = {}
        if wanted & {"row_count", "quarantine_share", "quarantined_count"}:
            row["row_count"] = df.count()
        if wanted & {"quarantine_share", "quarantined_count"}:
            q = related.get("quarantined")
            n_bad = q.count() if q is not None else 0
            total = row["row_count"] + n_bad
            row["quarantined_count"] = n_bad
            row["quarantine_share"] = (n_bad / total) if total else 0.0
        if "orgs_missing" in wanted:
            expected = related.get("expected_orgs")
            if expected is None:
                row["orgs_missing"] = None
            else:
                missing = (
                    expected.where(F.col("org_id").isNotNull())
                    .select("org_id")
                    .distinct()
                    .join(df.select("org_id").distinct(), "org_id", "left_anti")
                )
                row["orgs_missing"] = missing.count()
        return pd.DataFrame([row]) if row else pd.DataFrame([{"row_count": df.count()}])

    def _daily_volume(self, table: str, df: DataFrame, data: dict):
        import pandas as pd

        col = (data.get("meta") or {}).get("date_column", "event_date")
        if self.period is None:
            return pd.DataFrame({"day": [], "n": [], "baseline": [], "volume_ratio": []})
        weeks = self.q.volume_history_weeks
        start, end = self.period.start, self.period.end
        counts = {r[0]: r[1] for r in df.groupBy(col).count().collect() if r[0] is not None}
        hist_start = start - timedelta(days=7 * weeks)
        known_before: dict[date, int] = {}
        if self.lake.exists(table):
            hist = (
                self.lake.read(self.spark, table)
                .where((F.col(col) >= F.lit(hist_start)) & (F.col(col) < F.lit(start)))
                .groupBy(col)
                .count()
                .collect()
            )
            known_before = {r[0]: r[1] for r in hist if r[0] is not None}
        rows = []
        d = start
        while d < end:
            past = []
            for w in range(1, weeks + 1):
                p = d - timedelta(days=7 * w)
                if p >= start:
                    past.append(counts.get(p, 0))
                elif p in known_before:
                    past.append(known_before[p])
            n = counts.get(d, 0)
            base = float(pd.Series(past).median()) if len(past) >= 2 else None
            ratio = (n / base) if base else None
            rows.append({"day": d.isoformat(), "n": n, "baseline": base, "volume_ratio": ratio})
            d += timedelta(days=1)
        return pd.DataFrame(rows)
