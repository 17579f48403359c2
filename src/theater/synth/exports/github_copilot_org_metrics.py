"""Synthetic ``github_copilot_org_metrics`` exports (read back by
:mod:`theater.sources.exports.formats.github_copilot_org_metrics`): :func:`write` is called with
the native events of one org whose stack carries it."""

from __future__ import annotations

import pandas as pd

from .common import Delivery, dump, prep_agg, write_text

NAME = "github_copilot_org_metrics"
BY = "org"


def write(ctx: Delivery, d: pd.DataFrame, org: str) -> None:
    d = prep_agg(d)
    out = []
    for day, part in d.groupby("day", sort=True):
        rec = {
            "date": day,
            "total_active_users": int(part["user_id"].nunique()),
            "total_engaged_users": int(part["user_id"].nunique()),
        }
        cc = part[part["action"] == "complete"]
        if len(cc):
            engaged = int(cc["user_id"].nunique())
            language = {
                "name": "python",
                "total_engaged_users": engaged,
                "total_code_suggestions": int(len(cc)),
                "total_code_acceptances": int(cc["used"].sum()),
                "total_code_lines_suggested": int(cc["lines"].sum()),
                "total_code_lines_accepted": int(cc["lines_used"].sum()),
            }
            model = {
                "name": "default",
                "is_custom_model": False,
                "custom_model_training_date": None,
                "total_engaged_users": engaged,
                "languages": [language],
            }
            rec["copilot_ide_code_completions"] = {
                "total_engaged_users": engaged,
                "editors": [{"name": "vscode", "total_engaged_users": engaged, "models": [model]}],
            }
        ch = part[part["action"] != "complete"]
        if len(ch):
            rec["copilot_ide_chat"] = {
                "total_engaged_users": int(ch["user_id"].nunique()),
                "editors": [
                    {
                        "name": "vscode",
                        "total_engaged_users": int(ch["user_id"].nunique()),
                        "models": [
                            {
                                "name": "default",
                                "is_custom_model": False,
                                "custom_model_training_date": None,
                                "total_engaged_users": int(ch["user_id"].nunique()),
                                "total_chats": int(len(ch)),
                                "total_chat_insertion_events": int(ch["used"].sum()),
                                "total_chat_copy_events": 0,
                            }
                        ],
                    }
                ],
            }
        out.append(rec)
        ctx.add(
            "github_copilot_org_metrics",
            org_days=1 + ("copilot_ide_code_completions" in rec) + ("copilot_ide_chat" in rec),
        )
    write_text(ctx.root / "github_copilot_org_metrics" / org / "copilot_metrics.json", dump(out))
    ctx.add("github_copilot_org_metrics", files=1, records=len(out))
