"""Data-quality gates: Great Expectations (GX Core 1.x) suites run on every table before it is
published.

How it works
------------
- **Suites are files**: ``expectations/<layer>_<table>.json`` (e.g. ``silver_interactions.json``)
  in GX's own suite JSON (``name``, ``meta``, ``expectations: [{type, kwargs, meta}]``), loaded
  with ``ExpectationSuite(**json)`` into an *ephemeral* GX context: no ``gx/`` project folder.
  The folder is ``quality.suites_dir`` (config), so a test or an analyst can point a run at an
  edited copy. Every expectation carries ``meta.severity``: ``critical`` (stops the stage, exit
  code 3) or ``warning`` (recorded, the stage goes on), and ``meta.name`` (the name printed and
  recorded). Thresholds that are operational settings (period bounds with the late-data
  tolerance, k, quarantine shares, volume ratios) are GX suite parameters
  (``{"$PARAMETER": "ts_min"}``) filled from ``conf/base.yaml``'s ``quality:`` section.
- **Where expectations run** (``meta.frame``):

  * ``rows`` (default): the Spark DataFrame about to be written, through GX's own Spark
    execution engine (Spark datasource, dataframe asset, whole-dataframe batch). This works with
    Spark Connect DataFrames on Sail (checked with GX 1.24.1, pysail 0.7.2, pyspark 4.2): GX only
    uses DataFrame API there (its ``persist`` is a no-op on Sail, nothing uses ``.rdd`` or
    ``sparkContext``). Two passes: every expectation in GX's ``BASIC`` format without samples
    (counts only, GX bundles the aggregates), then only the ones that did not pass again in
    ``SUMMARY`` with a small ``partial_unexpected_count`` and ``unexpected_index_column_names``
    (the suite's ``meta.row_keys``): samples cost a filtered scan per expectation, so only
    failures pay for them, and nothing but a handful of offending keys reaches the driver.
  * ``summary``: one-row table-level metrics that need more than the rows themselves
    (``row_count``, ``quarantine_share`` of the batch, ``orgs_missing`` = silver orgs absent from
    the gold index). They are computed in Spark with one aggregation each and validated by GX on a
    tiny pandas frame.
  * ``daily_volume``: one row per day of the period: the day's row count, its baseline (median
    of the same weekday in the previous ``quality.volume_history_weeks`` weeks, taken from the
    new rows and the table's own history) and ``volume_ratio``; validated by GX on pandas.

- **Validate before publish**: a stage calls ``gate.check(table, df, ...)`` right before the
  ``lake`` write. With ``quality.materialize`` (default) the DataFrame is first written once to
  a staging Parquet folder under ``<lake>/ops/_staging/`` and both validation and the table
  write read that copy: Sail does not cache (``persist`` is a no-op), so validating the lazy plan
  would recompute the whole stage (signals, bootstrap) once for GX and once for the write.
  ``check`` returns the DataFrame to write. If a critical expectation fails, the results are
  appended to ``ops/dq_results``, Data Docs are written, and :class:`DataQualityError` is raised
  *before* the write, so the target table's Delta version does not change.
- **Results are data**: every check appends one row per expectation to ``ops/dq_results``
  (Delta, through :class:`theater.lake.Lake`): run id, stage, table, the table's version at
  validation time (the version the write will replace; null for a new table), suite,
  expectation, severity, success, observed value, unexpected/element counts. The stage puts the
  same records in its metrics under ``"dq"``; :func:`summary_lines` turns them into per-table
  pass/warn/fail counts.
- **Data Docs**: GX's own site builder, configured in the ephemeral context with a filesystem
  store at ``<lake>/ops/data_docs/``, built once per stage (``index.html``; each run adds its
  validation pages; the index lists the validations of the latest process, because an
  ephemeral context keeps results in memory).
- Cost: importing GX takes ~3-4 s once per process; the staged copy costs one Parquet write
  and read of each validated table; the GX passes themselves are a few scans of that copy.
- Raw identifiers never leave bronze: offending-row samples show only the suite's ``row_keys``
  (event ids, tools, orgs, pseudonymous user keys) and values of columns not in
  :data:`RAW_IDENTIFIER_COLUMNS`.
"""
from __future__ import annotations

import json
import logging
import math
import os
import shutil
import sys
import threading
import time
import uuid
import warnings
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterable

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from . import dq_docs, logs
from .config import Config, ConfigError
from .errors import DataQualityError
from .lake import Lake

log = logging.getLogger(__name__)

# GX logs ~200 INFO lines while it imports ("Skipping registering function ..."): quiet it.
logs.quiet("great_expectations")

DQ_TABLE = "ops/dq_results"
DQ_SCHEMA = ("run_id string, stage string, table_name string, table_version bigint, "
             "suite string, expectation string, expectation_type string, frame string, "
             "severity string, success boolean, observed_value string, unexpected_count bigint, "
             "element_count bigint, sample string, validated_at timestamp")
SEVERITIES = ("critical", "warning")
FRAMES = ("rows", "summary", "daily_volume")
# Columns whose values must never appear in a message, a result row or Data Docs.
RAW_IDENTIFIER_COLUMNS = {"user_id", "artifact_author_id"}
PROJECT_ROOT = Path(__file__).resolve().parents[2]


class SuiteError(ConfigError):
    """A suite file is missing or malformed (exit code 2, like any configuration error)."""


# --------------------------------------------------------------------------- suites
def suite_file_name(table: str) -> str:
    return table.replace("/", "_") + ".json"


def suites_dir(cfg: Config | None) -> Path:
    """``quality.suites_dir``: absolute, or relative to the working directory, else to the
    project root."""
    raw = cfg["quality.suites_dir"] if cfg is not None else "expectations"
    p = Path(raw)
    if p.is_absolute() or p.is_dir():
        return p
    return PROJECT_ROOT / p


def load_suite_json(table: str, directory: Path) -> dict:
    """The suite JSON for ``table``, checked: every expectation has a known severity and frame."""
    path = Path(directory) / suite_file_name(table)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise SuiteError(f"no data-quality suite for {table}: {path} does not exist") from None
    except json.JSONDecodeError as exc:
        raise SuiteError(f"{path}: not valid JSON: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("expectations"), list):
        raise SuiteError(f"{path}: a GX suite needs 'name' and a list 'expectations'")
    data.setdefault("name", path.stem)
    for i, e in enumerate(data["expectations"]):
        meta = e.get("meta") or {}
        where = f"{path}: expectation {i} ({meta.get('name') or e.get('type')})"
        if meta.get("severity") not in SEVERITIES:
            raise SuiteError(f"{where}: meta.severity must be one of {list(SEVERITIES)}, "
                             f"got {meta.get('severity')!r}")
        if meta.get("frame", "rows") not in FRAMES:
            raise SuiteError(f"{where}: meta.frame must be one of {list(FRAMES)}")
    data["_path"] = str(path)
    return data


def load_suite(table: str, directory: Path):
    """The GX ExpectationSuite for ``table`` (raises :class:`SuiteError` when GX refuses it)."""
    _GX.context()  # imports GX once (waits for a prewarm in progress)
    from great_expectations.core.expectation_suite import ExpectationSuite

    data = load_suite_json(table, directory)
    try:
        return ExpectationSuite(**{k: v for k, v in data.items() if not k.startswith("_")})
    except Exception as exc:  # GX raises pydantic / its own errors for unknown types, bad kwargs
        raise SuiteError(f"{data['_path']}: GX cannot load the suite: {exc}") from None


def expectation_name(e: dict) -> str:
    meta = e.get("meta") or {}
    if meta.get("name"):
        return meta["name"]
    kw = e.get("kwargs") or {}
    cols = kw.get("column") or kw.get("column_list") or [kw.get("column_A"), kw.get("column_B")]
    if isinstance(cols, list):
        cols = ",".join(str(c) for c in cols if c)
    return f"{e['type']}({cols or ''})"


# --------------------------------------------------------------------------- GX context
class _GX:
    """One ephemeral GX context per process: a Spark and a pandas datasource, each with one
    dataframe asset and a whole-dataframe batch definition."""

    _ctx = None
    _batch_defs: dict = {}
    _lock = threading.Lock()

    @classmethod
    def prewarm(cls) -> None:
        """Import GX and build the context in a background thread (about 5 s, mostly the
        import), so that it overlaps with the stage's Spark work instead of adding to it."""
        if cls._ctx is None:
            # GX's Spark datasource imports pyspark.ml, and so does MLflow in the main thread:
            # import it here first (~40 ms) so the two imports never race on a half-built module
            # ("cannot access submodule 'ml' of module 'pyspark'").
            import pyspark.ml.param  # noqa: F401

            threading.Thread(target=cls._prewarm, name="gx-prewarm", daemon=True).start()

    @classmethod
    def _prewarm(cls) -> None:
        try:
            cls.context()
        except Exception as exc:  # the first real use raises it again, in the stage
            log.debug("GX prewarm failed: %s", exc)

    @classmethod
    def context(cls):
        with cls._lock:
            return cls._context()

    @classmethod
    def _context(cls):
        if cls._ctx is None:
            os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
            import great_expectations as gx
            from great_expectations.data_context.types.base import ProgressBarsConfig

            logs.quiet("great_expectations")   # some GX modules set INFO on their own logger
            ctx = gx.get_context(mode="ephemeral")
            ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
            cls._ctx = ctx
            cls._batch_defs = {
                "spark": ctx.data_sources.add_spark("theater_spark")
                .add_dataframe_asset("frame").add_batch_definition_whole_dataframe("whole"),
                "pandas": ctx.data_sources.add_pandas("theater_pandas")
                .add_dataframe_asset("frame").add_batch_definition_whole_dataframe("whole"),
            }
        return cls._ctx

    @classmethod
    def batch(cls, kind: str, frame):
        cls.context()
        return cls._batch_defs[kind].get_batch(batch_parameters={"dataframe": frame})

    _sites: set = set()

    @classmethod
    def store_result(cls, suite_name: str, batch_id: str, run_name: str, result):
        """Keep a validation result in the context's (in-memory) store; return its key."""
        from great_expectations.core.run_identifier import RunIdentifier
        from great_expectations.data_context.types.resource_identifiers import (
            ExpectationSuiteIdentifier, ValidationResultIdentifier)

        key = ValidationResultIdentifier(
            expectation_suite_identifier=ExpectationSuiteIdentifier(name=suite_name),
            run_id=RunIdentifier(run_name=run_name, run_time=datetime.now(timezone.utc)),
            batch_identifier=batch_id)
        cls.context().validation_results_store.set(key, result)
        return key

    @classmethod
    def build_docs(cls, directory: str, keys: list) -> None:
        """Render the given results and the index into the site at ``directory``."""
        ctx = cls.context()
        site = "lake_" + uuid.uuid5(uuid.NAMESPACE_URL, directory).hex[:8]
        if site not in cls._sites:
            ctx.add_data_docs_site(site, {
                "class_name": "SiteBuilder",
                "store_backend": {"class_name": "TupleFilesystemStoreBackend",
                                  "base_directory": directory},
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            })
            cls._sites.add(site)
        ctx.build_data_docs(site_names=[site], resource_identifiers=keys)


# --------------------------------------------------------------------------- the gate
def _current_run_id() -> str | None:
    """The MLflow pipeline run when one is active (stage runs are nested under it)."""
    mlflow = sys.modules.get("mlflow")
    if mlflow is None:
        return None
    try:
        run = mlflow.active_run()
        if run is None:
            return None
        return run.data.tags.get("mlflow.parentRunId") or run.info.run_id
    except Exception:  # tracking problems never break validation
        return None


def _default_cfg() -> Config:
    from .config import load_config

    return load_config()


@dataclass
class Gate:
    """Validates the tables one stage publishes; collects the result records in ``results``."""

    spark: SparkSession
    lake: Lake
    cfg: Config | None
    stage: str
    run_id: str | None = None
    period: Any = None                  # theater.period.Period, when the stage has one
    fallback_id: str | None = None      # run id when neither run_id nor an MLflow run is given
    results: list[dict] = field(default_factory=list)
    seconds: float = 0.0                # validation time (GX, metric frames, results, docs)
    staging_seconds: float = 0.0        # writing the staged copy (the write then reads it)
    timings: dict = field(default_factory=dict)
    _staged: list[str] = field(default_factory=list)
    _doc_keys: list = field(default_factory=list)

    def __post_init__(self):
        if self.cfg is None:
            self.cfg = _default_cfg()
        self.run_id = (self.run_id or _current_run_id() or self.fallback_id
                       or f"{self.stage}-{uuid.uuid4().hex[:12]}")
        self.q = self.cfg["quality"]
        if self.enabled:
            _GX.prewarm()

    @property
    def enabled(self) -> bool:
        return bool(self.q["enabled"])

    # ------------------------------------------------------------------ parameters
    def parameters(self) -> dict:
        q = self.q
        p: dict[str, Any] = {
            "min_users": self.cfg["privacy.min_users"],
            "quarantine_warn_share": q["quarantine_warn_share"],
            "quarantine_fail_share": q["quarantine_fail_share"],
            "volume_min_ratio": q["volume_min_ratio"],
            "volume_max_ratio": q["volume_max_ratio"],
        }
        if self.period is not None:
            tol = timedelta(days=q["late_tolerance_days"])
            start = datetime.combine(self.period.start, datetime.min.time())
            end = datetime.combine(self.period.end, datetime.min.time())
            p.update({"period_start": self.period.start.isoformat(),
                      "period_end": self.period.end.isoformat(),
                      "ts_min": start - tol, "ts_max": end + tol - timedelta(microseconds=1),
                      "date_min": (self.period.start - tol).isoformat(),
                      "date_max": (self.period.end + tol - timedelta(days=1)).isoformat()})
        return p

    # ------------------------------------------------------------------ check
    def check(self, table: str, df: DataFrame, *, related: dict | None = None,
              materialize: bool | None = None) -> DataFrame:
        """Validate ``df`` (about to be written to ``table``) with the table's suite.

        Returns the DataFrame to write (the staged copy when materializing). Raises
        :class:`DataQualityError` when a critical expectation fails; the results are recorded
        in ``ops/dq_results`` either way.
        """
        if not self.enabled:
            return df
        t0 = time.time()
        data = load_suite_json(table, suites_dir(self.cfg))
        materialize = self.q["materialize"] if materialize is None else materialize
        if materialize:
            t_stage = time.time()
            df = self._stage(df, table)
            self.staging_seconds += time.time() - t_stage
            t0 = time.time()
        version = self.lake.version(table)
        frames: dict[str, list[dict]] = {}
        for e in data["expectations"]:
            frames.setdefault((e.get("meta") or {}).get("frame", "rows"), []).append(e)
        params = self.parameters()
        records: list[dict] = []
        for frame, exps in frames.items():
            t_part = time.time()
            if frame == "rows":
                batch_frame, kind = df, "spark"
                keys = [k for k in data.get("meta", {}).get("row_keys", []) if k in df.columns
                        and k not in RAW_IDENTIFIER_COLUMNS]
            elif frame == "summary":
                batch_frame, kind, keys = self._summary(df, exps, related or {}), "pandas", []
            else:
                batch_frame, kind, keys = self._daily_volume(table, df, data), "pandas", ["day"]
            result = self._validate(data, exps, frame, batch_frame, kind, keys, params)
            t_part = self._tick(f"gx.{table}.{frame}", t_part)
            for r in sorted(result.results, key=lambda r: r.expectation_config.meta["_idx"]):
                e = exps[r.expectation_config.meta["_idx"]]
                rec = self._record(table, version, data["name"], frame, e, r)
                col = (e.get("kwargs") or {}).get("column")
                if frame == "summary" and col in getattr(batch_frame, "columns", []):
                    rec["observed_value"] = _short(_redact(batch_frame[col].iloc[0]))
                    rec["sample"] = "[]"
                records.append(rec)
            if self.q["data_docs"]:
                key = _GX.store_result(data["name"], f"{table.replace('/', '_')}-{frame}",
                                       f"{self.run_id}-{self.stage}", result)
                self._doc_keys.append((key, _doc_entry(records[-len(exps):], frame)))
        t_part = time.time()
        self._record_results(records)
        self._tick("dq_results", t_part)
        self.results.extend(records)
        self.seconds += time.time() - t0
        failed = [r for r in records if not r["success"] and r["severity"] == "critical"]
        for r in records:
            if not r["success"] and r["severity"] == "warning":
                log.warning("data quality warning on %s: %s: %s", table, r["expectation"],
                            r["observed_value"])
        if failed:
            self.cleanup()
            self._build_docs()
            err = DataQualityError(self._message(table, data["name"], version, failed))
            err.results = list(self.results)  # type: ignore[attr-defined]
            raise err
        return df

    # ------------------------------------------------------------------ pieces
    def _tick(self, key: str, since: float) -> float:
        now = time.time()
        self.timings[key] = round(self.timings.get(key, 0.0) + now - since, 3)
        return now

    def _validate(self, data: dict, exps: list[dict], frame: str, batch_frame, kind: str,
                  keys: list[str], params: dict):
        _GX.context()  # imports GX once (waits for a prewarm in progress)
        from great_expectations.core.expectation_suite import ExpectationSuite

        tagged = [{**e, "meta": {**(e.get("meta") or {}), "_idx": i}} for i, e in enumerate(exps)]
        suite = ExpectationSuite(name=data["name"], meta=data.get("meta") or {},
                                 expectations=tagged)
        batch = _GX.batch(kind, batch_frame)
        # Pass 1, everything: BASIC without samples (counts only; GX bundles the aggregates).
        # Pass 2, only what did not pass: SUMMARY with a few values and offending row keys.
        # Samples cost one filtered scan each per expectation, so they are only paid for failures.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = batch.validate(suite, expectation_parameters=params,
                                    result_format={"result_format": "BASIC",
                                                   "partial_unexpected_count": 0})
            failed = {r.expectation_config.meta["_idx"] for r in result.results if not r.success}
            if failed:
                detail_format: dict[str, Any] = {"result_format": "SUMMARY",
                                                 "partial_unexpected_count": self.q["sample_rows"]}
                if keys:
                    detail_format["unexpected_index_column_names"] = keys
                detail = batch.validate(
                    ExpectationSuite(name=data["name"], meta=data.get("meta") or {},
                                     expectations=[e for e in tagged
                                                   if e["meta"]["_idx"] in failed]),
                    expectation_parameters=params, result_format=detail_format)
                by_idx = {r.expectation_config.meta["_idx"]: r for r in detail.results}
                result.results = [by_idx.get(r.expectation_config.meta["_idx"], r)
                                  for r in result.results]
        return result

    def _record(self, table, version, suite, frame, e: dict, r) -> dict:
        res = r.result or {}
        raised, message = _exception(r.exception_info)
        if raised:
            observed = f"error: {message[:300]}"
        elif "observed_value" in res:
            observed = _short(res["observed_value"])
        elif "unexpected_count" in res:
            n, u = res.get("element_count") or 0, res.get("unexpected_count") or 0
            pct = res.get("unexpected_percent")
            observed = f"{u} of {n} rows unexpected" + (f" ({pct:.2f}%)" if pct is not None else "")
        else:
            observed = ""
        sample = res.get("partial_unexpected_index_list") or res.get("partial_unexpected_list") or []
        return {
            "run_id": self.run_id, "stage": self.stage, "table_name": table,
            "table_version": version, "suite": suite, "expectation": expectation_name(e),
            "expectation_type": e["type"], "frame": frame, "severity": e["meta"]["severity"],
            "success": bool(r.success) and not raised, "observed_value": observed,
            "unexpected_count": _int(res.get("unexpected_count")),
            "element_count": _int(res.get("element_count")),
            "sample": json.dumps(_redact(sample[: self.q["sample_rows"]]), default=str),
            "validated_at": datetime.now(timezone.utc).replace(tzinfo=None),
        }

    def _record_results(self, records: list[dict]) -> None:
        if not records:
            return
        rows = [tuple(r[c.split()[0]] for c in DQ_SCHEMA.split(", ")) for r in records]
        self.lake.append(self.spark.createDataFrame(rows, DQ_SCHEMA), DQ_TABLE)

    def _message(self, table, suite, version, failed) -> str:
        lines = [f"data-quality gate failed: {table} (suite {suite}, stage {self.stage}): "
                 f"{len(failed)} critical expectation(s) failed; {table} was not written "
                 f"(stays at version {version})"]
        for r in failed:
            lines.append(f"  - {r['expectation']} [{r['expectation_type']}]: observed "
                         f"{r['observed_value']}")
            sample = json.loads(r["sample"])
            if sample:
                lines.append(f"      offending rows (pseudonymized): {_short(sample, 400)}")
        lines.append(f"  results: {self.lake.path(DQ_TABLE)} (run_id {self.run_id})")
        return "\n".join(lines)

    def _stage(self, df: DataFrame, table: str) -> DataFrame:
        path = self.lake.path(f"ops/_staging/dq-{self.run_id}-{uuid.uuid4().hex[:8]}/"
                              f"{table.replace('/', '_')}")
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
            log.info("data quality %s: %d expectations in %.1fs (+%.1fs staging); %s",
                     self.stage, len(self.results), self.seconds, self.staging_seconds,
                     ", ".join(f"{k} {v:.1f}s" for k, v in sorted(self.timings.items())))
        return {"dq": list(self.results), "dq_seconds": round(self.seconds, 2),
                "dq_staging_seconds": round(self.staging_seconds, 2)}

    def _build_docs(self) -> None:
        """GX Data Docs for this stage's validations (once per stage: the index is rebuilt)."""
        if not self._doc_keys:
            return
        t = time.time()
        directory = self.lake.path("ops/data_docs")
        if "://" not in directory:  # GX's filesystem store wants an absolute base directory
            directory = os.path.abspath(directory)
        try:
            _GX.build_docs(directory, [k for k, _ in self._doc_keys])
            # GX's page for each result: validations/<suite>/<run name>/<run time>/<batch>.html
            entries = [{**e, "page": "validations/" + "/".join(k.to_tuple()) + ".html"}
                       for k, e in self._doc_keys]
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
                missing = (expected.where(F.col("org_id").isNotNull()).select("org_id").distinct()
                           .join(df.select("org_id").distinct(), "org_id", "left_anti"))
                row["orgs_missing"] = missing.count()
        return pd.DataFrame([row]) if row else pd.DataFrame([{"row_count": df.count()}])

    def _daily_volume(self, table: str, df: DataFrame, data: dict):
        import pandas as pd

        col = (data.get("meta") or {}).get("date_column", "event_date")
        if self.period is None:
            return pd.DataFrame({"day": [], "n": [], "baseline": [], "volume_ratio": []})
        weeks = self.q["volume_history_weeks"]
        start, end = self.period.start, self.period.end
        counts = {r[0]: r[1] for r in df.groupBy(col).count().collect() if r[0] is not None}
        hist_start = start - timedelta(days=7 * weeks)
        known_before: dict[date, int] = {}
        if self.lake.exists(table):
            hist = (self.lake.read(self.spark, table)
                    .where((F.col(col) >= F.lit(hist_start)) & (F.col(col) < F.lit(start)))
                    .groupBy(col).count().collect())
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


# --------------------------------------------------------------------------- summaries
def summary_lines(results: Iterable[dict]) -> list[str]:
    """Per table: passed / warnings / failed counts, and the names of what did not pass."""
    by_table: dict[str, dict[str, list]] = {}
    for r in results:
        t = by_table.setdefault(r["table_name"], {"pass": [], "warn": [], "fail": []})
        kind = "pass" if r["success"] else ("fail" if r["severity"] == "critical" else "warn")
        t[kind].append(r["expectation"])
    lines = []
    for table in sorted(by_table):
        t = by_table[table]
        line = (f"{table}: {len(t['pass'])} passed, {len(t['warn'])} warning(s), "
                f"{len(t['fail'])} failed")
        if t["warn"]:
            line += f"; warnings: {', '.join(sorted(set(t['warn'])))}"
        if t["fail"]:
            line += f"; failed: {', '.join(sorted(set(t['fail'])))}"
        lines.append(line)
    return lines


# --------------------------------------------------------------------------- helpers
def _doc_entry(records: list[dict], frame: str) -> dict:
    """One line of the offline Data Docs index (:mod:`theater.dq_docs`) for a validated frame."""
    first = records[0] if records else {}

    def brief(r):
        return {"expectation": r["expectation"], "observed_value": r["observed_value"]}

    return {
        "run_id": first.get("run_id"), "stage": first.get("stage"),
        "table": first.get("table_name"), "table_version": first.get("table_version"),
        "suite": first.get("suite"), "frame": frame,
        "validated_at": max((r["validated_at"] for r in records), default=None),
        "passed": sum(1 for r in records if r["success"]),
        "warnings": [brief(r) for r in records if not r["success"] and r["severity"] != "critical"],
        "failed": [brief(r) for r in records if not r["success"] and r["severity"] == "critical"],
    }


def _exception(info) -> tuple[bool, str]:
    """(raised, message) from a GX exception_info: flat, or keyed by metric id."""
    if not isinstance(info, dict):
        return False, ""
    if "raised_exception" in info:
        return bool(info.get("raised_exception")), str(info.get("exception_message") or "")
    for v in info.values():
        if isinstance(v, dict) and v.get("raised_exception"):
            return True, str(v.get("exception_message") or "")
    return False, ""


def _int(v) -> int | None:
    try:
        return None if v is None else int(v)
    except (TypeError, ValueError):
        return None


def _redact(sample):
    if isinstance(sample, list):
        return [_redact(s) for s in sample]
    if isinstance(sample, dict):
        return {k: ("<redacted>" if k in RAW_IDENTIFIER_COLUMNS else _redact(v))
                for k, v in sample.items()}
    if hasattr(sample, "item") and not isinstance(sample, (list, dict, str)):
        sample = sample.item()  # numpy scalars
    if isinstance(sample, float) and math.isnan(sample):
        return None
    return sample


def _short(value, limit: int = 200) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."
