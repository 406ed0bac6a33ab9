"""One place for numba options, so every kernel is compiled the same way.

Kernels import :func:`jit` from here instead of calling ``numba.njit`` with their own
options. Setting ``NUMBA_DISABLE_JIT=1`` runs every kernel as plain Python (for coverage
and debugging).

Compiled kernels are cached on disk (``cache=True``: ``NUMBA_CACHE_DIR``, else
``__pycache__`` beside the package). The first time a kernel is compiled in a process
because the cache has no entry for it (a new machine, a new CPU, a new version), one line
says so in the log (:data:`COMPILING_MESSAGE`), since that run takes seconds longer. The
container image ships a warm cache compiled for a generic CPU (``NUMBA_CPU_NAME=generic``;
see ``container/Dockerfile`` and ``docs/performance.md``).
"""

from __future__ import annotations

import logging
import weakref

import numba
from numba.core import config as _numba_config
from numba.core import event as _event

__all__ = ["COMPILING_MESSAGE", "JIT_OPTIONS", "jit"]

log = logging.getLogger(__name__)

#: Options shared by every kernel (``njit`` is always nopython): release the GIL, cache compiled code.
JIT_OPTIONS = {"nogil": True, "cache": True}

#: Logged once per process, when the first kernel that the cache does not hold is compiled.
COMPILING_MESSAGE = "Compiling numeric kernels (first run on this machine; cached afterwards) ..."

#: The dispatchers :func:`jit` made: compiles of other numba functions are not announced.
_KERNELS: "weakref.WeakSet" = weakref.WeakSet()


class _CompileNotice(_event.Listener):
    """Listens to numba's ``numba:compile`` event, which fires on a cache miss only."""

    def __init__(self):
        self.announced = False

    def on_start(self, event) -> None:
        if self.announced or event.data.get("dispatcher") not in _KERNELS:
            return
        self.announced = True
        where = _numba_config.CACHE_DIR or "__pycache__ folders beside the package"
        cpu = _numba_config.CPU_NAME or "this machine's CPU"
        log.info("%s (cache: %s; target: %s)", COMPILING_MESSAGE, where, cpu)

    def on_end(self, event) -> None:
        """Nothing to do when a compile ends."""


_NOTICE = _CompileNotice()
_event.register("numba:compile", _NOTICE)


def _kernel(func, options):
    dispatcher = numba.njit(**options)(func)
    if isinstance(dispatcher, numba.core.dispatcher.Dispatcher):  # not with NUMBA_DISABLE_JIT=1
        _KERNELS.add(dispatcher)
    return dispatcher


def jit(func=None, **overrides):
    """Compile ``func`` with :data:`JIT_OPTIONS` (``overrides`` win, e.g. ``parallel=True``)."""
    options = {**JIT_OPTIONS, **overrides}
    if func is None:
        return lambda f: _kernel(f, options)
    return _kernel(func, options)
