"""tests/unit/test_signals.py, on Apache Spark (classic, local mode)."""

from spark_suite import unit_module

globals().update(unit_module("test_signals"))
