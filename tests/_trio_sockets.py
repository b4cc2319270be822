"""What the tests of the trio socket layer share: a connected pair with `_netio_trio`'s stream on one end,
and a count of the times the test's task lets other tasks run."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager

import trio
import trio.lowlevel

from aiospaces._netio_trio import _Socket


@contextmanager
def socket_pair() -> Iterator[tuple[_Socket, socket.socket]]:
    """A connected pair: our stream over one end, and the other end as a plain non-blocking socket the test
    reads and writes itself."""
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    theirs.setblocking(False)
    with theirs:
        yield _Socket(ours), theirs
    ours.close()


@contextmanager
def counting_turns() -> Iterator[list[int]]:
    """Counts (in a one-item list) the times the test's task lets other tasks run: trio's steps of it."""
    count = [0]
    me = trio.lowlevel.current_task()

    class Steps(trio.abc.Instrument):
        def after_task_step(self, task: trio.lowlevel.Task) -> None:
            if task is me:
                count[0] += 1

    instrument = Steps()
    trio.lowlevel.add_instrument(instrument)
    try:
        yield count
    finally:
        trio.lowlevel.remove_instrument(instrument)
