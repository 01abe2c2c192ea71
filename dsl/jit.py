"""The one set of Numba options every kernel in the project uses.

`cache=True` writes compiled code next to the source (``make clean`` removes it).
Kernels must keep their callees in the same module: Numba's cache does not notice an
edited callee that lives in another file.
"""
import numba

JIT_OPTIONS = dict(nopython=True, cache=True, nogil=True)


def jit(fn=None, **extra):
    """`numba.njit` with the project's options; `parallel=True` may be added."""
    options = dict(JIT_OPTIONS, **extra)
    if fn is None:
        return lambda f: numba.jit(**options)(f)
    return numba.jit(**options)(fn)
