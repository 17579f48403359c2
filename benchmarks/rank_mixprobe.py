"""Probes of step 1's baseline on kept mixed runs: three ways a feature's genuine rate could be
read less wrongly when few orgs deliver it, each a switch on the current estimator (point,
``replicates=0``, the ``vendor_ranking.py --remeasure`` rule). Not candidates: none was kept.

- ``kinds_edit`` / ``kinds_edit_agent``: the kind pooling (:func:`_pool_kinds`) also joins the
  features vendors name differently for one kind of output: an edit applied from a chat
  (Copilot ``chat_panel_edit_mode``, Amazon Q ``inline_chat``, Cursor ``apply``) and, with
  ``_agent``, an agent's output (Copilot ``chat_panel_agent_mode``, Amazon Q ``dev_agent``,
  Claude Code ``ide/agent``);
- ``no_incentive_users``: the quantile read only over users without incentive evidence (their
  usage-weighted incentive share is 0 or unmeasured);
- ``org_cap10`` / ``org_cap5``: in the quantile an org weighs ``min(1, m_o / M)`` of an org,
  ``m_o`` its users of ``min_user_outputs``+ outputs of the feature (``M`` 10 or 5): one user's
  rate over 10-12 outputs no longer sets a quarter or half of the feature's quantile.

    PYTHONPATH=src python benchmarks/rank_mixprobe.py RUN_DIR ...
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import vendor_ranking as vr  # noqa: E402

from theater.signals import acceptance_excess as ax  # noqa: E402

EDIT = {"chat_panel_edit_mode", "inline_chat", "apply"}
AGENT = {"chat_panel_agent_mode", "dev_agent", "ide/agent"}
ORIG = (ax.feature_kinds, ax._feature_baseline, ax._frame, ax.baselines)


def _kinds(groups: dict):
    def fk(names):
        out = []
        for f in names:
            k = str(f).split("/", 1)[1] if "/" in str(f) else str(f)
            out.append(next((g for g, m in groups.items() if k in m), k))
        return np.unique(np.array(out, dtype=object), return_inverse=True)[1]

    return fk


def _org_cap(m0: int):
    def fb(nn, kk, ww, oo, s, srt=None):
        big = (nn >= s.min_user_outputs) & (ww > 0)
        if big.sum() < s.min_baseline_users:
            return ORIG[1](nn, kk, ww, oo, s, srt)
        cnt = np.bincount(oo[big], minlength=int(oo.max()) + 1).astype(float)
        per_org = np.bincount(oo[big], weights=ww[big], minlength=len(cnt))
        ew = ww[big] / per_org[oo[big]] * np.minimum(1.0, cnt / m0)[oo[big]]
        rate = kk[big] / np.maximum(nn[big], 1e-12)
        return ax._weighted_quantile(rate, ew, s.baseline_quantile)

    return fb


def _install(v: str) -> None:
    ax.feature_kinds, ax._feature_baseline, ax._frame, ax.baselines = ORIG
    if v == "kinds_edit":
        ax.feature_kinds = _kinds({"EDIT": EDIT})
    elif v == "kinds_edit_agent":
        ax.feature_kinds = _kinds({"EDIT": EDIT, "AGENT": AGENT})
    elif v.startswith("org_cap"):
        ax._feature_baseline = _org_cap(int(v[7:]))
    elif v == "no_incentive_users":
        state = {}

        def frame(acc, users):
            state["fr"] = ORIG[2](acc, users)
            return state["fr"]

        def base(feature, n, k, w, *a, **kw):
            fr = state["fr"]
            if len(n) == len(fr.n):  # the point: every row once
                w = w * ~(fr.incentive[fr.row_user] > 0)
            return ORIG[3](feature, n, k, w, *a, **kw)

        ax._frame, ax.baselines = frame, base


VARIANTS = ("current", "kinds_edit", "kinds_edit_agent", "no_incentive_users")
VARIANTS += ("org_cap10", "org_cap5")


def main(argv=None) -> int:
    rows = []
    for d in map(Path, argv if argv is not None else sys.argv[1:]):
        row = {"run": f"{d.parent.name}/{d.name}"}
        for v in VARIANTS:
            _install(v)
            r = vr.measure(d / "lake", d / "world" / "truth", d / "ax", again=True)["common"]
            row[v] = r["published"]["spearman"]
        _install("current")
        row["plain"] = r["acceptance_rate"]["spearman"]
        row["user_excess"] = r["user_excess"]["spearman"]
        rows.append(row)
        print(json.dumps(row), flush=True)
    for v in VARIANTS[1:]:
        d = [r[v] - r["current"] for r in rows]
        up, down = sum(x > 0.005 for x in d), sum(x < -0.005 for x in d)
        print(f"{v}: mean {np.mean(d):+.3f} (min {min(d):+.3f}, {up} up / {down} down)")
    return 0


if __name__ == "__main__":
    np.seterr(all="ignore")
    sys.exit(main())
