"""The Sinkhorn divergence's steps as runs of the one Sinkhorn loop (``_loop.sinkhorn_loop``'s step modes, driven by
``_symmetric.symmetric_sinkhorn``): each mode against a numpy step, the modes' fixed points against plain Sinkhorn's,
and the divergence sharing the loop's compiled specialisations with ``sinkhorn`` and the online solver."""
from __future__ import annotations

import numpy as np
import pytest

import numbaot
from numbaot.entropic import _symmetric
from numbaot.entropic._geometry import DenseCosts
from numbaot.entropic._loop import (ALTERNATE, SIMULTANEOUS, SYMMETRIC, LogWeights, control, new_record,
                                    sinkhorn_loop)
from numbaot.entropic._rules import Balanced


def _problem(n, m, seed):
    rng = np.random.default_rng(seed)
    X, Y = rng.random((n, 2)), rng.random((m, 2)) + 0.2
    a, b = rng.random(n) + 0.5, rng.random(m) + 0.5
    return X, Y, a / a.sum(), b / b.sum()


def _cost(P, Q):
    return ((P[:, None, :] - Q[None, :, :]) ** 2).sum(-1)


def _softmin(C, log_w, other, eps, tau):
    """numpy: ``-tau eps log sum_j w_j exp((other_j - C_ij) / eps)``."""
    t = log_w[None, :] + (other[None, :] - C) / eps
    top = t.max(axis=1, keepdims=True)
    return -tau * eps * (top[:, 0] + np.log(np.exp(t - top).sum(axis=1)))


def _run(C, log_a, log_b, f, g, eps, tau, mode, omega, n_steps):
    la, lb = log_a[None, :], log_b[None, :]
    w = LogWeights(la, lb, la, lb, np.zeros_like(la), np.zeros_like(lb))
    record = new_record(1, n_steps, 1)
    f2, g2 = f[None, :].copy(), g[None, :].copy()
    sinkhorn_loop(DenseCosts(C[None], np.ascontiguousarray(C.T)[None]), w, Balanced(eps, tau, tau),
                  control(n_steps, -1.0, 1, mode, omega), f2, g2, record)
    return f2[0], g2[0], record.errors[0, :record.n_errors[0]]


def _fixed_point_error(log_w, old, new, eps):
    return float(np.sum(np.exp(log_w) * np.abs(np.expm1((old - new) / eps))))


@pytest.mark.parametrize("tau", [1.0, 0.8])
def test_each_mode_is_its_numpy_step(tau):
    """SIMULTANEOUS (f, g both from the old potentials), ALTERNATE over-relaxed, SYMMETRIC (one potential, g = f):
    three steps of each against numpy, the errors included (the fixed-point error of the sides that moved)."""
    X, Y, a, b = _problem(9, 7, 0)
    C, Cxx = _cost(X, Y), _cost(X, X)
    la, lb = np.log(a), np.log(b)
    eps = 0.05
    rng = np.random.default_rng(1)
    f0, g0 = 0.1 * rng.random(9), 0.1 * rng.random(7)
    for mode, omega in ((SIMULTANEOUS, 0.5), (ALTERNATE, 1.6), (SYMMETRIC, 0.5)):
        if mode == SYMMETRIC:
            f, g, errors = _run(Cxx, la, la, f0, f0, eps, tau, mode, omega, 3)
        else:
            f, g, errors = _run(C, la, lb, f0, g0, eps, tau, mode, omega, 3)
        u, v = f0.copy(), (f0 if mode == SYMMETRIC else g0).copy()
        expected = []
        for _ in range(3):
            if mode == SYMMETRIC:
                ut = _softmin(Cxx, la, u, eps, tau)
                expected.append(_fixed_point_error(la, u, ut, eps))
                u = u + omega * (ut - u)
                v = u
            elif mode == SIMULTANEOUS:
                ut, vt = _softmin(C, lb, v, eps, tau), _softmin(C.T, la, u, eps, tau)
                expected.append(_fixed_point_error(la, u, ut, eps) + _fixed_point_error(lb, v, vt, eps))
                u, v = u + omega * (ut - u), v + omega * (vt - v)
            else:
                u = u + omega * (_softmin(C, lb, v, eps, tau) - u)
                vt = _softmin(C.T, la, u, eps, tau)
                expected.append(_fixed_point_error(lb, v, vt, eps))
                v = v + omega * (vt - v)
        np.testing.assert_allclose(f, u, rtol=0, atol=1e-13)
        np.testing.assert_allclose(g, v, rtol=0, atol=1e-13)
        np.testing.assert_allclose(errors, expected, rtol=1e-9, atol=1e-15)


def test_the_modes_reach_plain_sinkhorns_fixed_point():
    """Certificate: at a tight tolerance the averaged SYMMETRIC potential is the self-problem's fixed point, and the
    symmetrised potentials of plain (ALTERNATE) Sinkhorn on the same problem equal it; SIMULTANEOUS and over-relaxed
    ALTERNATE steps reach plain Sinkhorn's a-b potentials (up to the balanced problem's constant)."""
    X, Y, a, b = _problem(12, 10, 2)
    C, Cxx = _cost(X, Y), _cost(X, X)
    la, lb = np.log(a), np.log(b)
    eps = 0.1
    zn, zm = np.zeros(12), np.zeros(10)
    f_sym, g_sym, _ = _run(Cxx, la, la, zn, zn, eps, 1.0, SYMMETRIC, 0.5, 2000)
    assert np.array_equal(f_sym, g_sym)
    np.testing.assert_allclose(_softmin(Cxx, la, f_sym, eps, 1.0), f_sym, atol=1e-12)
    f_alt, g_alt, _ = _run(Cxx, la, la, zn, zn, eps, 1.0, ALTERNATE, 1.0, 2000)
    np.testing.assert_allclose((f_alt + g_alt) / 2, f_sym, atol=1e-11)
    f0, g0, _ = _run(C, la, lb, zn, zm, eps, 1.0, ALTERNATE, 1.0, 5000)
    for mode, omega in ((SIMULTANEOUS, 0.5), (ALTERNATE, 1.5)):
        f, g, _ = _run(C, la, lb, zn, zm, eps, 1.0, mode, omega, 5000)
        shift = np.dot(a, f - f0)
        np.testing.assert_allclose(f - shift, f0, atol=1e-10)
        np.testing.assert_allclose(g + shift, g0, atol=1e-10)


def test_divergence_runs_the_loop_and_compiles_no_loop_of_its_own(monkeypatch):
    """The divergence's steps are runs of ``sinkhorn_loop`` with the types that ``sinkhorn`` (dense costs) and the
    online solver (point clouds) give it: after those two, the divergence (balanced or not, dense or lazy) adds no
    compiled specialisation of the loop."""
    X, Y, a, b = _problem(30, 20, 3)
    numbaot.sinkhorn(a, b, numbaot.dist(X, Y), 0.1)
    numbaot.solve_sample(X, Y, a, b, reg=0.1, lazy=True)
    before = len(sinkhorn_loop.signatures)
    calls = []
    real = _symmetric.sinkhorn_loop
    monkeypatch.setattr(_symmetric, "sinkhorn_loop", lambda *args: calls.append(args[3].mode) or real(*args))
    for lazy in (False, True):
        for reg_m in (None, 1.0):
            res = numbaot.solve_sample(X, Y, a, b, reg=0.1, reg_m=reg_m, debias=True, lazy=lazy, tol=1e-9)
            assert res.status is numbaot.Status.OPTIMAL
    assert len(sinkhorn_loop.signatures) == before
    assert {SIMULTANEOUS, ALTERNATE, SYMMETRIC} <= set(calls)
