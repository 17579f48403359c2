"""What a suite observes on a table about to be published, as result records: the gate's
plumbing (:class:`theater.quality.gate.Gate` decides on them).

Each frame of the suite (``meta.frame``) gets its outcomes from :mod:`.metrics` (the rows as
one aggregate query plus one key count per uniqueness expectation; the small frames of
:mod:`.frames` as records), or from GX itself for an expectation type the aggregate does not
compute; each outcome becomes one ``ops/dq_results`` record (:func:`.results.record`). The
staged copy a table is validated and written from, and the key columns written by hash bucket
for a large table's uniqueness counts, live under ``<lake>/ops/_staging/`` until
:meth:`Measure.cleanup`."""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

from pyspark.sql import DataFrame, SparkSession

from ..config import Config
from ..lake import Lake
from . import frames, metrics
from .results import RAW_IDENTIFIER_COLUMNS, record, redact, short
from .runner import gx_validate
from .suites import parameters

# key buckets per partitioned write of the keys (``Measure._keys_by_bucket``): about 4.5M rows
# at the default ``scoring.bucket_rows``
KEY_CHUNK_BUCKETS = 3


@dataclass
class Staging:
    """This validation's folders under ``<lake>/ops/_staging/``: the staged copy a table is
    validated and written from, the key columns of a large table written by hash bucket."""

    spark: SparkSession
    lake: Lake
    run_id: str
    seconds: float = 0.0  # writing the staged copies (the write then reads them)
    _staged: list[str] = field(default_factory=list)

    def copy(self, df: DataFrame, table: str) -> DataFrame:
        """``df`` written once as Parquet and read back: validation and the table's write
        then read that copy (Sail does not cache: the lazy plan would be computed once for
        the checks and again for the write)."""
        t = time.time()
        path = self._path(table.replace("/", "_"))
        df.write.mode("overwrite").parquet(path)
        self.seconds += time.time() - t
        # the schema is given: an empty frame leaves no Parquet file to infer it from
        return self.spark.read.schema(df.schema).parquet(path)

    def keys_by_bucket(self, narrow: DataFrame, bucket, n: int):
        """``narrow`` (key columns) written once, partitioned by ``bucket`` (0..n-1); returns
        bucket ``b``'s rows (an empty frame where none hash).

        Filtering the frame by bucket instead rescanned it once per bucket and per GX query:
        at 50M rows (51 buckets) more than a minute a bucket. The write goes in chunks of
        ``KEY_CHUNK_BUCKETS`` buckets (one narrow scan each), because Sail's partitioned
        writer keeps a file open per bucket until its input ends (each holding up to a row
        group, :func:`..buckets.write_partitioned`): a chunk bounds the open files. A scratch
        copy, in the cheaper codec (``buckets.SCRATCH_CODEC``)."""
        from ..buckets import SCRATCH_CODEC, read_bucket, write_partitioned

        path = self._path("keys")
        chunks = -(-n // KEY_CHUNK_BUCKETS)
        for c in range(chunks):
            part = narrow if chunks == 1 else narrow.where(bucket % chunks == c)
            files = -(-n // chunks)
            write_partitioned(part, bucket, path, c > 0, files, compression=SCRATCH_CODEC)

        def rows(b: int) -> DataFrame:
            part = read_bucket(self.spark, path, b, narrow.schema)
            return part if part is not None else narrow.limit(0)

        return rows

    def _path(self, name: str) -> str:
        path = self.lake.path(f"ops/_staging/dq-{self.run_id}-{uuid.uuid4().hex[:8]}/{name}")
        self._staged.append(os.path.dirname(path))
        return path

    def cleanup(self) -> None:
        """Remove the staging folders (call after the stage's writes)."""
        for p in self._staged:
            shutil.rmtree(p, ignore_errors=True)
        self._staged.clear()


@dataclass
class Measure:
    """The outcomes and records of one stage's validations, with their timings."""

    spark: SparkSession
    lake: Lake
    cfg: Config
    run_id: str
    stage: str
    period: Any = None
    tick: Callable[[str, float], float] = lambda key, since: time.time()  # records timings

    def __post_init__(self):
        self.staging = Staging(self.spark, self.lake, self.run_id)

    def table(self, table: str, data: dict, df: DataFrame, related: dict, key_buckets: int):
        """``(version, [(frame, outcomes, records), ...])`` for every frame of the suite
        ``data`` but the per-file one (:meth:`files`, before this), ``version`` being the
        table's version the write will replace. ``key_buckets`` > 1 (a large table, see
        :mod:`theater.buckets`): the uniqueness key counts run on each hash bucket of their key
        columns in turn and are summed (the same verdict and counts as over the whole frame)."""
        version = self.lake.version(table)
        params = parameters(self.cfg, self.period)
        parts = []
        for frame, exps in _by_frame(data).items():
            t = time.time()
            outcomes, summary = self._frame(
                table, frame, data, exps, df, related, params, key_buckets
            )
            self.tick(f"dq.{table}.{frame}", t)
            records = [
                self._record(table, version, data, frame, e, o) for e, o in zip(exps, outcomes)
            ]
            _summary_values(exps, records, summary)
            parts.append((frame, outcomes, records))
        return version, parts

    def _frame(self, table, frame, data, exps, df, related, params, key_buckets):
        """(outcomes, the summary row or ``{}``) of one frame of the suite."""
        q = self.cfg.quality
        if frame == "rows":
            return rows_outcomes(
                data, exps, df, params, q.sample_rows, key_buckets, self.staging
            ), {}
        if frame == "summary":
            summary = frames.summary_row(df, exps, related)
            return small_outcomes(
                data, exps, [summary], list(summary), [], params, q.sample_rows
            ), summary
        rows = frames.daily_volume_rows(self.spark, self.lake, table, df, data, self.period, q)
        cols = list(frames.VOLUME_COLUMNS)
        return small_outcomes(data, exps, rows, cols, ["day"], params, q.sample_rows), {}

    def files(self, table: str, data: dict, exps: list[dict], rows: list[dict], file_col: str):
        """``(version, outcomes, records, bad)`` of the per-file expectations ``exps`` on
        ``rows`` (one per landing file: :func:`.frames.files_rows`); ``bad`` holds, for each
        expectation, the files it found offending."""
        t0 = time.time()
        params = parameters(self.cfg, self.period)
        cols = [file_col, "row_count", "quarantined_count", "quarantine_share"]
        n = self.cfg.quality.sample_rows
        outcomes = small_outcomes(data, exps, rows, cols, [file_col], params, n, True)
        self.tick(f"dq.{table}.files", t0)
        version = self.lake.version(table)
        records = [
            self._record(table, version, data, "files", e, o) for e, o in zip(exps, outcomes)
        ]
        bad = [
            _files_verdict(rec, e, o, rows, file_col, n)
            for rec, e, o in zip(records, exps, outcomes)
        ]
        return version, outcomes, records, bad

    def _record(self, table, version, data, frame, e, outcome) -> dict:
        n = self.cfg.quality.sample_rows
        return record(self.run_id, self.stage, table, version, data["name"], frame, e, outcome, n)


def _by_frame(data: dict) -> dict[str, list[dict]]:
    """The suite's expectations by frame (``meta.frame``, default ``rows``), the per-file ones
    left out (:meth:`Measure.files`)."""
    by_frame: dict[str, list[dict]] = {}
    for e in data["expectations"]:
        by_frame.setdefault((e.get("meta") or {}).get("frame", "rows"), []).append(e)
    by_frame.pop("files", None)
    return by_frame


def _summary_values(exps: list[dict], records: list[dict], summary: dict) -> None:
    """A summary column's record shows the summary's own value, not GX's rendering of it."""
    for e, rec in zip(exps, records):
        col = (e.get("kwargs") or {}).get("column")
        if col in summary:
            rec["observed_value"] = short(redact(summary[col]))
            rec["sample"] = "[]"


def _files_verdict(rec: dict, e: dict, o, rows: list[dict], file_col: str, n: int) -> list:
    """The files ``o`` found offending; ``rec`` (the expectation's record) gets the worst
    file's value as ``observed_value`` and up to ``n`` offending files, with their values, as
    ``sample``."""
    by_file = {r[file_col]: r for r in rows}
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
        [{"file": f, col: by_file.get(f, {}).get(col)} for f in bad[:n]], default=str
    )
    return bad


def rows_outcomes(data, exps, df: DataFrame, params, sample_rows: int, key_buckets: int, staging):
    """The rows frame's outcomes: the aggregate (:func:`metrics.evaluate_spark`), or GX itself
    for a suite with an expectation type the aggregate does not compute. ``key_buckets`` > 1:
    uniqueness counted one hash bucket of the key at a time (:func:`_duplicates_by_bucket`)."""
    keys = [
        k
        for k in data.get("meta", {}).get("row_keys", [])
        if k in df.columns and k not in RAW_IDENTIFIER_COLUMNS
    ]
    if not metrics.supported(exps):
        return gx_validate(data, exps, "spark", df, keys, params, sample_rows)
    duplicates = None
    if key_buckets > 1:

        def duplicates(cols, keep):
            narrow = df.where(keep).select(*dict.fromkeys([*cols, *keys]))
            return _duplicates_by_bucket(narrow, cols, keys, key_buckets, sample_rows, staging)

    return metrics.evaluate_spark(
        df, exps, params, keys=keys, sample_rows=sample_rows, duplicates=duplicates
    )


def small_outcomes(data, exps, rows: list[dict], cols, keys, params, sample_rows, complete=False):
    """Outcomes of a small frame given as records (summary, daily volume, files)."""
    outcomes = metrics.evaluate_rows(
        rows, cols, exps, params, keys=keys, sample_rows=sample_rows, complete=complete
    )
    if outcomes is not None:
        return outcomes
    import pandas as pd

    frame = pd.DataFrame(rows, columns=cols)
    return gx_validate(data, exps, "pandas", frame, keys, params, sample_rows, complete)


def _duplicates_by_bucket(narrow: DataFrame, cols, keys, n: int, sample_rows: int, staging):
    """(duplicated rows, a sample of them) of ``cols`` counted one hash bucket of the key at a
    time: every duplicate pair shares a bucket, so the sum is the whole frame's count while the
    grouped count holds one bucket's keys."""
    from ..buckets import bucket_of

    bucket = staging.keys_by_bucket(narrow, bucket_of(n, *cols), n)
    total, sample = 0, []
    for b in range(n):
        part = bucket(b)
        count = metrics.duplicate_count(part, cols)
        total += count
        want = sample_rows - len(sample)
        if count and want > 0:
            sample += metrics.duplicate_sample(part, cols, keys, want)
    return total, sample
