"""The one set of Numba options every kernel in the project uses.

`cache=True` writes compiled code next to the source (``make clean`` removes it).
Kernels must keep their callees in the same module: Numba's cache does not notice an
edited callee that lives in another file.
"""
import os

# Idle OpenMP threads sleep instead of spinning between kernels. With spinning, a
# thread that finishes first burns the core its sibling needs whenever the machine is
# shared (measured: 2 threads at 6-7M programs/s vs 10M/s passive under load).
# Set before numba loads its threading layer; a user's own setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "passive")

import numba  # noqa: E402

JIT_OPTIONS = dict(nopython=True, cache=True, nogil=True)


def jit(fn=None, **extra):
    """`numba.njit` with the project's options; `parallel=True` may be added."""
    options = dict(JIT_OPTIONS, **extra)
    if fn is None:
        return lambda f: numba.jit(**options)(f)
    return numba.jit(**options)(fn)
