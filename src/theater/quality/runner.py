"""The GX runner: one ephemeral Great Expectations context per process, with a Spark and a
pandas datasource (the Data Docs site on it: :mod:`.docs`).

GX is imported in a background thread (:meth:`GX.prewarm`) while the stage's Spark work runs:
the import and context cost about 5 s per process (measured: see ``prewarm``), which the
thread hides behind the first Spark job.
"""

from __future__ import annotations

import logging
import os
import threading
import warnings

from .. import logs
from .metrics import Outcome

log = logging.getLogger(__name__)

# GX logs ~200 INFO lines while it imports ("Skipping registering function ..."): quiet it.
logs.quiet("great_expectations")


class GX:
    """One ephemeral GX context per process: a Spark and a pandas datasource, each with one
    dataframe asset and a whole-dataframe batch definition."""

    _ctx = None
    _batch_defs: dict = {}
    _lock = threading.Lock()
    _prewarming = False

    @classmethod
    def prewarm(cls) -> None:
        """Import GX and build the context in a background thread (about 5 s, mostly the
        import), so that it overlaps with the stage's Spark work instead of adding to it.
        Once per process: later calls return at once."""
        if cls._ctx is None and not cls._prewarming:
            cls._prewarming = True
            # GX's Spark datasource imports pyspark.ml, and so does MLflow in the main thread:
            # import it here first (~40 ms) so the two imports never race on a half-built module
            # ("cannot access submodule 'ml' of module 'pyspark'").
            import pyspark.ml.param  # noqa: F401

            threading.Thread(target=cls._prewarm, name="gx-prewarm", daemon=True).start()

    @classmethod
    def started(cls) -> bool:
        """Whether GX is imported or being imported in this process."""
        return cls._ctx is not None or cls._prewarming

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

            logs.quiet("great_expectations")  # some GX modules set INFO on their own logger
            ctx = gx.get_context(mode="ephemeral")
            ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
            cls._ctx = ctx
        return cls._ctx

    @classmethod
    def _batch_definition(cls, kind: str):
        # Data sources are added on first validation, not with the context: adding GX's Spark
        # source connects to a Spark session, and a process that only renders Data Docs (the
        # parent of the stage processes) has none, and must not start or reach one.
        with cls._lock:
            ctx = cls._context()
            if kind not in cls._batch_defs:
                if kind == "spark":
                    source = ctx.data_sources.add_spark("theater_spark")
                else:
                    source = ctx.data_sources.add_pandas("theater_pandas")
                cls._batch_defs[kind] = source.add_dataframe_asset(
                    "frame"
                ).add_batch_definition_whole_dataframe("whole")
            return cls._batch_defs[kind]

    @classmethod
    def batch(cls, kind: str, frame):
        return cls._batch_definition(kind).get_batch(batch_parameters={"dataframe": frame})


def gx_validate(data, exps, kind, batch_frame, keys, params, sample_rows, complete=False):
    """GX's own validation of ``exps`` (for expectation types :mod:`.metrics` does not
    compute), as :class:`.metrics.Outcome` in ``exps``' order: every expectation in ``BASIC``
    without samples, then the failed ones again with up to ``sample_rows`` samples and the
    row ``keys`` (``complete``: GX's COMPLETE format, every offending row)."""
    GX.context()  # imports GX once (waits for a prewarm in progress)
    from great_expectations.core.expectation_suite import ExpectationSuite

    tagged = [{**e, "meta": {**(e.get("meta") or {}), "_idx": i}} for i, e in enumerate(exps)]
    suite = ExpectationSuite(name=data["name"], meta=data.get("meta") or {}, expectations=tagged)
    batch = GX.batch(kind, batch_frame)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = batch.validate(
            suite,
            expectation_parameters=params,
            result_format={"result_format": "BASIC", "partial_unexpected_count": 0},
        )
        by_idx = {r.expectation_config.meta["_idx"]: r for r in result.results}
        failed = [i for i, r in by_idx.items() if not r.success]
        if failed:
            detail_format = {
                "result_format": "COMPLETE" if complete else "SUMMARY",
                "partial_unexpected_count": sample_rows,
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
            by_idx.update({r.expectation_config.meta["_idx"]: r for r in detail.results})
    return [
        Outcome(
            e,
            bool(by_idx[i].success),
            dict(by_idx[i].result or {}),
            dict(by_idx[i].exception_info or {}),
        )
        for i, e in enumerate(exps)
    ]
