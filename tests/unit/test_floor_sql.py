"""benchmarks/floor.py's SQL handling (the Sail dialect shims) and its agreement check, on
hand-written SQL and hand-made results."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCH))

import floor  # noqa: E402

MACROS = {
    "f": (["v"], "CASE WHEN v > 0 THEN v END"),
    "g": (["v", "name"], "'v: ' || name || v"),
}


def test_literals_and_comments_are_told_apart():
    sql = "SELECT 'it''s -- not a comment', x -- the user's note\nFROM t"
    assert floor.split_quoted(sql) == [
        ("code", "SELECT "),
        ("string", "'it''s -- not a comment'"),
        ("code", ", x "),
        ("comment", "-- the user's note"),
        ("code", "\nFROM t"),
    ]
    assert floor.strip_comments(sql) == "SELECT 'it''s -- not a comment', x \nFROM t"
    with pytest.raises(ValueError, match="unterminated string literal at 7"):
        floor.split_quoted("SELECT 'abc")


def test_macro_calls_expand_with_arguments_in_parentheses():
    assert floor.expand_macros("SELECT f(a + 1) AS y", MACROS) == (
        "SELECT (CASE WHEN (a + 1) > 0 THEN (a + 1) END) AS y"
    )
    # a literal argument holding a comma and a parenthesis; the body's own literal 'v: ' is
    # not a parameter
    assert floor.expand_macros("g(t.v, 'a, (b')", MACROS) == "('v: ' || ('a, (b') || (t.v))"
    # a call inside an argument, a column whose name starts like a macro, a call in a literal
    assert floor.expand_macros("f(f(x)) + fx + 'f(1)'", MACROS) == (
        "(CASE WHEN ((CASE WHEN (x) > 0 THEN (x) END)) > 0 "
        "THEN ((CASE WHEN (x) > 0 THEN (x) END)) END) + fx + 'f(1)'"
    )
    with pytest.raises(ValueError, match="macro g takes 2 arguments, got 1"):
        floor.expand_macros("g(x)", MACROS)


def test_variables_substituted_and_a_missing_one_named():
    sql = "md5(getvariable('key') || '|' || id) WHERE d >= getvariable('start')"
    out = floor.substitute_variables(
        sql, {"key": floor.sql_string("k'1"), "start": "DATE '2026-07-01'"}
    )
    assert out == "md5('k''1' || '|' || id) WHERE d >= DATE '2026-07-01'"
    with pytest.raises(KeyError, match="getvariable\\('end'\\)"):
        floor.substitute_variables("getvariable('end')", {})


def test_both_scripts_make_the_same_tables_in_the_same_steps():
    duck = floor.plan((BENCH / "duckdb_reference.sql").read_text(), expand=False)
    sail = floor.plan((BENCH / "floor_sail.sql").read_text())
    by_step = lambda script: {  # noqa: E731
        step: sorted(t for s, t, _ in script if s == step and t) for step in floor.STEPS
    }
    assert by_step(duck) == by_step(sail)
    assert by_step(sail)["silver"] == ["silver"]
    # the Sail script is left with no macro definition, no call and no DuckDB-only syntax
    text = "\n".join(stmt for _, _, stmt in sail).lower()
    for gone in ("macro", "rfc3339(", "int_problem(", "output_unused(", "qualify", "exclude", "::"):
        assert gone not in text, gone
    # the DuckDB script keeps its macros and its INSERT, each in the step of the table before
    assert [(s, stmt.split("(")[0].split()[-1]) for s, t, stmt in duck if not t][:3] == [
        ("landing", "rfc3339"),
        ("landing", "iso_date"),
        ("landing", "int_problem"),
    ]


def _result(shares=(0.25, 0.5), users=(12, 30), orgs=("org-a", "org-b")):
    return {
        "silver_rows": 100,
        "quarantined": {"interactions/bad_enum": 2},
        "org_shares": {
            "org_id": list(orgs),
            "n_interactions": [40, 60][: len(orgs)],
            "n_users": list(users),
            "theater_share": list(shares),
            "suppressed": [False, False][: len(orgs)],
        },
    }


def test_agreement_within_the_tolerance_passes():
    a, b = _result(), _result(shares=(0.25 + 4e-10, 0.5))
    check = floor.check_agreement(a, b)
    assert check["orgs"] == 2
    assert check["max_abs_share_diff"] == pytest.approx(4e-10, abs=1e-15)


def test_disagreement_fails_naming_each_difference():
    with pytest.raises(
        floor.FloorMismatch, match=r"org-a theater_share: .*\(differ by 1e-06 > 1e-09\)"
    ):
        floor.check_agreement(_result(), _result(shares=(0.250001, 0.5)))
    with pytest.raises(floor.FloorMismatch, match=r"org-b n_users: DuckDB 30, Sail 31"):
        floor.check_agreement(_result(), _result(users=(12, 31)))
    b = _result(orgs=("org-a", "org-c"))
    with pytest.raises(
        floor.FloorMismatch, match=r"only in DuckDB \['org-b'\], only in Sail \['org-c'\]"
    ):
        floor.check_agreement(_result(), b)
    b = _result()
    b["quarantined"] = {"interactions/bad_enum": 3}
    with pytest.raises(floor.FloorMismatch, match="quarantine"):
        floor.check_agreement(_result(), b)
    b = _result(shares=(float("nan"), 0.5))
    with pytest.raises(floor.FloorMismatch, match="org-a theater_share"):
        floor.check_agreement(_result(), b)
