"""The tables a pipeline run writes, as the end-to-end and fault tests check them."""

from __future__ import annotations

#: every table of a run on native landing files, stage by stage
TABLES = (
    "bronze/interactions",
    "bronze/directory",
    "bronze/work_items",
    "bronze/policies",
    "bronze/quarantine",
    "ops/ingested_files",
    "silver/interactions",
    "silver/directory",
    "silver/work_items",
    "silver/policies",
    "gold/interaction_labels",
    "gold/user_weeks",
    "gold/org_theater_index",
)
#: the tables ingest writes
INGESTED = tuple(t for t in TABLES if t.startswith(("bronze/", "ops/")))
#: the tables refine and score derive (equal between runs on the same landing files)
DERIVED = tuple(t for t in TABLES if t.startswith(("silver/", "gold/")))
