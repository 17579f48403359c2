"""tests/unit/test_refine_transforms.py, on Apache Spark (classic, local mode)."""

from spark_suite import unit_module

globals().update(unit_module("test_refine_transforms"))
