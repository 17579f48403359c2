"""Does ``theater audit plan`` predict the width an audit then gives? (a quick check)

Usage: python benchmarks/audit_plan_check.py [--cases good,random,biased,anti,sharp]

On 3 tuning worlds per detector case (``theater.audit.simworld``, seeds 150-152 + 1000 k;
not the held-out ones), audit at 300 and 1,000 labels with the sample's default design,
then plan the same audit from what the lake would hold after it: the audited stratum rates
(:func:`theater.audit.estimate.pooled_rates`) and the between-org spread the pooling used.
Prints the mean org width observed, planned on own labels, and planned pooled.
"""

import argparse

import pandas as pd

from theater.audit import plan, sample, simworld
from theater.audit.estimate import Settings, estimate, pooled_rates
from theater.audit.simulate import audit_once, world_cells


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--cases", default="good,random,biased,anti")
    p.add_argument("--sizes", default="300,1000")
    a = p.parse_args()
    every = simworld.CASES + simworld.EXTRA_CASES
    rows = []
    for case in a.cases.split(","):
        for w in range(3):
            seed = 150 + w + 1000 * every.index(case)
            df, orgs = simworld.world(seed, case)
            df["stratum"] = sample.strata(df["flags"])
            cells = world_cells(df)
            strata = sorted(cells["stratum"].unique())
            for n in [int(x) for x in a.sizes.split(",")]:
                est, lab = audit_once(df, orgs, n, seed, Settings(replicates=200), cells)
                pr = pooled_rates(lab, strata)
                rates = dict(zip(pr.strata, pr.rate))
                # the merge in audit_once drops attrs: the spread from the estimator itself
                t2 = estimate(cells, lab, Settings(replicates=50)).attrs.get("pool_tau2")
                rows.append(
                    {
                        "case": case,
                        "labels": n,
                        "observed": 100 * (est["ci_high"] - est["ci_low"]).mean(),
                        "plan_own": plan.widths(cells, rates, n)["width"].mean(),
                        "plan_pooled": plan.widths(cells, rates, n, tau2=t2)["width"].mean(),
                    }
                )
    print(pd.DataFrame(rows).groupby(["case", "labels"]).mean().round(1).to_string())


if __name__ == "__main__":
    main()
