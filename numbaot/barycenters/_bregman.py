"""Fixed-support entropic barycenters: the host driver of the one Sinkhorn loop under the barycentric rule.

K inputs ``A[k]`` on a support of n points and one unknown barycenter on m points, with costs ``C`` (n, m) shared
by the K problems (a ``DenseCosts`` of leading axis 1) or a regular grid (``SeparableGrid``, convolutional
barycenters, Solomon et al. 2015). Each iteration is a row half-step of every problem towards its input, a column
half-step towards the current barycenter, and the barycenter's update (``entropic._rules.Barycentric``): iterative
Bregman projections (Benamou et al. 2015) in the log domain, debiased (Janati et al. 2020) or with KL penalties on
the inputs (Chizat et al. 2018). Potentials use the entropy reference (``P = exp((f + g - C) / eps)``).
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from ..entropic._geometry import DenseCosts, SeparableGrid
from ..entropic._loop import LogWeights, LoopRecord, control, sinkhorn_loop, transposed
from ..entropic._rules import Barycentric
from .._threads import run_short_regions


class BregmanAnswer(NamedTuple):
    """What the driver returns: ``log_bar`` (m,), potentials ``f`` (K, n) and ``g`` (K, m), ``status`` and
    ``n_iter`` (ints; the K problems stop together), ``errors`` (the joint error at each check)."""

    log_bar: np.ndarray
    f: np.ndarray
    g: np.ndarray
    status: int
    n_iter: int
    errors: np.ndarray


def dense_shared(C) -> DenseCosts:
    """The geometry of one cost matrix ``C`` (n, m) shared by every input."""
    C = np.ascontiguousarray(C, dtype=np.float64)
    return DenseCosts(C[None], transposed(C)[None])


def grid(shape) -> SeparableGrid:
    """The geometry of a regular grid of ``shape`` (H, W) or (D, H, W) on ``[0, 1]`` along each axis (POT's
    convention: the cost between cells is the squared distance of their coordinates)."""
    shape = (1,) * (3 - len(shape)) + tuple(int(s) for s in shape)

    def axis(size):
        t = np.linspace(0.0, 1.0, size)
        return np.ascontiguousarray((t[:, None] - t[None, :]) ** 2)

    return SeparableGrid(axis(shape[0]), axis(shape[1]), axis(shape[2]))


def support_size(geom) -> tuple[int, int]:
    """``(n, m)``: the inputs' and the barycenter's support sizes of a geometry."""
    if isinstance(geom, DenseCosts):
        return geom.C.shape[1], geom.C.shape[2]
    n = geom.cost_d.shape[0] * geom.cost_h.shape[0] * geom.cost_w.shape[0]
    return n, n


def solve_bregman(geom, A, weights, reg, rho, debiased, max_iter, tol, check_every, n_threads) -> BregmanAnswer:
    """Run the barycentric Sinkhorn loop: ``A`` (K, n) validated float64 host histograms, ``weights`` (K,) summing
    to 1, ``rho`` the KL penalty on the inputs (``inf``: balanced), ``debiased`` (square costs only)."""
    K = A.shape[0]
    n, m = support_size(geom)
    with np.errstate(divide="ignore"):  # a zero weight: log 0 = -inf drops the row from every sum
        log_A = np.log(A)
    log_bar = np.zeros((K, m))  # the loop's target on the columns; the rule overwrites it at the first step
    w = LogWeights(log_A, log_bar, np.zeros((K, n)), np.zeros((K, m)), log_A, log_bar)
    tau = 1.0 if math.isinf(rho) else rho / (rho + reg)
    rule = Barycentric(float(reg), tau, tau, np.ascontiguousarray(weights, dtype=np.float64), log_bar,
                       np.zeros(m), bool(debiased), np.zeros(1), np.zeros(m))
    ctl = control(max_iter, tol, check_every)
    record = LoopRecord(np.empty(K, np.int64), np.empty(K, np.int64), np.full((K, max_iter // check_every + 1),
                                                                               np.nan), np.empty(K, np.int64))
    f, g = np.zeros((K, n)), np.zeros((K, m))
    run_short_regions(sinkhorn_loop, n_threads, geom, w, rule, ctl, f, g, record)
    n_errors = int(record.n_errors[0])
    return BregmanAnswer(log_bar[0].copy(), f, g, int(record.status.max()), int(record.n_iter.max()),
                         record.errors[0, :n_errors].copy())


def plans(C, answer: BregmanAnswer, reg: float) -> np.ndarray:
    """The K plans ``exp((f_k,i + g_k,j - C_ij) / reg)`` (K, n, m) of dense costs ``C`` (n, m)."""
    with np.errstate(over="ignore", under="ignore"):
        return np.exp((answer.f[:, :, None] + answer.g[:, None, :] - C[None]) / reg)
