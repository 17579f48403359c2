"""A stage process's run id from its parent (theater.pipeline._IdFromParent): received when
the stage first asks, once, and kept."""

from __future__ import annotations

import multiprocessing

from theater.pipeline import _IdFromParent


def test_the_id_is_received_when_first_asked_then_kept():
    receive, send = multiprocessing.Pipe(duplex=False)
    run_id = _IdFromParent(receive)
    assert run_id.value is None  # nothing read before the stage asks
    send.send("0123abcd")
    send.close()
    assert run_id() == "0123abcd"
    assert receive.closed  # read once: the pipe is done
    assert run_id() == "0123abcd"  # later asks do not read again
