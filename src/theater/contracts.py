"""The input contract, read from the JSON Schemas shipped in ``theater/contract/``.

Everything that validates or types landing records is derived from these schemas, so the
schemas stay the one reference (they are copies of ``shared/contract/*.schema.json``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

DATASETS = ("interactions", "directory", "work_items", "policies")
_SCHEMA_FILES = {
    "interactions": "interaction.schema.json",
    "directory": "directory.schema.json",
    "work_items": "work_item.schema.json",
    "policies": "policy.schema.json",
}


@dataclass(frozen=True)
class FieldSpec:
    name: str
    kind: str  # string | integer | boolean | date | date-time | enum
    required: bool
    nullable: bool
    min_length: int | None = None
    minimum: int | None = None
    pattern: str | None = None
    enum: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Contract:
    dataset: str
    fields: tuple[FieldSpec, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    def field(self, name: str) -> FieldSpec:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)


def _field(name: str, spec: dict, required: bool) -> FieldSpec:
    types = spec.get("type")
    types = [types] if isinstance(types, str) else list(types or [])
    nullable = "null" in types
    if "enum" in spec:
        values = tuple(v for v in spec["enum"] if v is not None)
        return FieldSpec(name, "enum", required, nullable or None in spec["enum"], enum=values)
    base = next((t for t in types if t != "null"), "string")
    kind = base
    if base == "string" and spec.get("format") in ("date", "date-time"):
        kind = spec["format"]
    return FieldSpec(
        name,
        kind,
        required,
        nullable,
        min_length=spec.get("minLength"),
        minimum=spec.get("minimum"),
        pattern=spec.get("pattern"),
    )


@lru_cache(maxsize=None)
def contract(dataset: str) -> Contract:
    if dataset not in _SCHEMA_FILES:
        raise KeyError(f"unknown dataset {dataset!r}; expected one of {DATASETS}")
    text = resources.files("theater").joinpath("contract", _SCHEMA_FILES[dataset]).read_text()
    schema = json.loads(text)
    required = set(schema.get("required", []))
    fields = tuple(_field(n, s, n in required) for n, s in schema["properties"].items())
    return Contract(dataset, fields)
