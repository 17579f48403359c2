"""The gate's aggregate evaluation (theater.quality.metrics) against GX's own validation, on
small hand-made frames, for every expectation type the suites use: the same success, element /
unexpected / missing counts and percentages, observed values, errors, and the same offending
rows in the samples."""

from __future__ import annotations

import datetime as dt
import json
import math
import warnings
from pathlib import Path

import pytest

from theater.quality import metrics
from theater.quality.runner import GX

SUITES = Path(__file__).resolve().parents[2] / "expectations"

ROWS = [
    # k, n, v, s, d, ts, flag, status
    ("a", 1, 2.0, "x1", dt.date(2026, 7, 1), dt.datetime(2026, 7, 1, 1), True, "significant"),
    ("a", None, 5.0, None, dt.date(2026, 6, 1), None, False, None),
    ("b", 3, None, "zz", None, dt.datetime(2026, 12, 1), None, "not_significant"),
    (None, -1, 1.0, "x2", dt.date(2026, 7, 3), dt.datetime(2026, 7, 3), False, "disabled"),
    ("c", 7, 7.0, "x1", dt.date(2026, 7, 4), dt.datetime(2026, 7, 4), True, "significant"),
]
SCHEMA = "k string, n int, v double, s string, d date, ts timestamp, flag boolean, status string"
PARAMS = {
    "date_min": "2026-06-15",
    "date_max": "2026-07-31",
    "ts_min": dt.datetime(2026, 6, 1),
    "ts_max": dt.datetime(2026, 9, 30, 23, 59, 59, 999999),
    "min_users": 2,
}
FLAG_TRUE = {"type": "comparison", "column": {"name": "flag"}, "operator": "==", "parameter": True}
FLAG_FALSE = {**FLAG_TRUE, "parameter": False}
V_NULL = {"type": "nullity", "column": {"name": "v"}, "is_null": True}
V_NOT_NULL = {"type": "nullity", "column": {"name": "v"}, "is_null": False}
AND = {
    "type": "and",
    "conditions": [
        FLAG_FALSE,
        {"type": "comparison", "column": {"name": "status"}, "operator": "!=", "parameter": "x"},
    ],
}


def E(t, **kw):
    return {"type": t, "kwargs": kw, "meta": {"severity": "critical"}}


EXPECTATIONS = [
    E("expect_column_values_to_not_be_null", column="n"),
    E("expect_column_values_to_not_be_null", column="k"),
    E("expect_column_values_to_not_be_null", column="n", mostly=0.7),
    E("expect_column_values_to_not_be_null", column="n", mostly=0.9),
    E("expect_column_values_to_not_be_null", column="s", row_condition=V_NOT_NULL),
    E("expect_column_values_to_not_be_null", column="status", row_condition=AND),
    E("expect_column_values_to_be_null", column="v", row_condition=FLAG_TRUE),
    E("expect_column_values_to_be_null", column="s", row_condition=V_NULL),
    E("expect_column_values_to_be_between", column="n", min_value=0),
    E("expect_column_values_to_be_between", column="n", max_value=0),
    E("expect_column_values_to_be_between", column="v", min_value=0, max_value=5),
    E("expect_column_values_to_be_between", column="n", min_value={"$PARAMETER": "min_users"}),
    E(
        "expect_column_values_to_be_between",
        column="n",
        min_value={"$PARAMETER": "min_users"},
        row_condition=FLAG_FALSE,
    ),
    E(
        "expect_column_values_to_be_between",
        column="d",
        min_value={"$PARAMETER": "date_min"},
        max_value={"$PARAMETER": "date_max"},
    ),
    E(
        "expect_column_values_to_be_between",
        column="ts",
        min_value={"$PARAMETER": "ts_min"},
        max_value={"$PARAMETER": "ts_max"},
    ),
    E("expect_column_values_to_be_in_set", column="s", value_set=["x1", "x2"]),
    E("expect_column_values_to_be_in_set", column="n", value_set=[1, 3, 7, -1]),
    E(
        "expect_column_values_to_be_in_set",
        column="status",
        value_set=["significant"],
        row_condition=FLAG_TRUE,
    ),
    E("expect_column_values_to_match_regex", column="s", regex="^x\\d$"),
    E("expect_column_values_to_match_regex", column="k", regex="^[a-c]$"),
    E("expect_column_values_to_be_unique", column="k"),
    E("expect_column_values_to_be_unique", column="n"),
    E("expect_compound_columns_to_be_unique", column_list=["k", "flag"]),
    E("expect_compound_columns_to_be_unique", column_list=["k", "status"]),
    E(
        "expect_column_pair_values_a_to_be_greater_than_b",
        column_A="v",
        column_B="n",
        ignore_row_if="either_value_is_missing",
        or_equal=False,
    ),
    E(
        "expect_column_pair_values_a_to_be_greater_than_b",
        column_A="v",
        column_B="n",
        ignore_row_if="either_value_is_missing",
        or_equal=True,
    ),
    E("expect_column_values_to_be_of_type", column="d", type_="DateType"),
    E("expect_column_values_to_be_of_type", column="n", type_="LongType"),
    E("expect_table_columns_to_match_set", column_set=["k", "n", "zz"], exact_match=False),
    E("expect_table_columns_to_match_set", column_set=["k", "n"], exact_match=False),
    E("expect_table_columns_to_match_set", column_set=["k", "n"], exact_match=True),
    E(
        "expect_table_columns_to_match_set",
        column_set=["k", "n", "v", "s", "d", "ts", "flag", "status"],
        exact_match=True,
    ),
    # cannot be evaluated: both raise
    E("expect_column_values_to_not_be_null", column="nope"),
    E("expect_column_values_to_be_between", column="s", min_value=0),
]


def _gx(frame, exps, kind, result_format, keys=()):
    GX.context()
    from great_expectations.core.expectation_suite import ExpectationSuite

    tagged = [{**e, "meta": {**e["meta"], "_idx": i}} for i, e in enumerate(exps)]
    fmt = dict(result_format)
    if keys:
        fmt["unexpected_index_column_names"] = list(keys)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = GX.batch(kind, frame).validate(
            ExpectationSuite(name="t", expectations=tagged),
            expectation_parameters=PARAMS,
            result_format=fmt,
        )
    return sorted(res.results, key=lambda r: r.expectation_config.meta["_idx"])


def _raised(info) -> bool:
    from theater.quality.results import gx_exception

    return gx_exception(info)[0]


def _same_numbers(mine: dict, theirs: dict):
    assert set(mine) == set(theirs), (mine, theirs)
    for k, v in theirs.items():
        if isinstance(v, float):
            assert mine[k] == pytest.approx(v), k
        else:
            assert mine[k] == v, k


def _canon(rows):
    return sorted(json.dumps(r, default=str, sort_keys=True) for r in rows)


BASIC = {"result_format": "BASIC", "partial_unexpected_count": 0}
SUMMARY = {"result_format": "SUMMARY", "partial_unexpected_count": 20}


def _frames(spark):
    df = spark.createDataFrame(ROWS, SCHEMA)
    return {
        "rows": df,
        "empty": df.limit(0),
        "all null n": spark.createDataFrame([(r[0], None, *r[2:]) for r in ROWS], SCHEMA),
    }


@pytest.mark.parametrize("which", ["rows", "empty", "all null n"])
def test_aggregate_equals_gx_for_every_expectation_type(spark, which):
    df = _frames(spark)[which]
    theirs = _gx(df, EXPECTATIONS, "spark", BASIC)
    mine = metrics.evaluate_spark(df, EXPECTATIONS, PARAMS, keys=["k"], sample_rows=0)
    assert len(mine) == len(theirs) == len(EXPECTATIONS)
    for e, m, t in zip(EXPECTATIONS, mine, theirs):
        label = f"{e['type']} {e['kwargs']}"
        assert _raised(m.exception_info) == _raised(t.exception_info), label
        if _raised(t.exception_info):
            assert m.success is False
            continue
        assert m.success == t.success, label
        _same_numbers(m.result, t.result)


def test_every_type_in_the_suites_is_compared_here():
    used = {
        e["type"]
        for p in SUITES.glob("*.json")
        for e in json.loads(p.read_text())["expectations"]
        if (e.get("meta") or {}).get("frame", "rows") == "rows"
    }
    assert used <= {e["type"] for e in EXPECTATIONS}
    assert used <= metrics.SUPPORTED


def test_failed_expectations_sample_the_same_rows_as_gx(spark):
    df = _frames(spark)["rows"]
    keys = ["k", "status"]
    mine = metrics.evaluate_spark(df, EXPECTATIONS, PARAMS, keys=keys, sample_rows=20)
    failed = [i for i, m in enumerate(mine) if not m.success and not _raised(m.exception_info)]
    assert len(failed) >= 15
    theirs = _gx(df, [EXPECTATIONS[i] for i in failed], "spark", SUMMARY, keys)
    for i, t in zip(failed, theirs):
        m, e = mine[i], EXPECTATIONS[i]
        label = f"{e['type']} {e['kwargs']}"
        if e["type"] in ("expect_column_values_to_be_of_type", "expect_table_columns_to_match_set"):
            assert m.result == t.result, label
            continue
        for k in ("element_count", "unexpected_count", "unexpected_percent"):
            assert m.result[k] == pytest.approx(t.result[k]), label
        assert _canon(m.result["partial_unexpected_index_list"]) == _canon(
            t.result["partial_unexpected_index_list"]
        ), label
        assert _canon(m.result["partial_unexpected_list"]) == _canon(
            t.result["partial_unexpected_list"]
        ), label


def test_samples_are_capped(spark):
    df = spark.createDataFrame([(i, None) for i in range(30)], "id int, x int")
    e = E("expect_column_values_to_not_be_null", column="x")
    (m,) = metrics.evaluate_spark(df, [e], {}, keys=["id"], sample_rows=3)
    assert m.result["unexpected_count"] == 30
    assert len(m.result["partial_unexpected_index_list"]) == 3
    assert all(
        set(r) == {"id", "x"} and r["x"] is None for r in m.result["partial_unexpected_index_list"]
    )


def test_duplicate_count_by_hand(spark):
    df = spark.createDataFrame(
        [("a", 1), ("a", 2), ("b", 3), ("a", 4), ("c", 5), (None, 6), (None, 7)], "k string, i int"
    )
    assert metrics.duplicate_count(df, ["k"]) == 5  # three a's, and the two null keys group
    assert metrics.duplicate_count(df.where("k is not null"), ["k"]) == 3
    sample = metrics.duplicate_sample(df.where("k is not null"), ["k"], ["i"], 10)
    assert sorted(r["i"] for r in sample) == [1, 2, 4]


SMALL = [
    {"_source_file": "f1", "row_count": 10, "quarantined_count": 0, "quarantine_share": 0.0},
    {"_source_file": "f2", "row_count": 8, "quarantined_count": 2, "quarantine_share": 0.2},
    {"_source_file": "f3", "row_count": 0, "quarantined_count": 0, "quarantine_share": None},
    {"_source_file": "f4", "row_count": 9, "quarantined_count": 1, "quarantine_share": 0.1},
]
SMALL_EXPS = [
    E("expect_column_values_to_be_between", column="quarantine_share", min_value=0, max_value=0.05),
    E("expect_column_values_to_be_between", column="quarantine_share", min_value=0, max_value=0.5),
    E("expect_column_values_to_be_between", column="row_count", min_value=1),
    E("expect_column_values_to_be_between", column="quarantined_count", max_value=0, mostly=0.5),
    E("expect_column_values_to_be_between", column="missing", min_value=1),
]


@pytest.mark.parametrize("rows", [SMALL, SMALL[:1], []], ids=["files", "one", "none"])
def test_small_frames_equal_gx_pandas(rows):
    import pandas as pd

    cols = ["_source_file", "row_count", "quarantined_count", "quarantine_share"]
    frame = pd.DataFrame(rows, columns=cols)
    keys = ["_source_file"]
    mine = metrics.evaluate_rows(rows, cols, SMALL_EXPS, PARAMS, keys=keys, complete=True)
    theirs = _gx(frame, SMALL_EXPS, "pandas", BASIC)
    full = _gx(frame, SMALL_EXPS, "pandas", {"result_format": "COMPLETE"}, keys)
    for e, m, t, f in zip(SMALL_EXPS, mine, theirs, full):
        label = f"{e['kwargs']}"
        assert _raised(m.exception_info) == _raised(t.exception_info), label
        if _raised(t.exception_info):
            continue
        assert m.success == t.success, label
        counts = {k: v for k, v in t.result.items() if k != "partial_unexpected_list"}
        _same_numbers({k: m.result[k] for k in counts}, counts)
        if not t.success:
            assert sorted(m.result["unexpected_list"]) == sorted(f.result["unexpected_list"])
            # the offending files (GX's pandas engine gives their values as text; the gate
            # takes the file names from this list and the values from its own rows)
            assert sorted(r["_source_file"] for r in m.result["unexpected_index_list"]) == sorted(
                r["_source_file"] for r in f.result["unexpected_index_list"]
            ), label


def test_small_frames_leave_other_types_to_gx():
    e = E("expect_column_values_to_be_in_set", column="x", value_set=[1])
    assert metrics.evaluate_rows([{"x": 1}], ["x"], [e], {}) is None


def test_outcomes_render_as_gx_results():
    o = metrics.Outcome(
        E("expect_column_values_to_be_between", column="n", min_value=0),
        False,
        {"element_count": 3, "unexpected_count": 1, "unexpected_percent": 50.0},
    )
    res = metrics.to_gx_result("s", {"table": "t"}, [o, metrics.Outcome(o.expectation)])
    assert res.success is False
    assert res.statistics["evaluated_expectations"] == 2
    assert res.statistics["successful_expectations"] == 1
    assert res.results[0].result["unexpected_count"] == 1
    assert not math.isnan(res.statistics["success_percent"])


def test_types_the_aggregate_does_not_compute_go_to_gx(spark):
    """A suite with a type outside metrics.SUPPORTED: GX validates it, outcomes in suite order
    (the mean of n over 1, 3, -1, 7 is 2.5; n has one null)."""
    from theater.quality.runner import gx_validate

    df = _frames(spark)["rows"]
    exps = [
        E("expect_column_mean_to_be_between", column="n", min_value=2, max_value=3),
        E("expect_column_values_to_not_be_null", column="n"),
        E("expect_column_mean_to_be_between", column="n", min_value=3),
    ]
    assert not metrics.supported(exps)
    data = {"name": "t", "meta": {}}
    out = gx_validate(data, exps, "spark", df, ["k"], PARAMS, sample_rows=5)
    assert [o.success for o in out] == [True, False, False]
    assert out[0].result["observed_value"] == pytest.approx(2.5)
    assert out[1].result["unexpected_count"] == 1
    assert out[1].result["partial_unexpected_index_list"] == [{"k": "a", "n": None}]
