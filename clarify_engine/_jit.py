"""One place for numba options, so every kernel is compiled the same way.

Kernels import :func:`jit` from here instead of calling ``numba.njit`` with their own
options. Setting ``NUMBA_DISABLE_JIT=1`` runs every kernel as plain Python (for coverage
and debugging).
"""

from __future__ import annotations

import numba

#: Options shared by every kernel (``njit`` is always nopython): release the GIL, cache compiled code.
JIT_OPTIONS = {"nogil": True, "cache": True}


def jit(func=None, **overrides):
    """Compile ``func`` with :data:`JIT_OPTIONS` (``overrides`` win, e.g. ``parallel=True``)."""
    options = {**JIT_OPTIONS, **overrides}
    if func is None:
        return lambda f: numba.njit(**options)(f)
    return numba.njit(**options)(func)
