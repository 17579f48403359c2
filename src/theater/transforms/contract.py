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

from pyspark.sql import Column
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


def _field_problem(spec: FieldSpec, limits: Limits | None = None) -> Column:
    """A Column with the first problem of one field, or null."""
    limits = limits or Limits()
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
    # the record's text is searched only where it is JSON and holds the field (a when, not an
    # and: the engine evaluates a when's value on the rows its condition selects only)
    json_typed = F.coalesce(F.col(JSON_TYPED), F.lit(False)) & value.isNotNull()
    is_string = _json_is_string(spec.name)
    wrong = is_string if spec.kind in ("integer", "boolean") else ~is_string
    checks.append((F.when(json_typed, wrong), "bad_type"))
    if spec.required:
        checks.append((~present, "missing_required"))
    elif spec.kind == "string" and spec.min_length:
        checks.append((value.isNotNull() & (F.length(value) < spec.min_length), "missing_required"))
    if spec.kind == "enum":
        checks.append((value.isNotNull() & ~value.isin(*spec.enum), "bad_enum"))
    elif spec.kind == "integer":
        num = _number(value)
        checks.append((value.isNotNull() & (num.isNull() | (num != F.floor(num))), "bad_type"))
        if spec.minimum is not None:
            kind = "negative_number" if spec.minimum == 0 else "out_of_range"
            checks.append((value.isNotNull() & (num < F.lit(spec.minimum)), kind))
    elif spec.kind == "boolean":
        checks.append((value.isNotNull() & ~F.lower(value).isin("true", "false"), "bad_type"))
    elif spec.kind == "date-time":
        ts = parse_timestamp(value)
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


def record_problems(contract: Contract, limits: Limits | None = None) -> Column:
    """Array of problems of a record (empty when it obeys the contract)."""
    limits = limits or Limits()
    problems = [_field_problem(f, limits) for f in contract.fields]
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


def extra_fields(record_map: Column, contract: Contract) -> Column:
    """Fields of a record map not in the contract, as a JSON string (null when none)."""
    names = list(contract.names)
    extra = F.map_filter(record_map, lambda k, v: ~k.isin(*names))
    return F.when(F.size(extra) > 0, F.to_json(extra))


def as_received(contract: Contract) -> list[Column]:
    """Contract fields as received (strings), for bronze."""
    return [raw(f.name).alias(f.name) for f in contract.fields]


def typed(contract: Contract) -> list[Column]:
    return [typed_value(f) for f in contract.fields]
