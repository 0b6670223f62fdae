"""What a process must redo after ``fork()``: gunicorn's ``preload_app`` builds the app once in
the master and forks every worker from it, so anything the app holds that is bound to one
process (database connections, HTTP keep-alive sockets, gauges whose samples live in a per-pid
file) must be renewed in each child before first use, or two workers would talk over one socket.

``os.register_at_fork`` runs the renewal in the child of any fork (gunicorn or not); the target
is held weakly so an app built and dropped (as tests do by the hundred) is not kept alive.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def renew_after_fork(target: T, renew: Callable[[T], None]) -> None:
    """Call ``renew(target)`` in every child process forked while ``target`` is alive.

    ``renew`` must not refer to ``target`` itself (it is passed in), or it would never be freed.
    """
    ref = weakref.ref(target)

    def in_child() -> None:
        alive = ref()
        if alive is not None:
            renew(alive)

    os.register_at_fork(after_in_child=in_child)
