"""spark-submit entry point: the refine stage.

Same arguments as `theater run` (--env, --conf, --landing, --lake, --quarter | --start/--end).
Under spark-submit the active session is reused (engine: spark).
"""

import sys

from theater.cli import main

if __name__ == "__main__":
    raise SystemExit(main(["run", "--stage", "refine", *sys.argv[1:]]))
