"""tests/unit/test_contract_strict.py (strict JSON, JSON types, limits) on Apache Spark."""

from spark_suite import unit_module

globals().update(unit_module("test_contract_strict"))
