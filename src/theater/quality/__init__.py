"""Data-quality gates (package: ``suites`` the suite files and their parameters, ``runner``
the GX context, ``metrics`` the expectations computed as one aggregate, ``frames`` the small
frames some expectations judge, ``measure`` a suite's outcomes and records on a table (with the
staged copies), ``gate`` the decision before publish, ``ledger`` what a gate records,
``results`` records, messages and summaries, ``docs`` the Data Docs). Great Expectations (GX Core 1.x) suites run on every table
before it is published.

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

  * ``rows`` (default): the Spark DataFrame about to be written. The expectations are computed
    by :mod:`.metrics` as ONE aggregate query over the frame (for each expectation, conditional
    counts of its rows, missing and unexpected values, under its row condition), plus one grouped
    key count per uniqueness expectation; schema expectations are read from the schema. Only an
    expectation that did not pass is queried again, for a handful of offending values and their
    row keys (the suite's ``meta.row_keys``), so nothing but those keys reaches the driver. The
    results have GX's own shape and values (``tests/unit/test_dq_metrics.py`` compares them with
    GX's validation for every expectation type in use); a suite with a type :mod:`.metrics` does
    not compute is validated by GX's Spark engine instead.
  * ``summary``: one-row table-level metrics that need more than the rows themselves
    (``row_count``, ``quarantine_share`` of a batch, ``orgs_missing`` = silver orgs absent from
    the gold index). They are computed in Spark with one aggregation each and checked on a
    tiny frame (:func:`.metrics.evaluate_rows`, GX's pandas semantics).
  * ``files`` (ingest): one row per landing file of the batch (``row_count``,
    ``quarantined_count``, ``quarantine_share`` of that file), validated the same way through
    ``gate.check_files`` before ``check``: a file failing a critical expectation is rejected
    alone (named, with the reason) and the batch's other files load; nothing is raised there.
  * ``daily_volume``: one row per day of the period: the day's row count, its baseline (median
    of the same weekday in the previous ``quality.volume_history_weeks`` weeks, taken from the
    new rows and the table's own history) and ``volume_ratio``; validated the same way.

- **Validate before publish**: a stage calls ``gate.check(table, df, ...)`` right before the
  ``lake`` write. With ``quality.materialize`` (default) the DataFrame is first written once to
  a staging Parquet folder under ``<lake>/ops/_staging/`` and both validation and the table
  write read that copy: Sail does not cache (``persist`` is a no-op), so validating the lazy plan
  would recompute the whole stage (signals, bootstrap) once for GX and once for the write.
  ``check`` returns the DataFrame to write. If a critical expectation fails, the results are
  appended to ``ops/dq_results``, Data Docs are written, and :class:`DataQualityError` is raised
  *before* the write, so the target table's Delta version does not change.
- **Results are data**: every check appends one row per expectation to ``ops/dq_results``
  (Delta, through :class:`theater.lake.Lake`; ingest's gate keeps them and appends the stage's
  rows at once, before the files log commits the batch, or when it stops): run id, stage,
  table, the table's version at validation time (the version the write will replace; null for
  a new table), suite, expectation, severity, success, observed value, unexpected/element
  counts. The stage puts the same records in its metrics under ``"dq"``; :func:`summary_lines`
  turns them into per-table pass/warn/fail counts.
- **Data Docs**: GX's own site builder, configured in the ephemeral context with a filesystem
  store at ``<lake>/ops/data_docs/``, built once per stage (``index.html``; each run adds its
  validation pages; the index lists the validations of the latest process, because an
  ephemeral context keeps results in memory). The gate's results are converted to GX's
  validation results for the renderer (:func:`.metrics.to_gx_result`). In a pipeline run
  (:func:`theater.pipeline.run_pipeline`) they are rendered once after the last stage
  (:func:`.docs.deferred_docs`), so GX is imported once, off the stages' path.
- Cost: importing GX takes ~3-4 s (only where docs are rendered, or for a type the aggregate
  does not compute); the staged copy costs one Parquet write and read of each validated table;
  the checks are one aggregate scan of that copy plus one key count per uniqueness expectation.
- Raw identifiers never leave bronze: offending-row samples show only the suite's ``row_keys``
  (event ids, tools, orgs, pseudonymous user keys) and values of columns not in
  :data:`RAW_IDENTIFIER_COLUMNS`.
"""

from __future__ import annotations

from .gate import Gate
from .results import DQ_SCHEMA, RAW_IDENTIFIER_COLUMNS, summary_lines
from .runner import GX
from .suites import (
    DQ_TABLE,
    FRAMES,
    SEVERITIES,
    SuiteError,
    expectation_name,
    load_suite,
    load_suite_json,
    suite_file_name,
    suites_dir,
)

__all__ = [
    "DQ_SCHEMA",
    "DQ_TABLE",
    "FRAMES",
    "GX",
    "Gate",
    "RAW_IDENTIFIER_COLUMNS",
    "SEVERITIES",
    "SuiteError",
    "expectation_name",
    "load_suite",
    "load_suite_json",
    "suite_file_name",
    "suites_dir",
    "summary_lines",
]
