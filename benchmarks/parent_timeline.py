"""The parent process's timeline in a ``theater run``: every 50 ms, the main thread's innermost
``theater`` frame, the other threads' places, this process's own CPU seconds (not its
children's) and its RSS; written as JSON to OUT when the run ends. With stage processes it
shows what the parent does before the first stage process starts, between them and after the
last (the samples' other threads name a stage process's log relay while it runs).

    PYTHONPATH=TREE/src python benchmarks/parent_timeline.py OUT run --conf CONF \
        --landing LANDING --lake LAKE --quarter 2026Q3

Each sample: [seconds from start, CPU s, RSS MB, main thread's place, [other threads' places]].
Figures: ``benchmarks/RESULTS.md``, "(the parent's wall with stage processes)".
"""

import json
import os
import sys
import threading
import time


def main():
    out = sys.argv[1]
    args = sys.argv[2:]
    samples = []
    t0 = time.time()
    main = threading.main_thread()

    def place(frame):
        theater = []
        f = frame
        while f is not None:
            fn = f.f_code.co_filename
            if "/theater/" in fn:
                theater.append(f"{os.path.basename(fn)}:{f.f_code.co_name}:{f.f_lineno}")
            f = f.f_back
        inner = f"{os.path.basename(frame.f_code.co_filename)}:{frame.f_code.co_name}"
        return (theater[0] if theater else "-") + " | " + inner

    def others():
        names = []
        for t in threading.enumerate():
            if t is main:
                continue
            fr = sys._current_frames().get(t.ident)
            if fr is None:
                continue
            names.append(t.name + ":" + place(fr))
        return names

    state = {"stop": False}

    def sampler():
        page = os.sysconf("SC_PAGE_SIZE")
        while not state["stop"]:
            fr = sys._current_frames().get(main.ident)
            tm = os.times()
            rss = int(open("/proc/self/statm").read().split()[1]) * page / 2**20
            samples.append(
                (
                    round(time.time() - t0, 3),
                    round(tm.user + tm.system, 3),
                    round(rss),
                    place(fr) if fr else "?",
                    others(),
                )
            )
            time.sleep(0.05)

    th = threading.Thread(target=sampler, daemon=True, name="sampler")
    th.start()
    from theater import logs

    real_exit = logs.exit_now if hasattr(logs, "exit_now") else None

    def dump():
        state["stop"] = True
        with open(out, "w") as f:
            json.dump(samples, f)

    if real_exit:

        def exit_now(code=0, *a, **k):
            dump()
            return real_exit(code, *a, **k)

        logs.exit_now = exit_now
    import atexit

    atexit.register(dump)
    from theater.cli import entry

    sys.argv = ["theater"] + args
    entry()


if __name__ == "__main__":
    main()
