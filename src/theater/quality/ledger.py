"""What a gate records: its result records (appended to ``ops/dq_results``), its Data Docs
(:class:`.docs.Kept`), its time, and the error that stops a stage."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from pyspark.sql import SparkSession

from ..errors import DataQualityError
from ..lake import Lake
from . import results
from .docs import Kept

log = logging.getLogger(__name__)


@dataclass
class Ledger:
    """One stage's validation records, Data Docs and timings."""

    spark: SparkSession
    lake: Lake
    run_id: str
    stage: str
    data_docs: bool  # quality.data_docs: render GX's Data Docs
    # records kept until :meth:`flush` (at :meth:`finish`, or before :meth:`stop` raises):
    # one append of the stage's records instead of one per validated table
    defer: bool = False
    records: list[dict] = field(default_factory=list)
    pending: list[dict] = field(default_factory=list)
    seconds: float = 0.0  # validation time (GX, metric frames, results, docs)
    timings: dict = field(default_factory=dict)

    def __post_init__(self):
        run_name = f"{self.run_id}-{self.stage}"
        self.docs = Kept(self.lake.path("ops/data_docs"), run_name, self.data_docs)

    def tick(self, key: str, since: float) -> float:
        now = time.time()
        self.timings[key] = round(self.timings.get(key, 0.0) + now - since, 3)
        return now

    def add(self, data: dict, table: str, parts: list, since: float) -> list[dict]:
        """Keep the Data Docs of each ``(frame, outcomes, records)`` of ``parts`` (suite
        ``data`` on ``table``); append the records to ``ops/dq_results`` and to this ledger,
        and return them. The validation began at ``since``."""
        for frame, outcomes, part in parts:
            self.docs.keep(data, table, frame, outcomes, part)
        records = [r for _, _, part in parts for r in part]
        self.pending.extend(records)
        if not self.defer:
            self.flush()
        self.records.extend(records)
        self.seconds += time.time() - since
        return records

    def flush(self) -> None:
        """Append the records not yet appended to ``ops/dq_results``."""
        if not self.pending:
            return
        t = time.time()
        results.append(self.spark, self.lake, self.pending)
        self.pending = []
        self.tick("dq_results", t)
        if self.defer:  # else :meth:`add` counts it
            self.seconds += time.time() - t

    def stop(self, table: str, suite: str, version, failed: list[dict]):
        """Append the records kept, render the Data Docs now and raise the
        :class:`DataQualityError` naming ``failed``."""
        self.flush()
        self.render_docs(now=True)
        message = results.failure_message(
            self.lake, self.run_id, self.stage, table, suite, version, failed
        )
        err = DataQualityError(message)
        err.results = list(self.records)  # type: ignore[attr-defined]
        raise err

    def render_docs(self, now: bool = False) -> None:
        t = time.time()
        if self.docs.render(now):
            self.seconds += time.time() - t
            self.tick("data_docs", t)

    def finish(self, staging_seconds: float) -> dict:
        """Render (or hand over) the Data Docs; the metrics the stage reports (``dq``: one
        record per expectation, ``dq_seconds``, ``dq_staging_seconds``: writing the staged
        copies, :meth:`.Staging.copy`). The records kept are appended first."""
        self.flush()
        self.render_docs()
        if self.records:
            log.info(
                "data quality %s: %d expectations in %.1fs (+%.1fs staging); %s",
                self.stage,
                len(self.records),
                self.seconds,
                staging_seconds,
                ", ".join(f"{k} {v:.1f}s" for k, v in sorted(self.timings.items())),
            )
        return {
            "dq": list(self.records),
            "dq_seconds": round(self.seconds, 2),
            "dq_staging_seconds": round(staging_seconds, 2),
        }
