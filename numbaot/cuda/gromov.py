"""The Gromov-Wasserstein tensor product on the GPU: the CUDA twin of ``gromov._tensor.tensor_product``.

``(L (x) T)_ij = u_i + v_j - (h1 T h2^T)_ij`` with ``u = f1(C1) p``, ``v = f2(C2) q``, ``p = T 1``, ``q = T^T 1``
(Peyre et al. 2016, Prop. 1). The loss's scalar pieces (``f1_entry`` ... ``h2_entry``) and the final combination
(``tensor_entry``) are the very bodies the CPU kernels run, compiled here with ``.cuda``. The two products are
plain one-thread-per-entry kernels in float64: correct on any size, not tuned (no GPU bench exists yet; a
shared-memory tiled product, or cuBLAS through CuPy, is the next step once one does). The driver takes checked
inputs: its front-end, :func:`numbaot.gromov.api.tensor_product`, checks them on the device first (``cuda._checks``'
dispatch steps ``gromov.matrix`` and ``gromov.minimum``).
"""
from __future__ import annotations

import numpy as np
from numba import cuda

from ..gromov._tensor import f1_entry, f2_entry, h1_entry, h2_entry, tensor_entry
from . import _launch

# kernels resolve module globals, not attributes of a Python object
_f1, _f2, _h1, _h2 = f1_entry.cuda, f2_entry.cuda, h1_entry.cuda, h2_entry.cuda
_tensor_entry = tensor_entry.cuda


@cuda.jit
def _loss_kernel(C, kl, left, f_out, h_out):
    t = cuda.grid(1)
    m = C.shape[1]
    if t < C.shape[0] * m:
        i = t // m
        j = t - i * m
        if left:
            f_out[i, j] = _f1(C[i, j], kl)
            h_out[i, j] = _h1(C[i, j], kl)
        else:
            f_out[i, j] = _f2(C[i, j], kl)
            h_out[i, j] = _h2(C[i, j], kl)


@cuda.jit
def _sums_kernel(T, rows, cols):
    """Row sums (threads 0..n-1) and column sums (threads n..n+m-1) of T, one thread per sum."""
    t = cuda.grid(1)
    n, m = T.shape
    if t < n:
        acc = 0.0
        for j in range(m):
            acc += T[t, j]
        rows[t] = acc
    elif t < n + m:
        j = t - n
        acc = 0.0
        for i in range(n):
            acc += T[i, j]
        cols[j] = acc


@cuda.jit
def _matvec_kernel(A, x, out):
    i = cuda.grid(1)
    if i < A.shape[0]:
        acc = 0.0
        for k in range(A.shape[1]):
            acc += A[i, k] * x[k]
        out[i] = acc


@cuda.jit
def _matmul_kernel(A, B, transpose_b, out):
    """``out = A @ B`` or, with ``transpose_b``, ``A @ B^T``; one thread per entry of out."""
    t = cuda.grid(1)
    m = out.shape[1]
    if t < out.shape[0] * m:
        i = t // m
        j = t - i * m
        acc = 0.0
        for k in range(A.shape[1]):
            if transpose_b:
                acc += A[i, k] * B[j, k]
            else:
                acc += A[i, k] * B[k, j]
        out[i, j] = acc


@cuda.jit
def _combine_kernel(u, v, X, out):
    t = cuda.grid(1)
    m = out.shape[1]
    if t < out.shape[0] * m:
        i = t // m
        j = t - i * m
        out[i, j] = _tensor_entry(u, v, X, i, j)


_launch_flat = _launch.launch_flat


def tensor_product_cuda(C1, C2, T, kl: int, out_dtype, placement):
    """``(L (x) T)_ij = sum_kl L(C1_ik, C2_jl) T_kl`` for checked CUDA arrays, in O(n^2 m + n m^2) work.

    Parameters
    ----------
    C1, C2 : float64 C-contiguous device arrays of shape (n, n) and (m, m)
        The front-end's checked copies of the structure matrices (the ``gromov.matrix`` dispatch step: square,
        finite; non-negative under 'kl_loss').
    T : float64 C-contiguous device array of shape (n, m)
        The checked copy of any finite matrix (its own row and column sums play p and q, as on the CPU).
    kl : int
        The loss's code (``gromov._tensor.LOSS_CODES``: 0 'square_loss', 1 'kl_loss').
    out_dtype : numpy dtype
        float32 or float64 (computed in float64 either way).
    placement : ``_dispatch.Placement``
        The caller's stream and kind of array.

    Returns
    -------
    CUDA array of shape (n, m)
        In ``out_dtype``; the caller's kind of array.
    """
    stream = placement.stream
    n, m = int(C1.shape[0]), int(C2.shape[0])
    f1, h1 = _launch.empty((n, n), np.float64, stream), _launch.empty((n, n), np.float64, stream)
    f2, h2 = _launch.empty((m, m), np.float64, stream), _launch.empty((m, m), np.float64, stream)
    _launch_flat(_loss_kernel, n * n, stream, C1, kl, True, f1, h1)
    _launch_flat(_loss_kernel, m * m, stream, C2, kl, False, f2, h2)
    p, q = _launch.empty(n, np.float64, stream), _launch.empty(m, np.float64, stream)
    _launch_flat(_sums_kernel, n + m, stream, T, p, q)
    u, v = _launch.empty(n, np.float64, stream), _launch.empty(m, np.float64, stream)
    _launch_flat(_matvec_kernel, n, stream, f1, p, u)
    _launch_flat(_matvec_kernel, m, stream, f2, q, v)
    A = _launch.empty((n, m), np.float64, stream)  # h1 T
    _launch_flat(_matmul_kernel, n * m, stream, h1, T, False, A)
    X = _launch.empty((n, m), np.float64, stream)  # (h1 T) h2^T
    _launch_flat(_matmul_kernel, n * m, stream, A, h2, True, X)
    out = _launch.empty((n, m), out_dtype, stream)
    _launch_flat(_combine_kernel, n * m, stream, u, v, X, out)
    return _launch.to_caller(out, placement.kind)
