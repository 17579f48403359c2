"""spark-submit entry point: the quarterly executive report (HTML, optionally PDF).

Same arguments as `theater report` (--env, --conf, --lake, --quarter | --start/--end, --out,
--pdf). The report reads the gold tables with delta-rs/pyarrow on the driver (no Spark job), so
the lake must be reachable from where the driver runs.
"""

import sys

from theater.cli import main

if __name__ == "__main__":
    raise SystemExit(main(["report", *sys.argv[1:]]))
