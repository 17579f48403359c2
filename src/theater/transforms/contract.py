"""Contract checks and typing as pure Column expressions over a record map.

Landing readers turn every record into one string column per contract field (as received),
``_extra`` (fields outside the contract, JSON), ``_malformed`` (the record is not a JSON object)
and ``_raw`` (its text where the format has one). These functions say what is wrong with a
record and, for good records, give its typed values. Problems are strings ``"<kind>: <field>"`` with kind one of
``malformed_line, missing_required, bad_enum, negative_number, out_of_range, bad_type,
bad_pattern, bad_timestamp, implausible_timestamp, oversized_field`` (and ``ragged_row``, set
aside while a CSV file is staged).

JSON types are enforced for records delivered as JSON (``_json_typed``): the string map holds a
value's text, so the type is read from the record's own text: a string field must be a JSON
string (``"tool": 5`` and ``"user_id": {...}`` are ``bad_type``), a number or boolean field must
not be one (``"dwell_ms": "100"`` is ``bad_type``). CSV and Parquet values carry no JSON type.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from ..contracts import Contract, FieldSpec

MALFORMED = "_malformed"
JSON_TYPED = "_json_typed"


@dataclass(frozen=True)
class Limits:
    """Contract limits from the configuration (``contract:`` in conf/base.yaml)."""

    max_field_chars: int | None = 1_000_000
    ts_min: str | None = "2000-01-01T00:00:00Z"  # date-time values before this: implausible
    ts_max: str | None = None  # ... after this (None: no upper bound)

    @classmethod
    def from_config(cls, cfg, now: datetime | None = None) -> "Limits":
        if cfg is None:
            return cls()

        def get(key, default):
            try:
                return cfg[key]
            except (KeyError, TypeError):
                return default

        now = now or datetime.now(timezone.utc)
        ahead = get("contract.max_future_days", None)
        ts_max = (
            None
            if ahead is None
            else (now + timedelta(days=int(ahead))).strftime("%Y-%m-%dT%H:%M:%SZ")
        )
        lo = get("contract.min_timestamp", cls.ts_min)
        return cls(
            max_field_chars=get("contract.max_field_chars", cls.max_field_chars) or None,
            ts_min=str(lo) if lo else None,
            ts_max=ts_max,
        )


# RFC 3339: date, 'T' or space, time, optional fraction, and a mandatory offset or Z.
RFC3339 = r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$"
ISO_DATE = r"^\d{4}-\d{2}-\d{2}$"


def raw(name: str) -> Column:
    return F.col(name)


def parse_timestamp(value: Column) -> Column:
    """RFC 3339 string -> UTC timestamp (null when it does not parse or has no offset)."""
    return F.when(value.rlike(RFC3339), F.try_to_timestamp(value))


def parse_date(value: Column) -> Column:
    """YYYY-MM-DD -> date (null when invalid, e.g. 2026-02-30)."""
    return F.when(
        value.rlike(ISO_DATE), F.try_to_timestamp(F.concat(value, F.lit("T00:00:00Z"))).cast("date")
    )


def _number(value: Column) -> Column:
    return value.try_cast("double")


def typed_value(spec: FieldSpec) -> Column:
    """The field's value in its contract type (null where absent or invalid)."""
    value = raw(spec.name)
    if spec.kind == "integer":
        return _number(value).cast("bigint").alias(spec.name)
    if spec.kind == "boolean":
        low = F.lower(value)
        return (
            F.when(low == "true", F.lit(True)).when(low == "false", F.lit(False)).alias(spec.name)
        )
    if spec.kind == "date-time":
        return parse_timestamp(value).alias(spec.name)
    if spec.kind == "date":
        return parse_date(value).alias(spec.name)
    return value.alias(spec.name)


def _json_is_string(name: str) -> Column:
    """The record's JSON text gives ``name`` a string value (``"name": "...``)."""
    return F.col("_raw").rlike(r'"' + name + r'"\s*:\s*"')


def _parsed(spec: FieldSpec) -> dict[str, Column]:
    """What a field's checks read of its value beyond the value itself: ``json_string`` (1
    when the record's JSON text gives the field a string, 0 when not; null where the text is
    not JSON or the field is absent), ``number`` (integers) and ``timestamp`` (date-times).

    ``json_string`` is an integer CASE, not a boolean: the engine evaluates a CASE's value on
    the rows its condition selects only, so the search over the record's text runs on JSON
    rows holding the field; a boolean CASE inside a condition is rewritten by Sail's optimizer
    into ANDs and ORs, which search every row's text."""
    value = raw(spec.name)
    json_typed = F.coalesce(F.col(JSON_TYPED), F.lit(False)) & value.isNotNull()
    is_string = _json_is_string(spec.name)
    # not a match: 0 where there is a text (the search is null only on a null text); the
    # search once, not again negated
    found = F.when(is_string, 1).when(F.col("_raw").isNotNull(), 0)
    out = {"json_string": F.when(json_typed, found)}
    if spec.kind == "integer":
        out["number"] = _number(value)
    elif spec.kind == "date-time":
        out["timestamp"] = parse_timestamp(value)
    return out


def _field_problem(
    spec: FieldSpec, limits: Limits | None = None, parsed: dict[str, Column] | None = None
) -> Column:
    """A Column with the first problem of one field, or null. ``parsed``: the field's
    :func:`_parsed` values (columns, when :func:`with_problems` computed them), else computed
    in place."""
    limits = limits or Limits()
    parsed = parsed if parsed is not None else _parsed(spec)
    value = raw(spec.name)
    present = value.isNotNull()
    if spec.min_length:
        present = present & (F.length(value) >= F.lit(spec.min_length))
    checks: list[tuple[Column, str]] = []
    if limits.max_field_chars:
        checks.append(
            (
                value.isNotNull() & (F.length(value) > F.lit(limits.max_field_chars)),
                "oversized_field",
            )
        )
    # null (no check) where the record is not JSON or does not hold the field
    json_string = parsed["json_string"]
    wrong = json_string == 1 if spec.kind in ("integer", "boolean") else json_string == 0
    checks.append((wrong, "bad_type"))
    if spec.required:
        checks.append((~present, "missing_required"))
    elif spec.kind == "string" and spec.min_length:
        checks.append((value.isNotNull() & (F.length(value) < spec.min_length), "missing_required"))
    if spec.kind == "enum":
        checks.append((value.isNotNull() & ~value.isin(*spec.enum), "bad_enum"))
    elif spec.kind == "integer":
        num = parsed["number"]
        checks.append((value.isNotNull() & (num.isNull() | (num != F.floor(num))), "bad_type"))
        if spec.minimum is not None:
            kind = "negative_number" if spec.minimum == 0 else "out_of_range"
            checks.append((value.isNotNull() & (num < F.lit(spec.minimum)), kind))
    elif spec.kind == "boolean":
        checks.append((value.isNotNull() & ~F.lower(value).isin("true", "false"), "bad_type"))
    elif spec.kind == "date-time":
        ts = parsed["timestamp"]
        checks.append((value.isNotNull() & ts.isNull(), "bad_timestamp"))
        if limits.ts_min:
            checks.append((ts < F.lit(limits.ts_min).cast("timestamp"), "implausible_timestamp"))
        if limits.ts_max:
            checks.append((ts > F.lit(limits.ts_max).cast("timestamp"), "implausible_timestamp"))
    elif spec.kind == "date":
        checks.append((value.isNotNull() & parse_date(value).isNull(), "bad_timestamp"))
    if spec.pattern:
        checks.append((value.isNotNull() & ~value.rlike(spec.pattern), "bad_pattern"))
    expr = None
    for cond, kind in reversed(checks):
        expr = F.when(cond, F.lit(f"{kind}: {spec.name}")).otherwise(
            expr if expr is not None else F.lit(None)
        )
    return expr if expr is not None else F.lit(None).cast("string")


def record_problems(
    contract: Contract, limits: Limits | None = None, parsed: dict | None = None
) -> Column:
    """Array of problems of a record (empty when it obeys the contract). ``parsed``: per field
    name, its :func:`_parsed` values as columns (see :func:`with_problems`)."""
    limits = limits or Limits()
    parsed = parsed or {}
    problems = [_field_problem(f, limits, parsed.get(f.name)) for f in contract.fields]
    if limits.max_field_chars:
        problems.append(
            F.when(
                F.length("_extra") > F.lit(limits.max_field_chars), F.lit("oversized_field: _extra")
            )
        )
    per_field = F.array_compact(F.array(*problems))
    return F.when(F.col(MALFORMED), F.array(F.lit("malformed_line: not a JSON object"))).otherwise(
        per_field
    )


def with_problems(
    records: DataFrame, contract: Contract, limits: Limits | None = None
) -> DataFrame:
    """``records`` with ``_problems`` (:func:`record_problems`). Each field's parsed values
    (:func:`_parsed`) are computed once per row, in a projection of their own, and read from
    there by every check that needs them: inside the checks' CASE chain a timestamp was parsed
    once per check reading it (three for a date-time), and no engine shares work between a
    CASE's branches."""
    parsed: dict = {}
    helpers: dict[str, Column] = {}
    for spec in contract.fields:
        for kind, expr in _parsed(spec).items():
            name = f"_parsed_{kind}_{spec.name}"
            parsed.setdefault(spec.name, {})[kind] = F.col(f"`{name}`")
            helpers[name] = expr.alias(name)
    out = records.select("*", *helpers.values())
    out = out.withColumn("_problems", record_problems(contract, limits, parsed))
    return out.drop(*helpers)


def extra_map(record_map: Column, contract: Contract) -> Column:
    """Fields of a record map not in the contract, as a map."""
    names = list(contract.names)
    return F.map_filter(record_map, lambda k, v: ~k.isin(*names))


def extra_json(extra: Column) -> Column:
    """An :func:`extra_map` as a JSON string (null when empty). The caller gives it as a
    column computed in a projection before: the filter is read twice here, and an expression
    written twice is evaluated twice."""
    return F.when(F.size(extra) > 0, F.to_json(extra))


def extra_fields(record_map: Column, contract: Contract) -> Column:
    """Fields of a record map not in the contract, as a JSON string (null when none)."""
    return extra_json(extra_map(record_map, contract))


def as_received(contract: Contract) -> list[Column]:
    """Contract fields as received (strings), for bronze."""
    return [raw(f.name).alias(f.name) for f in contract.fields]


def typed(contract: Contract) -> list[Column]:
    return [typed_value(f) for f in contract.fields]
