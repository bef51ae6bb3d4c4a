"""The frame costs of the spatio-temporal alignment when the frames are not histograms on a product grid: point
clouds (a cloud per frame), or histograms on a shared support of any shape. All the Sinkhorn divergences between
the frames of two series in batches, not one ``solve_sample`` per pair.

As on the grid (``_sta``), the divergence

    S(a, b) = OT(a, b) - OT(a, a) / 2 - OT(b, b) / 2 = <a, f_ba - f_aa> + <b, g_ab - g_bb>

is assembled from the self-potentials of each frame, solved once per frame (the T frames of a series in one
batch), and the potentials of the T_x T_y cross problems, solved in one batch (in chunks that keep the cost
matrices under :data:`CHUNK_FLOATS` entries; histograms on a shared support share one cost matrix, so they never
need chunks).

**The loops** are :func:`numbaot.entropic._symmetric.symmetric_sinkhorn`'s, step for step, as the grid's are
(``_sta._solve_self``, ``_sta._solve_cross``): the same annealing (``_schedules.annealing_schedule``, scaling 1/2,
here over the bounding box of every frame, so that one schedule serves the whole batch), averaged updates while
annealing, alternate updates over-relaxed by the same rule at the last temperature for a cross problem
(``_sta.observe``, per problem), averaged ones for a self-problem, the same fixed-point error and stopping rule
(each problem stops on its own), and a last full update. Every softmin is a half-step of entropic's geometry over
cost matrices (``_geometry.half_step`` on ``DenseCosts``, the kernel the per-pair dense solve runs, one parallel
loop over the rows of every problem of the batch); only the steps' bookkeeping is numpy, once per step for the
whole batch. At a tight ``tol`` the values equal the per-pair solves' (``solve_sample(..., debias=True)``) to
rounding (tests); at a loose one they differ by about ``tol`` times the costs' scale, as the grid path's do.

The loops (:func:`solve_self`, :func:`solve_cross`) are written over the operations of a batch, the host's
(:class:`_Batch`) or the GPU's (``numbaot.cuda.sta_clouds.DeviceBatch``: the same steps on device potentials, the
softmins being the GPU Sinkhorn loop's dense half-steps), so device frames take these very loops.
"""
from __future__ import annotations

import numpy as np

from .._status import MAX_ITER_REACHED, NUMERICAL_ERROR, OPTIMAL

#: Bound on the cost matrices of one batch of problems (C and its transpose), in float64 entries (128 MiB).
CHUNK_FLOATS = 2**24
#: Bound on one problem's cost matrices (C and its transpose), in float64 entries (1 GiB): the batches hold whole
#: cost matrices, so larger frames are refused before anything is allocated.
PAIR_FLOATS = 2**27


def check_pair_size(n, m):
    """MemoryError, before allocating, when one problem's cost matrices (C and C^T) exceed :data:`PAIR_FLOATS`."""
    need = 2 * n * m
    if need > PAIR_FLOATS:
        raise MemoryError(f"sta between frames of {n} and {m} points needs {need * 8 / 2**30:.1f} GiB of cost "
                          f"matrices per frame pair (at most {PAIR_FLOATS * 8 / 2**30:.0f} GiB): the batched frame "
                          "solves hold whole cost matrices; subsample the frames, or give histograms on a product "
                          "grid (support=), whose costs are never formed")


def schedule(clouds, reg):
    """The annealing temperatures (float64) for frames whose points are the arrays of ``clouds`` (each (..., k)):
    from the largest squared distance across their common bounding box down to ``reg``."""
    low = np.min([c.reshape(-1, c.shape[-1]).min(axis=0) for c in clouds], axis=0)
    high = np.max([c.reshape(-1, c.shape[-1]).max(axis=0) for c in clouds], axis=0)
    return schedule_box(low, high, reg)


def schedule_box(low, high, reg):
    """:func:`schedule` from the corners ``low``, ``high`` (k,) of the frames' bounding box (the GPU twin computes
    them on the device)."""
    from ..entropic._schedules import annealing_schedule

    return np.asarray(annealing_schedule(np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64),
                                         "sqeuclidean", 2.0, reg, 0.5), dtype=np.float64)


def _costs(P, Q):
    """Squared Euclidean costs between the clouds P (B, n, k) and Q (B, m, k): (B, n, m), summed coordinate by
    coordinate (never negative)."""
    C = np.zeros((P.shape[0], P.shape[1], Q.shape[1]))
    diff = np.empty_like(C)
    for d in range(P.shape[2]):  # in place: one (B, n, m) temporary in all
        np.subtract(P[:, :, None, d], Q[:, None, :, d], out=diff)
        np.multiply(diff, diff, out=diff)
        C += diff
    return C


def _geometry(C, symmetric):
    from ..entropic._geometry import DenseCosts

    return DenseCosts(C, C if symmetric else np.ascontiguousarray(np.transpose(C, (0, 2, 1))))


def _fixed_point_error(w, old, new, eps):
    """Per problem (row): ``sum_i w_i |exp((old_i - new_i) / eps) - 1|`` (the divergence's fixed-point error, as
    ``_loop.sinkhorn_loop`` checks it)."""
    with np.errstate(over="ignore", invalid="ignore"):
        return np.where(w > 0, w * np.abs(np.expm1((old - new) / eps)), 0.0).sum(axis=1)


def _relax(old, new, weight):
    """``old + weight (new - old)`` per problem (``weight`` (B,) or a scalar; ``new`` itself where it is 1)."""
    weight = np.broadcast_to(np.asarray(weight, dtype=np.float64), (old.shape[0],))[:, None]
    return np.where(weight == 1.0, new, old + (new - old) * weight)


class _Batch:
    """The half-steps of a batch of B problems on one ``DenseCosts`` geometry (B matrices, or one shared)."""

    def __init__(self, geom, B, n_threads):
        self.geom, self.n_threads = geom, n_threads
        self.all = np.ones(B, np.uint8)

    def softmin(self, side, log_w, other, eps, prev, active=None):
        """``-eps log sum_j w_j exp((other_j - C_ij) / eps)`` on the rows of ``side`` (ROWS: C, COLUMNS: C^T) of
        every active problem; ``prev`` (its previous value, kept where a problem is inactive) seeds the one-pass
        log-sum-exp."""
        from .._threads import run_parallel
        from ..entropic._geometry import half_step

        out = np.array(prev, dtype=np.float64)
        run_parallel(half_step, self.n_threads, self.geom, side, other, log_w, np.zeros(out.shape),
                     self.all if active is None else active, float(eps), 1.0, out)
        return out

    # the steps' bookkeeping, for the loops below (``numbaot.cuda.sta_clouds.DeviceBatch`` is the GPU twin)
    @staticmethod
    def zeros(like):
        return np.zeros(like.shape)

    @staticmethod
    def log(w):
        return _log(w)

    @staticmethod
    def error(w, old, new, eps):
        """Per problem (host (B,)): the fixed-point error of the step ``old -> new``."""
        return _fixed_point_error(w, old, new, eps)

    @staticmethod
    def relax(old, new, weight):
        return _relax(old, new, weight)

    @staticmethod
    def nonfinite(*pairs):
        """Per problem (host (B,) bool): a potential ``v`` of a pair ``(v, w)`` is not finite where ``w > 0``."""
        return np.any([~np.all(np.isfinite(v) | (w <= 0), axis=1) for v, w in pairs], axis=0)


def _log(w):
    with np.errstate(divide="ignore"):
        return np.log(w)


def _converging(max_iter, n_iter, step, status, n_out, errors, B, tol):
    """The loop at the last temperature, shared by both problems: ``step(active) -> errors (B,)`` advances every
    active problem; each stops on its own (OPTIMAL at ``tol``, NUMERICAL_ERROR on a non-finite error)."""
    active = np.ones(B, np.uint8)
    while n_iter < max_iter and active.any():
        err = step(active)
        n_iter += 1
        on = active.astype(bool)
        n_out[on] = n_iter
        errors[on] = err[on]
        bad = on & ~np.isfinite(err)
        done = on & ~bad & (err <= tol)
        status[bad] = NUMERICAL_ERROR
        status[done] = OPTIMAL
        active[bad | done] = 0


def solve_self(batch, a, eps_list, max_iter, tol):
    """The self-problems OT(a_k, a_k) of the rows of a (B, n) on ``batch``'s geometry (C(x_k, x_k)): their
    symmetric potentials (B, n) and per problem (status, steps, last error) (``_sta._solve_self``). The loop is
    written over ``batch``'s operations: the host's (:class:`_Batch`) or the GPU's (``cuda.sta_clouds``)."""
    from ..entropic._geometry import ROWS

    B = a.shape[0]
    la = batch.log(a)
    f = batch.softmin(ROWS, la, batch.zeros(a), eps_list[0], batch.zeros(a))
    err = np.zeros(B)
    for eps in eps_list:  # averaged updates: plain ones would oscillate on a self-problem
        new = batch.softmin(ROWS, la, f, eps, f)
        err = batch.error(a, f, new, eps)
        f = batch.relax(f, new, 0.5)
    n_iter = len(eps_list)
    status, n_out, errors = np.full(B, MAX_ITER_REACHED, np.int64), np.full(B, n_iter, np.int64), err
    eps = eps_list[-1]

    def step(active):
        nonlocal f
        new = batch.softmin(ROWS, la, f, eps, f, active)
        err = batch.error(a, f, new, eps)
        f = batch.relax(f, new, 0.5)
        return err

    _converging(max_iter, n_iter, step, status, n_out, errors, B, tol)
    f = batch.softmin(ROWS, la, f, eps, f)
    status[batch.nonfinite((f, a))] = NUMERICAL_ERROR
    return f, status, n_out + 1, errors


def solve_cross(batch, a, b, eps_list, max_iter, tol):
    """The cross problems OT(a_k, b_k) of the rows of a (B, n), b (B, m) on ``batch``'s geometry: their potentials
    f (B, n), g (B, m) and per problem (status, steps, last error) (``_sta._solve_cross``)."""
    from ._sta import observe_all
    from ..entropic._geometry import COLUMNS, ROWS

    B = a.shape[0]
    la, lb = batch.log(a), batch.log(b)
    za, zb = batch.zeros(a), batch.zeros(b)
    g = batch.softmin(COLUMNS, la, za, eps_list[0], zb)
    f = batch.softmin(ROWS, lb, zb, eps_list[0], za)
    err = np.zeros(B)
    for eps in eps_list:  # annealing: averaged updates, every side from the old values
        ft = batch.softmin(ROWS, lb, g, eps, f)
        gt = batch.softmin(COLUMNS, la, f, eps, g)
        err = batch.error(a, f, ft, eps) + batch.error(b, g, gt, eps)
        f, g = batch.relax(f, ft, 0.5), batch.relax(g, gt, 0.5)
    n_iter = len(eps_list)
    status, n_out, errors = np.full(B, MAX_ITER_REACHED, np.int64), np.full(B, n_iter, np.int64), err
    eps = eps_list[-1]
    states = np.tile(np.array([1.0, 1.0, np.nan, 0.0, 0.0]), (B, 1))  # the over-relaxation rule's, per problem

    def step(active):  # alternate updates, over-relaxed by each problem's omega
        nonlocal f, g
        omega = states[:, 0].copy()
        f = batch.relax(f, batch.softmin(ROWS, lb, g, eps, f, active), omega)
        gt = batch.softmin(COLUMNS, la, f, eps, g, active)
        err = batch.error(b, g, gt, eps)
        g = batch.relax(g, gt, omega)
        observe_all(states, err, active)
        return err

    _converging(max_iter, n_iter, step, status, n_out, errors, B, tol)
    f, g = batch.softmin(ROWS, lb, g, eps, f), batch.softmin(COLUMNS, la, f, eps, g)  # a last full update
    status[batch.nonfinite((f, a), (g, b))] = NUMERICAL_ERROR
    return f, g, status, n_out + 1, errors


class CloudProblems:
    """The batched frame problems of one STA call: the annealing temperatures ``eps_list``, the step cap and
    tolerance of each problem, the thread count. Frames are given as ``(points, weights)``: ``points`` either the
    clouds (T, n, k), one per frame, or one support (n, k) shared by every frame; ``weights`` (T, n) float64."""

    def __init__(self, eps_list, max_iter, tol, n_threads):
        self.eps_list = np.asarray(eps_list, dtype=np.float64)
        self.max_iter, self.tol, self.n_threads = int(max_iter), float(tol), n_threads

    def _batches(self, P, Q, pairs, same):
        """``(slice of pairs, _Batch)``: one geometry shared by all pairs when P and Q are one support, else the
        costs of each chunk's pairs (``same``: the pairs' two clouds are one, the costs symmetric)."""
        check_pair_size(P.shape[-2], Q.shape[-2])
        if P.ndim == 2:
            yield slice(0, pairs.shape[0]), _Batch(_geometry(_costs(P[None], Q[None]), True), pairs.shape[0],
                                                   self.n_threads)
            return
        n, m = P.shape[1], Q.shape[1]
        size = max(1, CHUNK_FLOATS // (3 * n * m))  # C, C^T and the difference being squared
        for start in range(0, pairs.shape[0], size):
            part = pairs[start:start + size]
            geom = _geometry(_costs(P[part[:, 0]], Q[part[:, 1]]), same)
            yield slice(start, start + part.shape[0]), _Batch(geom, part.shape[0], self.n_threads)

    def self_potentials(self, P, W):
        """The symmetric potentials of OT(w, w) for every frame (row) of W (T, n) on the points P: ``(potentials
        (T, n), status, n_iter, errors)``."""
        T = W.shape[0]
        pairs = np.stack([np.arange(T), np.arange(T)], axis=1)
        out = np.empty(W.shape)
        status, n_iter, errors = np.zeros(T, np.int64), np.zeros(T, np.int64), np.zeros(T)
        for part, batch in self._batches(P, P, pairs, True):
            out[part], status[part], n_iter[part], errors[part] = solve_self(batch, W[part], self.eps_list,
                                                                             self.max_iter, self.tol)
        return out, status, n_iter, errors

    def cross_divergences(self, PA, WA, PB, WB, fa, gb, pairs, want_potentials):
        """For each pair p = (i, j) of ``pairs`` (P, 2): the divergence between frame i of (PA, WA) and frame j of
        (PB, WB) from their self-potentials ``fa[i]``, ``gb[j]``, and with ``want_potentials`` the debiased potential
        ``f_ba - f_aa`` on frame i's points: ``(values (P,), potentials (P, n) or None, status, n_iter, errors)``."""
        P = pairs.shape[0]
        values = np.zeros(P)
        potentials = np.empty((P, WA.shape[1])) if want_potentials else None
        status, n_iter, errors = np.zeros(P, np.int64), np.zeros(P, np.int64), np.zeros(P)
        for part, batch in self._batches(PA, PB, pairs, False):
            i, j = pairs[part, 0], pairs[part, 1]
            a, b = WA[i], WB[j]
            f, g, status[part], n_iter[part], errors[part] = solve_cross(batch, a, b, self.eps_list, self.max_iter,
                                                                         self.tol)
            df, dg = f - fa[i], g - gb[j]
            values[part] = np.where(a > 0, a * df, 0.0).sum(axis=1) + np.where(b > 0, b * dg, 0.0).sum(axis=1)
            if want_potentials:
                potentials[part] = df
        return values, potentials, status, n_iter, errors
