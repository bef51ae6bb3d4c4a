"""The compiled pass of Screenkhorn's objective (``smooth.screening``): one read of the kernel block ``K_IJ`` gives
``u^T K v``, ``K v`` and ``K^T u`` (rows in parallel chunks, each chunk with its own column buffer, reduced
serially)."""
from __future__ import annotations

import numpy as np
from numba import prange

from .._jit import cpu_jit


@cpu_jit(parallel=True)
def kernel_products(K, u, v, n_chunks, Kv, col_part):
    """``Kv = K v`` (n), ``col_part[c]`` = chunk c's part of ``K^T u``; returns nothing (see :func:`products`)."""
    n, m = K.shape
    for c in prange(n_chunks):
        cp = col_part[c]
        cp[:] = 0.0
        for i in range(c * n // n_chunks, (c + 1) * n // n_chunks):
            Ki = K[i]
            ui = u[i]
            s = 0.0
            for j in range(m):
                s += Ki[j] * v[j]
                cp[j] += ui * Ki[j]
            Kv[i] = s


def products(K, u, v, n_chunks, col_part):
    """``(u^T K v, K v, K^T u)`` in one pass over K."""
    Kv = np.empty(K.shape[0])
    kernel_products(K, u, v, n_chunks, Kv, col_part)
    return float(u @ Kv), Kv, col_part.sum(axis=0)
