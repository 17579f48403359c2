"""The gate: validate each table a stage is about to publish, decide, record the results.

What a suite observes comes from :mod:`.measure` (one aggregate query per frame, one key
count per uniqueness expectation); this module decides: a critical failure stops the stage
before its write, a landing file failing a critical per-file expectation is rejected alone.
:mod:`.ledger` records the results in ``ops/dq_results`` and keeps the Data Docs, rendered
after the stage's writes or, in a pipeline run, once after the last stage
(:func:`.docs.deferred_docs`)."""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Callable

from pyspark.sql import DataFrame, SparkSession

from ..config import Config
from ..lake import Lake
from . import frames, results
from .ledger import Ledger
from .measure import Measure
from .suites import load_suite_json, parameters, suites_dir

log = logging.getLogger(__name__)

__all__ = ["Gate"]


@dataclass
class Gate:
    """Validates the tables one stage publishes; collects the result records in ``results``."""

    spark: SparkSession
    lake: Lake
    cfg: Config
    stage: str
    # the pipeline's run id (MLflow), passed in by the stage; or a function giving it, asked
    # at the first validation: a pipeline run's MLflow run is still being created (in a
    # background thread) while ingest reads and checks its first files
    run_id: str | Callable[[], str | None] | None = None
    period: Any = None  # theater.period.Period, when the stage has one
    fallback_id: str | None = None  # run id when the stage runs outside a pipeline run
    # ``ops/dq_results`` appended once, at :meth:`finish` (or a failure), not per table: the
    # caller calls :meth:`flush` on every other way out
    defer_results: bool = False

    def __post_init__(self):
        self._run_id_from = self.run_id if callable(self.run_id) else None
        if self._run_id_from is None:
            self.run_id = self._or_fallback(self.run_id)
        else:
            self.run_id = None  # until :attr:`ledger` or :attr:`measure` is first used
        self.q = self.cfg.quality
        self.enabled = bool(self.q.enabled)

    def _or_fallback(self, run_id: str | None) -> str:
        return run_id or self.fallback_id or f"{self.stage}-{uuid.uuid4().hex[:12]}"

    def _resolved_id(self) -> str:
        if self.run_id is None:
            self.run_id = self._or_fallback(self._run_id_from())
        return self.run_id

    @cached_property
    def ledger(self) -> Ledger:
        return Ledger(
            self.spark,
            self.lake,
            self._resolved_id(),
            self.stage,
            self.q.data_docs,
            self.defer_results,
        )

    @cached_property
    def measure(self) -> Measure:
        return Measure(
            self.spark,
            self.lake,
            self.cfg,
            self._resolved_id(),
            self.stage,
            self.period,
            self.ledger.tick,
        )

    @property
    def results(self) -> list[dict]:
        return self.ledger.records if "ledger" in self.__dict__ else []

    def check(self, table: str, df: DataFrame, *, related=None, materialize=None, key_buckets=1):
        """Validate ``df`` (about to be written to ``table``) with the table's suite
        (``key_buckets``: :meth:`.Measure.table`); return the DataFrame to write (the staged
        copy with ``quality.materialize``). Raises :class:`DataQualityError` when a critical
        expectation fails; the results are recorded in ``ops/dq_results`` either way."""
        if not self.enabled:
            return df
        t0 = time.time()
        data = load_suite_json(table, suites_dir(self.cfg))
        if self.q.materialize if materialize is None else materialize:
            df = self.measure.staging.copy(df, table)
            t0 = time.time()
        version, parts = self.measure.table(table, data, df, related or {}, key_buckets)
        failed = _failed(table, self.ledger.add(data, table, parts, t0))
        if failed:
            self.cleanup()
            self.ledger.stop(table, data["name"], version, failed)
        return df

    def check_files(
        self,
        table: str,
        df: DataFrame,
        quarantined: DataFrame,
        file_col="_source_file",
        counts=None,
    ):
        """The suite's per-file expectations (``meta.frame: files``) on one row per landing
        file, so that one file's bad records judge that file only. Returns ``{file: reason}``
        of the files failing a critical expectation (the caller rejects those alone); raises
        :class:`DataQualityError` only when no file can be blamed (the expectation raised).
        ``counts``: the two frames' rows per file (:func:`.frames.file_counts`), when the
        caller has them."""
        data = load_suite_json(table, suites_dir(self.cfg)) if self.enabled else {}
        exps = [
            e for e in data.get("expectations", []) if (e.get("meta") or {}).get("frame") == "files"
        ]
        if not exps:
            return {}
        t0 = time.time()
        rows = frames.files_rows(df, quarantined, file_col, counts)
        version, outcomes, records, bad = self.measure.files(table, data, exps, rows, file_col)
        params = parameters(self.cfg, self.period)
        rejected, unjudged = _reject_files(table, exps, records, bad, rows, file_col, params)
        self.ledger.add(data, table, [("files", outcomes, records)], t0)
        if unjudged:  # no file can be blamed: the caller writes and records none of them
            self.ledger.stop(table, data["name"], version, unjudged)
        return rejected

    def flush(self) -> None:
        """Append the result records not yet in ``ops/dq_results`` (``defer_results``)."""
        if "ledger" in self.__dict__:  # nothing validated yet: nothing to append
            self.ledger.flush()

    def finish(self) -> dict:
        """End of the stage: staging removed, Data Docs rendered; :meth:`.Ledger.finish`."""
        self.cleanup()
        return self.ledger.finish(self.measure.staging.seconds)

    def cleanup(self) -> None:
        """Remove this gate's staging copies (call after the stage's writes)."""
        if "measure" in self.__dict__:  # no validation yet: no staging copy
            self.measure.staging.cleanup()


def _failed(table: str, records: list[dict]) -> list[dict]:
    """The records of failed critical expectations; failed warnings are logged."""
    for r in records:
        if not r["success"] and r["severity"] == "warning":
            log.warning(
                "data quality warning on %s: %s: %s", table, r["expectation"], r["observed_value"]
            )
    return [r for r in records if not r["success"] and r["severity"] == "critical"]


def _reject_files(table, exps, records, bad, rows, file_col, params) -> tuple[dict, list]:
    """``({file: reason}, unjudged records)``: the files (``rows``: one per file) failing a
    critical expectation, and the critical expectations that failed without naming a file
    (they raised)."""
    by_file = {r[file_col]: r for r in rows}
    rejected: dict[str, str] = {}
    unjudged = []
    for e, rec, files in zip(exps, records, bad):
        if rec["success"]:
            continue
        if rec["severity"] != "critical":
            shown = ", ".join(files) or rec["observed_value"]
            log.warning("data quality warning on %s: %s: %s", table, rec["expectation"], shown)
            continue
        if not files and by_file:  # the expectation raised: no file can be told apart
            unjudged.append(rec)
        for f in files:
            reason = results.file_reason(e, by_file.get(f, {}), params)
            rejected.setdefault(f, f"data-quality gate on {table}: {reason}")
    return rejected, unjudged
