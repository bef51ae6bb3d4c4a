"""Slow references for the regularised OT tests: quadratic programs solved by scipy on tiny problems."""
from __future__ import annotations

import numpy as np
from scipy.optimize import minimize


def l2_ot_qp(a, b, M, reg, semirelaxed=False):
    """``argmin <M, G> + reg/2 |G|^2`` over plans with marginals a, b (rows only when ``semirelaxed``), by SLSQP
    with tight tolerances; returns ``(G, value)``."""
    n, m = M.shape
    rows = np.kron(np.eye(n), np.ones((1, m)))
    cols = np.kron(np.ones((1, n)), np.eye(m))
    A, rhs = (rows, a) if semirelaxed else (np.vstack([rows, cols[:-1]]), np.concatenate([a, b[:-1]]))
    c = M.ravel()

    def fun(x):
        return c @ x + 0.5 * reg * x @ x, c + reg * x

    res = minimize(fun, np.outer(a, b).ravel(), jac=True, method="SLSQP", bounds=[(0, None)] * (n * m),
                   constraints=[{"type": "eq", "fun": lambda x: A @ x - rhs, "jac": lambda x: A}],
                   options=dict(ftol=1e-15, maxiter=2000))
    assert res.success, res.message
    G = np.maximum(res.x.reshape(n, m), 0)
    return G, float(c @ G.ravel() + 0.5 * reg * np.sum(G * G))
