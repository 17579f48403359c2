"""spark-submit entry point: the ingest stage.

Same arguments as `theater run --stage ingest` (--env, --conf, --landing, --lake); ingest takes no
period: it loads every landing file not loaded before.
Under spark-submit the active session is reused (engine: spark).
"""

import sys

from theater.cli import main

if __name__ == "__main__":
    raise SystemExit(main(["run", "--stage", "ingest", *sys.argv[1:]]))
