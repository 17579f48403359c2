"""Synthetic ``github_copilot_users`` exports (read back by
:mod:`theater.sources.exports.formats.github_copilot_users`): :func:`write` is called with one
week of the native events of the orgs whose stack carries it."""

from __future__ import annotations

import pandas as pd

from .common import (
    Delivery,
    dump,
    prep_agg,
    records_of,
    runs,
    write_text,
)

NAME = "github_copilot_users"
BY = "week"


GH_FEATURE = {
    "complete": "code_completion",
    "code_edit": "chat_panel_edit_mode",
    "agent": "chat_panel_agent_mode",
}  # everything else: chat_panel_ask_mode


def write(ctx: Delivery, d: pd.DataFrame, week: str) -> None:
    d = prep_agg(d)
    d["feature"] = d["action"].map(GH_FEATURE).fillna("chat_panel_ask_mode")
    g = (
        d.groupby(["user_id", "day", "feature"], sort=True)
        .agg(
            n=("n", "sum"),
            used=("used", "sum"),
            lines=("lines", "sum"),
            lines_used=("lines_used", "sum"),
        )
        .reset_index()
    )
    lines, n_rows = [], 0
    for part in runs(records_of(g), ("user_id", "day")):
        user, day = part[0]["user_id"], part[0]["day"]
        feats = []
        for r in part:
            feats.append(
                {
                    "feature": r["feature"],
                    "user_initiated_interaction_count": 0
                    if r["feature"] == "code_completion"
                    else int(r["n"]),
                    "code_generation_activity_count": int(r["n"]),
                    "code_acceptance_activity_count": int(r["used"]),
                    "loc_suggested_to_add_sum": int(r["lines"]),
                    "loc_suggested_to_delete_sum": 0,
                    "loc_added_sum": int(r["lines_used"]),
                    "loc_deleted_sum": 0,
                }
            )
        tot = {k: sum(f[k] for f in feats) for k in feats[0] if k != "feature"}
        rec = {
            "report_start_day": day,
            "report_end_day": day,
            "day": day,
            "enterprise_id": "51234",
            "user_id": int(ctx.a("github_id", user)),
            "user_login": ctx.a("github_login", user),
            **tot,
            "used_agent": any(f["feature"] == "chat_panel_agent_mode" for f in feats),
            "used_chat": any(f["feature"] != "code_completion" for f in feats),
            "totals_by_ide": [{"ide": "vscode", **tot}],
            "totals_by_feature": feats,
        }
        lines.append(dump(rec))
        n_rows += len(feats)
    write_text(
        ctx.root / "github_copilot_users" / f"copilot_users_{week}.ndjson",
        "".join(x + "\n" for x in lines),
    )
    ctx.add("github_copilot_users", files=1, records=len(lines), user_days=n_rows)
