"""Whether two lakes hold the same ingest output: every bronze table (quarantine included),
``ops/ingested_files`` and ``ops/dq_results``, all columns but batch and run ids and ingest and
validation times, rows compared as sorted text, and the tables' Delta schemas. Prints each
table's shape in both lakes and SAME or DIFFERENT; exit 1 when any differ.

    python benchmarks/ingest_tables_equal.py LAKE_A LAKE_B
"""

from __future__ import annotations

import os
import sys

from deltalake import DeltaTable

DROP = {"_batch_id", "_ingested_at", "batch_id", "ingested_at", "run_id", "validated_at"}


def load(lake: str, table: str):
    path = os.path.join(lake, table)
    if not os.path.isdir(path):
        return None
    df = DeltaTable(path).to_pandas()
    cols = sorted(c for c in df.columns if c not in DROP)
    return df[cols].astype(str).sort_values(cols).reset_index(drop=True)


def schema(lake: str, table: str) -> str | None:
    """The Delta table's schema (names, types, nullability, metadata) as JSON."""
    path = os.path.join(lake, table)
    return DeltaTable(path).schema().to_json() if os.path.isdir(path) else None


def main() -> None:
    a, b = sys.argv[1], sys.argv[2]
    tables = sorted(
        os.path.relpath(root, a)
        for root, dirs, _ in os.walk(a)
        if "_delta_log" in dirs
        and ("bronze" in root or root.endswith(("ops/ingested_files", "ops/dq_results")))
    )
    ok = True
    for t in tables:
        x, y = load(a, t), load(b, t)
        same = x is not None and y is not None and x.shape == y.shape and x.equals(y)
        schemas = [schema(lake, t) for lake in (a, b)]
        same_schema = schemas[0] == schemas[1]
        ok &= same and same_schema
        shapes = [None if d is None else d.shape for d in (x, y)]
        print(t, *shapes, "SAME" if same else "DIFFERENT", "" if same_schema else "SCHEMA DIFFERS")
    print("ALL SAME" if ok else "DIFFERENT")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
