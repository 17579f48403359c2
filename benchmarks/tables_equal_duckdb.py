"""Whether two lakes hold the same tables, as multisets of rows: DuckDB `EXCEPT ALL` both ways
over each Delta table's active files, dropping the columns run_outputs_equal.py drops (run and
batch ids, `*_at` times). For lakes whose largest tables run_outputs_equal.py sorts as text too
slowly (4M and up).

    python benchmarks/tables_equal_duckdb.py LAKE_A LAKE_B
"""

import os
import sys

import duckdb
from deltalake import DeltaTable

DROP = {"_batch_id", "_ingested_at", "batch_id", "ingested_at", "run_id", "validated_at"}
a, b = sys.argv[1:3]
con = duckdb.connect()
con.execute("SET threads=2")
bad = 0
for layer in ("bronze", "silver", "gold", "ops"):
    for t in sorted(os.listdir(os.path.join(a, layer))):
        p, q = os.path.join(a, layer, t), os.path.join(b, layer, t)
        if not os.path.isdir(os.path.join(p, "_delta_log")):
            continue
        da, db = DeltaTable(p), DeltaTable(q)
        ca = [f.name for f in da.schema().fields]
        cb = [f.name for f in db.schema().fields]
        cols = [c for c in ca if c not in DROP and not c.endswith("_at")]
        fa, fb = da.file_uris(), db.file_uris()
        if ca != cb:
            print(f"{layer}/{t}: DIFFERENT columns")
            bad += 1
            continue
        if not fa and not fb:
            print(f"{layer}/{t}: SAME (empty)")
            continue
        sel = ", ".join(f'"{c}"' for c in cols)
        ra = f"read_parquet({fa!r}, union_by_name=true)"
        rb = f"read_parquet({fb!r}, union_by_name=true)"
        n = con.execute(f"select count(*) from {ra}").fetchone()[0]
        m = con.execute(f"select count(*) from {rb}").fetchone()[0]
        x = con.execute(
            f"select count(*) from (select {sel} from {ra} except all select {sel} from {rb})"
        ).fetchone()[0]
        y = con.execute(
            f"select count(*) from (select {sel} from {rb} except all select {sel} from {ra})"
        ).fetchone()[0]
        same = n == m and x == 0 and y == 0
        bad += not same
        print(
            f"{layer}/{t}: {n} rows {'SAME' if same else f'DIFFERENT ({m} rows, {x}/{y} unmatched)'}"
        )
print("DIFFERENT" if bad else "ALL SAME")
sys.exit(1 if bad else 0)
