"""The tensor product ``L(C1, C2) (x) T`` of Gromov-Wasserstein in O(n^2 m + n m^2) (Peyre et al. 2016, Prop. 1).

``(L (x) T)_ij = sum_kl L(C1_ik, C2_jl) T_kl`` costs O(n^2 m^2) as written. For a loss that splits as
``L(x, y) = f1(x) + f2(y) - h1(x) h2(y)`` it is, with ``p = T 1`` and ``q = T^T 1``,

    L (x) T = u 1^T + 1 v^T - h1(C1) T h2(C2)^T,    u = f1(C1) p,  v = f2(C2) q,

two matrix products. The Gromov-Wasserstein objective is ``E(T) = <L (x) T, T>``; its gradient is
``L (x) T + L^T (x) T`` where ``L^T`` uses ``C1^T`` and ``C2^T`` (the same product when both are symmetric).

Losses (the split of each):

* ``square_loss``: ``(x - y)^2``: ``f1 = x^2``, ``f2 = y^2``, ``h1 = x``, ``h2 = 2 y``;
* ``kl_loss``: ``x log(x / y) - x + y``: ``f1 = x log x - x``, ``f2 = y``, ``h1 = x``, ``h2 = log y``, where
  ``log`` is taken of ``value + KL_FLOOR`` so that zero entries (a distance matrix's diagonal) stay finite.

The dense products go to BLAS (numpy's ``@``), several times faster than a Numba loop at every size we measured.
The conditional gradient's linear oracle returns a vertex of the transport polytope, a plan with at most
``n + m - 1`` non-zeros: ``h1 S h2^T`` for such a sparse ``S`` costs one scatter and one dense product instead of
two dense ones (:func:`quad_sparse`), and successive vertices' products are updated by their changes, which
touch fewer and fewer rows (:class:`VertexProducts`).
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .._jit import cpu_jit, twin

LOSSES = ("square_loss", "kl_loss")
#: Loss name -> the code the scalar bodies take (``kl``: 0 or 1).
LOSS_CODES = {"square_loss": 0, "kl_loss": 1}
#: Added inside the logarithms of ``kl_loss`` (the convention POT uses, so that both agree on zero entries).
KL_FLOOR = 1e-18


# Scalar bodies of the split, shared by the CPU kernels below and the CUDA ones (numbaot/cuda/gromov.py).
@twin
def f1_entry(x, kl):
    if kl:
        return x * math.log(x + KL_FLOOR) - x
    return x * x


@twin
def f2_entry(y, kl):
    if kl:
        return y
    return y * y


@twin
def h1_entry(x, kl):
    return x


@twin
def h2_entry(y, kl):
    if kl:
        return math.log(y + KL_FLOOR)
    return 2.0 * y


@twin
def tensor_entry(u, v, X, i, j):
    """``(L (x) T)_ij = u_i + v_j - X_ij``."""
    return u[i] + v[j] - X[i, j]


_f1, _f2, _h1, _h2, _tensor_entry = f1_entry.cpu, f2_entry.cpu, h1_entry.cpu, h2_entry.cpu, tensor_entry.cpu


@cpu_jit
def _loss_matrices(C, kl, left, f_out, h_out):
    """``f_out = f(C)``, ``h_out = h(C)`` elementwise: (f1, h1) when ``left`` (C1's side), else (f2, h2).

    Serial: O(n^2) once per solve, less than a parallel region's start-up on a loaded machine."""
    for i in range(C.shape[0]):
        for j in range(C.shape[1]):
            if left:
                f_out[i, j] = _f1(C[i, j], kl)
                h_out[i, j] = _h1(C[i, j], kl)
            else:
                f_out[i, j] = _f2(C[i, j], kl)
                h_out[i, j] = _h2(C[i, j], kl)


@cpu_jit
def _combine(u, v, X, out):
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = _tensor_entry(u, v, X, i, j)


class Split(NamedTuple):
    """The pieces of ``L (x) T`` for one pair of structure matrices and marginals (host, float64, C order).

    ``h1t``/``h2t`` are ``h1^T``/``h2^T`` (contiguous) and ``ut``/``vt`` the ``u``/``v`` of ``C1^T``, ``C2^T``;
    for symmetric matrices they are the same arrays as ``h1``, ``h2``, ``u``, ``v``.
    """

    h1: np.ndarray  # (n, n)
    h2: np.ndarray  # (m, m)
    u: np.ndarray  # (n,)  f1(C1) p
    v: np.ndarray  # (m,)  f2(C2) q
    h1t: np.ndarray
    h2t: np.ndarray
    ut: np.ndarray
    vt: np.ndarray
    symmetric: bool


def loss_functions(C1, C2, loss: str):
    """``(f1(C1), f2(C2), h1(C1), h2(C2))`` elementwise, float64 (C order)."""
    if loss not in LOSS_CODES:
        raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
    kl = LOSS_CODES[loss]
    C1 = np.ascontiguousarray(C1, dtype=np.float64)
    C2 = np.ascontiguousarray(C2, dtype=np.float64)
    f1, h1 = np.empty_like(C1), np.empty_like(C1)
    f2, h2 = np.empty_like(C2), np.empty_like(C2)
    _loss_matrices(C1, kl, True, f1, h1)
    _loss_matrices(C2, kl, False, f2, h2)
    return f1, f2, h1, h2


def split(C1, C2, p, q, loss: str, symmetric: bool) -> Split:
    """The decomposition of ``L(C1, C2)`` for marginals ``p``, ``q`` (see the module docstring)."""
    f1, f2, h1, h2 = loss_functions(C1, C2, loss)
    p = np.asarray(p, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    h1 = np.ascontiguousarray(h1)
    h2 = np.ascontiguousarray(h2)
    u, v = f1 @ p, f2 @ q
    if symmetric:
        return Split(h1, h2, u, v, h1, h2, u, v, True)
    return Split(h1, h2, u, v, np.ascontiguousarray(h1.T), np.ascontiguousarray(h2.T), f1.T @ p, f2.T @ q, False)


def quad_dense(h1, T, h2):
    """``h1 T h2^T`` for a dense ``T`` (n, m): n^2 m + n m^2 multiply-adds whichever product goes first."""
    return (h1 @ T) @ h2.T


#: Plans with fewer entries than this are multiplied in float64 every time (below it the tracking saves little).
TRACK_MIN_ENTRIES = 200 * 200
#: After a change that is not close to low rank, the next attempts wait 0, 1, 3, 7 ... up to LOW_RANK_MAX_WAIT - 1
#: changes (float64 products meanwhile).
LOW_RANK_MAX_WAIT = 16
#: Low-rank changes: columns of a new basis's test matrix (the old basis's leading directions, topped up
#: with random ones up to this count), the part of the change left outside the subspace that is accepted
#: (relative Frobenius norm); the smaller side must be at least 4 * LOW_RANK (below it the full product is as
#: cheap).
LOW_RANK = 24
LOW_RANK_OVERSAMPLE = 8
LOW_RANK_TAIL = 3e-5


class TrackedProduct:
    """``X = h1 T h2^T`` for a sequence of plans T (mirror descent's iterates), mostly without its two dense
    ``n^3`` products.

    After one float64 product (an *anchor*), each new plan's product is the previous one plus ``h1 D h2^T`` for
    the change ``D`` since the last plan, when that change is close to low rank: mirror descent's plans are smooth
    at moderate eps and so are their changes, so ``D`` is within ``LOW_RANK_TAIL * |D|`` (Frobenius) of its
    projection ``Q Q^T D`` on a few orthonormal directions ``Q``, kept from change to change while they hold it.
    ``|D - Q Q^T D|`` is measured every time, not assumed. Then ``h1 D h2^T ~= (h1 Q)(Q^T D h2^T)`` costs
    O((n + m)^2 r). A change that is not that close to low rank gets the float64 product (an anchor), and the
    next low-rank attempts back off (1, 2, 4 ... changes; at small eps the changes stay full rank).

    The error of an update is at most ``|h1|_2 |h2|_2 LOW_RANK_TAIL |D|_F``, so it shrinks with the iterates'
    changes. The errors add up from one anchor to the next: :meth:`at` reports whether the product it returns
    is an anchor, and the caller asks for one (``exact_next``) before it accepts a stopping test, so that the
    stop is certified with float64 products, as without tracking.

    (A float32 path for full-rank changes was tried: at eps = 0.01, where the changes are full rank, the Sinkhorn
    solves dominate, float32 saved little per iteration and its rounding, amplified by 1 / eps in the plan, cost
    outer iterations: 52 instead of 47 at n = 800, slower in all.)

    ``track=False`` (small plans, or non-finite h1, h2) makes every product an anchor.
    """

    def __init__(self, h1, h2, track=True, seed=0):
        self.h1, self.h2 = h1, h2
        n, m = h1.shape[0], h2.shape[0]
        self.track = bool(track) and n * m >= TRACK_MIN_ENTRIES
        if self.track:
            self.track = bool(np.isfinite(h1).all() and np.isfinite(h2).all())
        self.track = self.track and min(n, m) >= 4 * LOW_RANK
        self.wait = 0  # changes to skip before the next low-rank attempt
        self.backoff = 1
        self.rng = np.random.default_rng(seed)
        self.basis = self.h1_basis = None  # (n, r): orthonormal directions holding the changes, and h1 times them
        self.X = None
        self.last = None  # the plan X belongs to
        self.delta = None
        self.exact_next = True
        self.counts = {"anchor": 0, "low_rank": 0, "new_basis": 0}

    def at(self, T):
        """``(X, anchored)``: ``X = h1 T h2^T`` (float64; the same array object is updated from call to call) and
        whether it was computed from ``T`` in float64 rather than updated by a change."""
        if self.exact_next or not self.track or self.X is None or self.wait > 0:
            self.wait = max(self.wait - 1, 0)
            return self._anchor(T), True
        if self.delta is None:
            self.delta = np.empty(T.shape)
        norm2 = _change(T, self.last, self.delta)  # also sets last = T
        if norm2 == 0.0:
            return self.X, False
        update = self._low_rank_update(self.delta, norm2)
        if update is None:  # not low rank now, likely not for a while either (small eps): back off
            self.wait = self.backoff - 1
            self.backoff = min(2 * self.backoff, LOW_RANK_MAX_WAIT)
            return self._anchor(T, last_is_t=True), True
        self.backoff = 1
        self.counts["low_rank"] += 1
        self.X += update
        return self.X, False

    def _low_rank_update(self, D, norm2):
        """``h1 D h2^T`` from D's projection ``Q Q^T D`` on a few directions, or None when D is not that close to
        low rank. The basis Q is kept while it captures the changes (then the update costs two thin products and
        ``h1 Q`` is reused); when it does not, a new one is sampled from D, warm-started by the old one's leading
        directions."""
        if self.basis is not None:
            B = self.basis.T @ D  # (r, m)
            if self._captured(B, norm2):
                return self.h1_basis @ (B @ self.h2.T)
            _, _, Vt = np.linalg.svd(B, full_matrices=False)
            test = np.hstack([Vt[:LOW_RANK - LOW_RANK_OVERSAMPLE].T,
                              self.rng.standard_normal((D.shape[1], LOW_RANK_OVERSAMPLE))])
        else:
            test = self.rng.standard_normal((D.shape[1], LOW_RANK))
        Q, _ = np.linalg.qr(D @ test)  # (n, r): D's range, sampled
        B = Q.T @ D
        if not self._captured(B, norm2):
            self.basis = None
            return None
        self.basis, self.h1_basis = Q, self.h1 @ Q
        self.counts["new_basis"] += 1
        return self.h1_basis @ (B @ self.h2.T)

    @staticmethod
    def _captured(B, norm2):
        """Whether ``|D - Q Q^T D|^2 = |D|^2 - |Q^T D|^2`` (Q orthonormal) is within the tail allowed."""
        return norm2 - float(np.vdot(B, B)) <= LOW_RANK_TAIL**2 * norm2

    def start_product(self, p, q):
        """Anchor at the product plan ``T = p q^T``, whose ``X = (h1 p)(h2 q)^T`` has rank one: O(n^2 + m^2)."""
        return self._anchor(np.outer(p, q), np.outer(self.h1 @ p, self.h2 @ q))

    def _anchor(self, T, X=None, last_is_t=False):
        self.X = quad_dense(self.h1, T, self.h2) if X is None else X
        self.counts["anchor"] += X is None
        if self.track and not last_is_t:  # (``_change`` has just set last = T)
            if self.last is None:
                self.last = np.empty_like(T)
            self.last[...] = T
        self.exact_next = False
        return self.X


@cpu_jit
def _change(T, last, out):
    """``out = T - last``, ``last = T`` and ``|out|_F^2``, in one pass over contiguous (n, m) arrays."""
    n, m = T.shape
    total = 0.0
    for i in range(n):
        for j in range(m):
            t = T[i, j]
            d = t - last[i, j]
            out[i, j] = d
            total += d * d
            last[i, j] = t
    return total


def quad_sparse(h1, h2t, rows, cols, vals):
    """``h1 S h2^T`` for the sparse ``S`` (n, m) given by COO triples (repeats add up), from ``h2t = h2^T``
    (contiguous), in the cheaper association: ``h1 (S h2^T)`` when n <= m, else ``(h1 S) h2^T``. Only the rows
    (columns) of S that hold entries take part: with r of them the product costs n r m (one compiled scatter of
    O(nnz max(n, m)) and one BLAS product), so a change touching few rows costs little (:class:`VertexProducts`).
    """
    n, m = h1.shape[0], h2t.shape[1]
    if n <= m:
        where, used = _compact_index(rows, n)
        W = np.zeros((used.shape[0], m))
        _scatter_rows(h2t, where, cols, vals, W)
        return (h1 if used.shape[0] == n else h1[:, used]) @ W
    where, used = _compact_index(cols, m)
    W = np.zeros((used.shape[0], n))  # (h1 S)^T restricted to the columns used
    _scatter_rows(h1.T, where, rows, vals, W)
    return W.T @ (h2t if used.shape[0] == m else h2t[used])


@cpu_jit
def _compact_index(index, size):
    """``(where, used)``: the distinct values of ``index`` (in [0, size)) in increasing order, and each entry's
    position among them; ``used`` is ``arange(size)`` when every value occurs."""
    slot = np.full(size, -1, dtype=np.int64)
    for k in range(index.shape[0]):
        slot[index[k]] = 0
    count = 0
    for v in range(size):
        if slot[v] == 0:
            slot[v] = count
            count += 1
    used = np.empty(count, dtype=np.int64)
    for v in range(size):
        if slot[v] >= 0:
            used[slot[v]] = v
    where = np.empty(index.shape[0], dtype=np.int64)
    for k in range(index.shape[0]):
        where[k] = slot[index[k]]
    return where, used


@cpu_jit
def _scatter_rows(B, rows, cols, vals, W):
    """``W[rows[k], :] += vals[k] * B[cols[k], :]`` for every k: ``W += S B`` for the sparse S given by COO triples
    (with ``B = h2^T`` this is ``S h2^T``; on transposed views, ``W^T += S^T h1^T``, i.e. ``W = h1 S``)."""
    for k in range(vals.shape[0]):
        r = rows[k]
        c = cols[k]
        s = vals[k]
        Wr = W[r]
        Bc = B[c]
        for j in range(W.shape[1]):
            Wr[j] += s * Bc[j]


@cpu_jit
def sparse_change(rows0, cols0, vals0, rows, cols, vals, scratch):
    """COO triples of ``S - S0`` for two sparse plans given by COO triples (distinct positions each), zeros left
    out; ``scratch`` is an all-zero (n, m) array, left all zero."""
    for k in range(vals0.shape[0]):
        scratch[rows0[k], cols0[k]] -= vals0[k]
    for k in range(vals.shape[0]):
        scratch[rows[k], cols[k]] += vals[k]
    total = vals0.shape[0] + vals.shape[0]
    out_rows = np.empty(total, dtype=np.int64)
    out_cols = np.empty(total, dtype=np.int64)
    out_vals = np.empty(total)
    count = 0
    for k in range(total):  # each position once: it is zeroed when taken
        r, c = (rows0[k], cols0[k]) if k < vals0.shape[0] else (rows[k - vals0.shape[0]], cols[k - vals0.shape[0]])
        d = scratch[r, c]
        if d != 0.0:
            out_rows[count] = r
            out_cols[count] = c
            out_vals[count] = d
            count += 1
        scratch[r, c] = 0.0
    return out_rows[:count], out_cols[:count], out_vals[:count]


#: A vertex's products are updated by its change from the previous vertex when the change touches at most this
#: share of the rows (columns) the vertex itself does: the update's product costs that share of a full one, and
#: it adds one pass over X. At n = 1000 (random clouds) the changes touch 40% of the rows on average after the
#: first iterations and a few rows at the end.
INCREMENTAL_SHARE = 0.75


class VertexProducts:
    """``X(S) = h1 S h2^T`` and ``Y(S) = h1^T S h2`` (the same when symmetric) at the conditional gradient's
    successive vertices S, from ``h1``, ``h2`` and their transposes ``h1t``, ``h2t`` (contiguous).

    Each vertex's products are the previous vertex's plus the products of the change when that touches few rows
    (:data:`INCREMENTAL_SHARE`), else computed afresh. The returned arrays belong to this object: the next call
    may update them in place, so a caller must not keep them past it. Each update adds one rounding of X
    (relative 1e-16); a fresh product starts over.
    """

    def __init__(self, h1, h2, h1t, h2t, symmetric):
        self.h1, self.h2, self.h1t, self.h2t, self.symmetric = h1, h2, h1t, h2t, symmetric
        self.last = None  # the previous vertex's COO triples
        self.X = self.Y = None
        self.counts = {"fresh": 0, "updated": 0}

    def at(self, rows, cols, vals, scratch):
        """``(X(S), Y(S))`` for the vertex S given by COO triples (distinct positions); ``scratch``: an all-zero
        (n, m) array, left all zero."""
        last, self.last = self.last, (rows, cols, vals)
        if last is not None:
            change = sparse_change(*last, rows, cols, vals, scratch)
            side = 0 if scratch.shape[0] <= scratch.shape[1] else 1  # quad_sparse's product runs over this side
            size = scratch.shape[side]
            # distinct rows (columns): the size of the product quad_sparse would run for each
            touched = _compact_index(change[side], size)[1].shape[0]
            if touched <= INCREMENTAL_SHARE * _compact_index((rows, cols)[side], size)[1].shape[0]:
                if change[2].shape[0]:
                    self.X += quad_sparse(self.h1, self.h2t, *change)
                    if not self.symmetric:
                        self.Y += quad_sparse(self.h1t, self.h2, *change)
                self.counts["updated"] += 1
                return self.X, self.Y
        self.X = quad_sparse(self.h1, self.h2t, rows, cols, vals)
        self.Y = self.X if self.symmetric else quad_sparse(self.h1t, self.h2, rows, cols, vals)
        self.counts["fresh"] += 1
        return self.X, self.Y


@cpu_jit
def _quad_sparse_add(L, Lt, Rt, rows, cols, vals, out):
    """``out += L S R^T`` for the sparse ``S`` (n, m) given by COO triples, from ``Lt = L^T`` and ``Rt = R^T``
    (contiguous): :func:`quad_sparse` in plain loops (for small plans, where they beat a BLAS call and its
    overhead), over the rows (n <= m) or columns of S that hold entries."""
    n = L.shape[0]
    m = Rt.shape[1]
    if n <= m:
        where, used = _compact_index(rows, n)
        W = np.zeros((used.shape[0], m))  # S R^T on the rows used
        _scatter_rows(Rt, where, cols, vals, W)
        for i in range(n):
            o = out[i]
            Li = L[i]
            for k in range(used.shape[0]):
                c = Li[used[k]]
                Wk = W[k]
                for j in range(m):
                    o[j] += c * Wk[j]
    else:
        where, used = _compact_index(cols, m)
        W = np.zeros((used.shape[0], n))  # (L S)^T on the columns used
        _scatter_rows(Lt, where, rows, vals, W)
        for i in range(n):
            o = out[i]
            for k in range(used.shape[0]):
                c = W[k, i]
                Rk = Rt[used[k]]
                for j in range(m):
                    o[j] += c * Rk[j]


@cpu_jit(inline="always")
def vertex_products(h1, h2, h1t, h2t, symmetric, rows0, cols0, vals0, has_last, rows, cols, vals, scratch, XS, YS,
                    share):
    """:meth:`VertexProducts.at` in compiled code: ``XS = X(S)``, ``YS = Y(S)`` in place for the vertex S given by
    COO triples, updated from the previous vertex's (``rows0, cols0, vals0``, when ``has_last``) by the change when
    that touches at most ``share`` of the rows (columns) S does. ``YS`` is ``XS`` when symmetric; ``scratch`` an
    all-zero (n, m) array, left all zero."""
    n, m = scratch.shape
    if has_last:
        c_rows, c_cols, c_vals = sparse_change(rows0, cols0, vals0, rows, cols, vals, scratch)
        if n <= m:
            touched = _compact_index(c_rows, n)[1].shape[0]
            base = _compact_index(rows, n)[1].shape[0]
        else:
            touched = _compact_index(c_cols, m)[1].shape[0]
            base = _compact_index(cols, m)[1].shape[0]
        if touched <= share * base:
            if c_vals.shape[0]:
                _quad_sparse_add(h1, h1t, h2t, c_rows, c_cols, c_vals, XS)
                if not symmetric:
                    _quad_sparse_add(h1t, h1, h2, c_rows, c_cols, c_vals, YS)
            return
    XS[:] = 0.0
    _quad_sparse_add(h1, h1t, h2t, rows, cols, vals, XS)
    if not symmetric:
        YS[:] = 0.0
        _quad_sparse_add(h1t, h1, h2, rows, cols, vals, YS)


def tensor_product(C1, C2, T, loss: str = "square_loss"):
    """``(L (x) T)_ij = sum_kl L(C1_ik, C2_jl) T_kl`` for any ``T`` (its own marginals are used), O(n^2 m + n m^2).

    Examples
    --------
    >>> import numpy as np
    >>> from numbaot.gromov._tensor import tensor_product
    >>> C1 = np.array([[0.0, 1.0], [1.0, 0.0]]); C2 = np.array([[0.0, 2.0], [2.0, 0.0]])
    >>> tensor_product(C1, C2, np.full((2, 2), 0.25))
    array([[1.5, 1.5],
           [1.5, 1.5]])
    """
    T = np.asarray(T, dtype=np.float64)
    s = split(C1, C2, T.sum(axis=1), T.sum(axis=0), loss, True)
    out = np.empty(T.shape)
    _combine(s.u, s.v, quad_dense(s.h1, T, s.h2), out)
    return out


def objective(s: Split, T, X=None):
    """``E(T) = <L (x) T, T>`` for a plan whose marginals are the ``p``, ``q`` of ``s``; ``X = h1 T h2^T`` if known."""
    if X is None:
        X = quad_dense(s.h1, T, s.h2)
    return float(s.u @ T.sum(axis=1) + s.v @ T.sum(axis=0) - np.vdot(X, T))
