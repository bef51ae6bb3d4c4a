"""Optimality certificates that need no reference solver: feasibility of a plan and strong duality.

Each check raises ``AssertionError`` with a message that says what is wrong and where.
"""
from __future__ import annotations

import numpy as np


def _dense(plan):
    if hasattr(plan, "toarray"):  # scipy sparse
        return plan.toarray()
    return np.asarray(plan)


def check_plan(plan, a, b, rtol=1e-9, atol=None):
    """``plan >= 0`` with row sums ``a`` and column sums ``b`` (relative to the total mass).

    ``plan`` may be dense or scipy sparse. ``atol`` defaults to ``rtol * max(sum(a), 1e-300)``.
    """
    P = _dense(plan).astype(np.float64)
    a = np.asarray(a, dtype=np.float64).reshape(-1)
    b = np.asarray(b, dtype=np.float64).reshape(-1)
    assert P.shape == (a.size, b.size), f"plan has shape {P.shape}, expected {(a.size, b.size)}"
    assert np.all(np.isfinite(P)), "plan has NaN or inf entries"
    mass = max(float(a.sum()), 1e-300)
    tol = rtol * mass if atol is None else atol
    assert P.min() >= -tol, f"plan has a negative entry {P.min()} at {np.unravel_index(np.argmin(P), P.shape)}"
    row_err = np.abs(P.sum(axis=1) - a)
    col_err = np.abs(P.sum(axis=0) - b)
    assert row_err.max() <= tol, f"row sums differ from a by {row_err.max():.3g} (row {int(np.argmax(row_err))})"
    assert col_err.max() <= tol, f"column sums differ from b by {col_err.max():.3g} (column {int(np.argmax(col_err))})"


def check_duality(value, f, g, a, b, M, tol=1e-9, plan=None):
    """Strong duality for exact OT.

    * ``value == a @ f + b @ g`` (up to ``tol`` relative to ``max(1, |value|)``),
    * reduced costs ``M_ij - f_i - g_j >= -tol`` everywhere (forbidden ``+inf`` arcs always pass),
    * and, when ``plan`` is given, ``|M_ij - f_i - g_j| <= tol`` on its support (complementary slackness).

    ``tol`` is absolute on reduced costs, scaled by ``max(1, max|M|)`` over the finite entries.
    """
    f = np.asarray(f, dtype=np.float64).reshape(-1)
    g = np.asarray(g, dtype=np.float64).reshape(-1)
    a = np.asarray(a, dtype=np.float64).reshape(-1)
    b = np.asarray(b, dtype=np.float64).reshape(-1)
    M = np.asarray(M, dtype=np.float64)
    assert np.all(np.isfinite(f)) and np.all(np.isfinite(g)), "potentials have NaN or inf entries"
    finite = np.isfinite(M)
    scale = max(1.0, float(np.abs(M[finite]).max()) if finite.any() else 1.0)
    dual = float(a @ f + b @ g)
    assert abs(float(value) - dual) <= tol * max(1.0, abs(float(value)), scale * float(a.sum())), (
        f"primal {float(value)!r} != dual a@f + b@g = {dual!r}"
    )
    with np.errstate(invalid="ignore"):
        reduced = M - f[:, None] - g[None, :]
    reduced = np.where(finite, reduced, np.inf)
    worst = float(reduced.min())
    assert worst >= -tol * scale, (
        f"dual infeasible: reduced cost {worst:.3g} at {np.unravel_index(np.argmin(reduced), reduced.shape)}"
    )
    if plan is not None:
        P = _dense(plan)
        support = P > 0
        if support.any():
            slack = np.abs(np.where(support, reduced, 0.0))
            assert float(slack.max()) <= tol * scale, (
                f"complementary slackness fails: reduced cost {float(slack.max()):.3g} on the support at "
                f"{np.unravel_index(np.argmax(slack), slack.shape)}"
            )
