"""Lake tables read without Spark (delta-rs, or the Parquet files of ``table_format: parquet``),
for the readers that run beside the pipeline: the report and the audit.

The Spark side of the same tables is :mod:`theater.lake`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow.dataset as ds


@dataclass
class Table:
    """A table as read: its rows, its format and the Delta version read (None for Parquet)."""

    name: str
    rows: pd.DataFrame
    fmt: str | None = None
    version: int | None = None


def table_format(path: str) -> str | None:
    """``delta`` when there is a Delta log, ``parquet`` when there are Parquet files, else None."""
    p = Path(path)
    if (p / "_delta_log").is_dir():
        return "delta"
    if p.is_dir() and any(
        f.suffix == ".parquet"
        for f in p.rglob("*.parquet")
        if not any(part.startswith((".", "_")) for part in f.relative_to(p).parts)
    ):
        return "parquet"
    return None


def _dataset(path: str, fmt: str) -> tuple[ds.Dataset, int | None]:
    if fmt == "delta":
        from deltalake import DeltaTable

        dt = DeltaTable(path)
        return dt.to_pyarrow_dataset(), dt.version()
    return ds.dataset(path, format="parquet", ignore_prefixes=[".", "_"]), None


def read_table(
    lake: str, name: str, *, filter: ds.Expression | None = None, columns: list[str] | None = None
) -> Table | None:
    """Read ``name`` under ``lake`` (Delta or plain Parquet, detected); None when absent."""
    path = os.path.join(lake, name)
    fmt = table_format(path)
    if fmt is None:
        return None
    dataset, version = _dataset(path, fmt)
    if columns is not None:
        columns = [c for c in columns if c in dataset.schema.names]
    rows = dataset.to_table(filter=filter, columns=columns).to_pandas()
    return Table(name, rows, fmt, version)
