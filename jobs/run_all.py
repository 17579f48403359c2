"""spark-submit entry point: ingest, refine and score for one period.

Same arguments as `theater run` (--env, --conf, --landing, --lake, --quarter | --start/--end).
"""

import sys

from theater.cli import main

if __name__ == "__main__":
    raise SystemExit(main(["run", *sys.argv[1:]]))
