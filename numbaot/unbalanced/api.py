"""Unbalanced OT without entropic smoothing of the solver: :func:`mm_unbalanced`, :func:`mm_unbalanced2`
(majorization-minimization, Chapel et al. 2021) and :func:`lbfgsb_unbalanced`, :func:`lbfgsb_unbalanced2`
(scipy's L-BFGS-B on our compiled objective and gradient), and the solver behind ``numbaot.solve(M, a, b,
unbalanced=rho, unbalanced_type=...)`` where Sinkhorn does not apply.

The problem::

    min_{G >= 0} <G, M> + rho_a D(G 1 | a) + rho_b D(G^T 1 | b) + reg R(G)

with the marginal divergence D the generalised KL ``sum p log(p / q) - p + q``, half the squared L2 distance, or
(L-BFGS-B only) the total variation ``sum |p - q|``, and the plan's regulariser R (``reg > 0``) ``KL(G | c)`` (c
defaults to ``a b^T``), ``|G - c|^2 / 2`` (L2 divergence; in MM the regulariser follows ``div``) or, in L-BFGS-B,
``sum G log G - G`` ('entropy') or a user pair ``(f, df)`` of Python callables on numpy arrays.
"""
from __future__ import annotations

import math

import numpy as np

from .. import _config, _dispatch, _validation as V
from .._defaults import MAX_ITER, TOL
from .._result import OTResult
from .._status import MAX_ITER_REACHED, NUMERICAL_ERROR, OPTIMAL, Status, warn_status

_DIVS_MM = ("kl", "l2")
_DIVS_LBFGSB = ("kl", "l2", "tv")
_REG_DIVS = ("kl", "entropy", "l2")


# ------------------------------------------------------------------------------------------------------ validation
def _lower_choice(value, name, choices):
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, one of {choices}, got {value!r}")
    if value.lower() not in choices:
        raise ValueError(f"unknown {name} {value!r}; choose one of {choices}")
    return value.lower()


def _plan_like(X, name, shape, default):
    """A non-negative finite (n, m) array (a start plan or a reference measure), or ``default`` when None."""
    if X is None:
        return default
    X = V.as_float_array(X, name, ndim=2)
    if X.shape != shape:
        raise ValueError(f"{name} has shape {X.shape}; it must be {shape} (the shape of M)")
    V.check_finite(X, name)
    if X.min() < 0:
        raise ValueError(f"{name} has negative entries; it must be >= 0")
    return X.astype(np.float64)


def _problem(M, a, b):
    M = V.as_float_array(M, "M", ndim=2)
    n, m = M.shape
    for w, name, size in ((a, "a", n), (b, "b", m)):
        if w is not None and np.ndim(w) != 1:
            raise ValueError(f"{name} must be a 1-D weight vector of shape ({size},), got {np.ndim(w)} dimensions")
    a = V.check_weights(a, "a", n).astype(np.float64, copy=False)
    b = V.check_weights(b, "b", m).astype(np.float64, copy=False)
    V.check_finite(M, "M")  # the penalised objective has no forbidden arcs: every cost is paid or the mass dropped
    return M, a, b


def _value(G, M, a, b, c, opts, reg_code, threads):
    """The MM objective of G: the divergence, penalties and reg from ``opts`` (an ``MMOptions``), the plan's
    regulariser ``reg_code``."""
    from .._threads import run_parallel
    from ._cores import objective_grad

    grad = np.empty_like(G)
    return float(run_parallel(objective_grad, threads, G, M, a, b, c, opts.div, reg_code, opts.reg, opts.rho_a,
                              opts.rho_b, grad, threads))


# ---------------------------------------------------------------------------------------------------------- MM
#: mm_unbalanced's certificate: the duality gap relative to the objective (see ``_cores``), as ``cg``'s.
MM_TOL_GAP = 1e-3


def solve_mm(M, a, b, reg_m, c=None, reg=0.0, div="kl", G0=None, max_iter=MAX_ITER, tol=TOL, n_threads=None,
             warn=True, tol_gap=MM_TOL_GAP) -> OTResult:
    """Majorization-minimization for unbalanced OT as an OTResult (``value`` the whole objective, ``value_linear``
    ``<G, M>``, ``errors`` the Frobenius change of G at each iteration). CUDA inputs: host copies, ``ran_on="cpu"``."""
    placement = _dispatch.place(M=M, a=a, b=b, c=c, G0=G0)
    if placement.on_gpu:
        return _dispatch.solve_on_host(placement, lambda M, a, b, c, G0: solve_mm(
            M, a, b, reg_m, c, reg, div, G0, max_iter, tol, n_threads, warn, tol_gap), M, a, b, c, G0)
    from .._defaults import CHECK_EVERY
    from .._finish import gap_scale_floor
    from .._threads import run_parallel
    from ._cores import KL, L2, REG_KL, REG_L2, REG_NONE, MMOptions, mm_core

    div = _lower_choice(div, "div", _DIVS_MM)
    rho_a, rho_b = V.check_finite_reg_m(reg_m)
    reg = V.check_nonnegative(reg, "reg")
    max_iter = V.check_max_iter(max_iter)
    # inf: the certificate alone decides (checked every CHECK_EVERY iterations), POT's change rule is off
    tol = math.inf if tol == math.inf else V.check_tol(tol)
    tol_gap = V.check_tol(tol_gap, "tol_gap")
    warn = V.check_bool(warn, "warn")
    M, a, b = _problem(M, a, b)
    out_dtype = V.result_dtype(M)
    shape = M.shape
    C = np.ascontiguousarray(M, dtype=np.float64)
    c = _plan_like(c, "c", shape, None) if reg > 0 else None
    if c is None:
        c = np.outer(a, b)
    G = _plan_like(G0, "G0", shape, None)
    G = np.outer(a, b) if G is None else G.copy()
    threads = _config.n_threads(n_threads)
    code = KL if div == "kl" else L2
    if code == KL:
        s = rho_a + rho_b + reg
        r1, r2, r = rho_a / s, rho_b / s, reg / s
        power = (rho_a + rho_b) / s
        with np.errstate(divide="ignore", under="ignore"):
            if power == 1.0:
                K = (a[:, None] ** r1) * (b[None, :] ** r2) * np.exp(-C / s)
            else:  # the core iterates on log G: it takes log K
                K = r1 * np.log(a)[:, None] + r2 * np.log(b)[None, :] + r * np.log(c) - C / s
        scale_r, scale_c = r1, r2
    else:
        K = np.maximum(rho_a * a[:, None] + rho_b * b[None, :] + reg * c - C, 0.0)
        power, scale_r, scale_c = 1.0, 1.0, 1.0
    errors = np.full(max_iter, np.nan)
    gap_floor = gap_scale_floor(C, max(a.sum(), b.sum()))
    opts = MMOptions(div=int(code), power=float(power), scale_r=float(scale_r), scale_c=float(scale_c),
                     rho_a=float(rho_a), rho_b=float(rho_b), reg=float(reg), max_iter=int(max_iter), tol=float(tol),
                     tol_gap=float(tol_gap), gap_floor=float(gap_floor), check_every=int(CHECK_EVERY))
    status, n_iter, rel_gap = run_parallel(mm_core, threads, K, G, C, a, b, c, opts, errors, threads)
    reg_code = REG_NONE if reg == 0 else (REG_KL if code == KL else REG_L2)
    value = _value(G, C, a, b, c, opts, reg_code, threads)
    lin = float(np.sum(G * C))
    if status == OPTIMAL and not math.isfinite(value):
        status = NUMERICAL_ERROR
    if warn:
        warn_status(status, f"mm_unbalanced (div={div!r})",
                    f"relative duality gap {rel_gap:.3g} > tol_gap {tol_gap:g} after {n_iter} iterations (change of "
                    f"the plan {errors[n_iter - 1]:.3g}); MM converges sublinearly for div='kl' with reg=0: raise "
                    "max_iter (with tol=numpy.inf to stop on the certificate alone), or use reg > 0",
                    stacklevel=4)
    return OTResult(value=out_dtype.type(value), value_linear=out_dtype.type(lin), plan=G.astype(out_dtype),
                    status=Status(status), n_iter=int(n_iter), errors=errors[:n_iter].copy())


def mm_unbalanced(a, b, M, reg_m, c=None, reg=0, div="kl", G0=None, *, max_iter=MAX_ITER, tol=TOL,
                  tol_gap=MM_TOL_GAP, n_threads=None, warn=True):
    """Unbalanced OT plan by majorization-minimization (POT's ``ot.unbalanced.mm_unbalanced``; Chapel et al. 2021).

    Solves ``min_{G >= 0} <G, M> + rho_a D(G 1 | a) + rho_b D(G^T 1 | b) + reg D(G | c)`` with D the generalised
    KL (``div='kl'``) or half the squared L2 distance (``'l2'``), by multiplicative updates: each iteration is one
    parallel pass over the plan, and the plan's support never grows (an entry that starts at 0 stays at 0).

    Parameters
    ----------
    a, b : arrays of shape (n,) and (m,), or None
        Non-negative weights (uniform when None); their masses may differ.
    M : array of shape (n, m)
        Finite costs.
    reg_m : float > 0 or pair
        Marginal penalties ``(rho_a, rho_b)`` (one number for both), finite.
    c : array of shape (n, m), optional
        Reference measure of the regulariser (default ``a b^T``); used only when ``reg > 0``.
    reg : float >= 0
        Strength of the plan's regulariser (0: none).
    div : {'kl', 'l2'}
    G0 : array of shape (n, m), optional
        Starting plan (default ``a b^T``); its zeros stay zeros.
    max_iter : int
        Maximum iterations.
    tol : float >= 0
        POT's rule: the Frobenius norm of an iteration's change of the plan is below tol. ``numpy.inf``: the
        certificate alone decides (the gap is then computed every 10 iterations).
    tol_gap : float >= 0
        The certificate: stop (status OPTIMAL) when POT's rule holds and the duality gap ``F(G) - D``, an upper bound
        of ``F(G) - min F`` from dual potentials read off the plan's marginals, is at most ``tol_gap max(|F(G)|, floor)``
        (``floor``: 1e-6 of ``(max M - min M) max(sum(a), sum(b))``, so that an optimum near 0 is certified too)
        (computed when POT's rule holds, at most every 10 iterations, and at the last one); at ``max_iter`` the status is OPTIMAL when the gap certifies the plan, else
        MAX_ITER_REACHED and a ConvergenceWarning giving the gap. Measured on random problems (costs in [0, 2],
        masses 1 and 0.77), 1000 iterations: with ``div='l2'`` or ``reg > 0`` the relative gap is 1e-5 or
        (much) less for ``reg_m`` up to 1 and n up to 200; with ``div='kl'`` and ``reg = 0`` MM converges sublinearly
        to a sparse plan (1e-3 at n = 5..50 for ``reg_m <= 0.1``, but 1e-2..4e-2 at n = 50..200 for ``reg_m = 1``).

        Why the defaults do not converge with ``div='kl'``, ``reg = 0`` at n >= 50: there MM is mirror descent with
        a fixed step, ``log G <- log G - grad F(G) / (reg_m_a + reg_m_b)``, whose objective error falls as 1/k
        towards a sparse plan, and the plan itself moves more slowly still. Measured (costs in [0, 2], masses 1
        and 0.77, n = 50 and 200, ``reg_m`` 0.1 and 1): the gap certifies 1e-3 after 531..10811 iterations, but
        POT's rule (``tol`` 1e-9 on the plan's change) holds only after 27285 iterations (n = 50, ``reg_m`` 0.1)
        or not within 100000. POT runs the same iterates (equal to 1e-10, tests) and stops silently
        at its 1000, 1e-4..3e-2 above the optimum (relative). To converge, pass ``tol=numpy.inf`` (the
        certificate alone) and ``max_iter=20000`` (n = 200, ``reg_m = 1``: 10811 iterations, 2.7 s), or use
        ``reg > 0``.
    n_threads : int, optional
        Threads (default: Numba's thread count).
    warn : bool
        Emit a ConvergenceWarning when the status is not OPTIMAL.

    Returns
    -------
    plan : array of shape (n, m)
        In M's dtype.

    Examples
    --------
    >>> import numbaot
    >>> numbaot.mm_unbalanced([0.5, 0.5], [0.5, 0.5], [[1.0, 36.0], [9.0, 4.0]], 5).round(2)
    array([[0.45, 0.  ],
           [0.  , 0.34]])
    """
    return solve_mm(M, a, b, reg_m, c, reg, div, G0, max_iter, tol, n_threads, warn, tol_gap).plan


def mm_unbalanced2(a, b, M, reg_m, c=None, reg=0, div="kl", G0=None, *, return_cost="linear", max_iter=MAX_ITER,
                   tol=TOL, tol_gap=MM_TOL_GAP, n_threads=None, warn=True):
    """Unbalanced OT cost by majorization-minimization (POT's ``ot.unbalanced.mm_unbalanced2``); parameters as
    :func:`mm_unbalanced`.

    Parameters
    ----------
    return_cost : {'linear', 'total'}
        ``<G, M>`` of the plan, or the whole objective.

    Examples
    --------
    >>> import numbaot
    >>> round(float(numbaot.mm_unbalanced2([0.5, 0.5], [0.5, 0.5], [[1.0, 36.0], [9.0, 4.0]], 5)), 4)
    1.7931
    """
    return_cost = _lower_choice(return_cost, "return_cost", ("linear", "total"))
    res = solve_mm(M, a, b, reg_m, c, reg, div, G0, max_iter, tol, n_threads, warn, tol_gap)
    return res.value_linear if return_cost == "linear" else res.value


# ------------------------------------------------------------------------------------------------------ L-BFGS-B
def _user_regulariser(reg_div):
    f, df = reg_div

    def call(G):
        try:
            value = f(G)
        except Exception as exc:
            raise ValueError(f"reg_div[0] (the regulariser f) raised {type(exc).__name__}: {exc}") from exc
        try:
            grad = df(G)
        except Exception as exc:
            raise ValueError(f"reg_div[1] (its gradient df) raised {type(exc).__name__}: {exc}") from exc
        value = np.asarray(value)
        if value.size != 1 or value.dtype.kind not in "iuf":
            raise TypeError(f"reg_div[0] (f) must return a real number, got {value!r}")
        grad = np.asarray(grad, dtype=np.float64) if np.asarray(grad).dtype.kind in "iuf" else None
        if grad is None or grad.shape != G.shape:
            raise ValueError(f"reg_div[1] (df) must return an array of the plan's shape {G.shape}, got "
                             f"{None if grad is None else grad.shape}")
        return float(value), grad

    return call


def solve_lbfgsb(M, a, b, reg, reg_m, c=None, reg_div="kl", regm_div="kl", G0=None, max_iter=MAX_ITER, tol=TOL,
                 n_threads=None, warn=True) -> OTResult:
    """Unbalanced OT by L-BFGS-B as an OTResult (``value`` the objective, ``value_linear`` ``<G, M>``)."""
    placement = _dispatch.place(M=M, a=a, b=b, c=c, G0=G0)
    if placement.on_gpu:
        return _dispatch.solve_on_host(placement, lambda M, a, b, c, G0: solve_lbfgsb(
            M, a, b, reg, reg_m, c, reg_div, regm_div, G0, max_iter, tol, n_threads, warn), M, a, b, c, G0)
    from scipy.optimize import Bounds, minimize

    from .._threads import run_parallel
    from ._cores import KL, L2, REG_ENTROPY, REG_KL, REG_L2, REG_NONE, TV, objective_grad

    div = {"kl": KL, "l2": L2, "tv": TV}[_lower_choice(regm_div, "regm_div", _DIVS_LBFGSB)]
    user = None
    if isinstance(reg_div, tuple):
        if len(reg_div) != 2 or not all(callable(x) for x in reg_div):
            raise TypeError("reg_div must be 'kl', 'entropy', 'l2' or a pair (f, df) of callables")
        user = _user_regulariser(reg_div)
        reg_code = REG_NONE
    else:
        reg_code = {"kl": REG_KL, "entropy": REG_ENTROPY, "l2": REG_L2}[_lower_choice(reg_div, "reg_div", _REG_DIVS)]
    rho_a, rho_b = V.check_finite_reg_m(reg_m)
    reg = V.check_nonnegative(reg, "reg")
    if reg == 0:
        reg_code, user = REG_NONE, None
    max_iter = V.check_max_iter(max_iter)
    tol = V.check_tol(tol)
    warn = V.check_bool(warn, "warn")
    M, a, b = _problem(M, a, b)
    out_dtype = V.result_dtype(M)
    shape = M.shape
    C = np.ascontiguousarray(M, dtype=np.float64)
    c = _plan_like(c, "c", shape, None)
    c = np.outer(a, b) if c is None else c
    G = _plan_like(G0, "G0", shape, None)
    G = np.outer(a, b) if G is None else G
    threads = _config.n_threads(n_threads)
    # variables that must stay 0: KL against a zero weight (or a zero reference entry) is infinite otherwise
    upper = np.full(shape, np.inf)
    if div == KL:
        upper[a == 0, :] = 0.0
        upper[:, b == 0] = 0.0
    if reg_code == REG_KL:
        upper[c == 0] = 0.0
    fixed = upper == 0
    G = np.where(fixed, 0.0, G)
    grad = np.empty(shape)

    def fun(x):
        X = x.reshape(shape)
        value = run_parallel(objective_grad, threads, X, C, a, b, c, div, reg_code, reg, rho_a, rho_b, grad,
                             threads)
        if user is not None:
            v, gr = user(X)
            value += reg * v
            out = grad + reg * gr
        else:
            out = grad
        return value, np.where(fixed, 0.0, out).ravel()

    res = minimize(fun, G.ravel(), method="L-BFGS-B", jac=True, bounds=Bounds(np.zeros(G.size), upper.ravel()),
                   tol=tol, options=dict(maxiter=max_iter))
    plan = res.x.reshape(shape)
    value, g = fun(res.x)
    if not np.isfinite(value):
        status = NUMERICAL_ERROR
    elif res.success:
        status = OPTIMAL
    elif res.nit >= max_iter or "LIMIT" in str(res.message).upper():
        status = MAX_ITER_REACHED
    else:
        # an abnormal line search: L-BFGS-B cannot make progress in float64; accept the point when its projected
        # gradient is small compared with the costs (at TV's kinks it rarely is: the warning says so)
        pg = np.where(res.x > 0, g, np.minimum(g, 0.0))
        scale = 1.0 + float(np.max(np.abs(C)))
        status = OPTIMAL if float(np.max(np.abs(pg))) <= 1e-5 * scale else NUMERICAL_ERROR
    if warn:
        warn_status(status, "lbfgsb_unbalanced", f"scipy: {res.message}; {res.nit} iterations", stacklevel=4)
    return OTResult(value=out_dtype.type(value), value_linear=out_dtype.type(float(np.sum(plan * C))),
                    plan=plan.astype(out_dtype), status=Status(status), n_iter=int(res.nit))


def lbfgsb_unbalanced(a, b, M, reg, reg_m, c=None, reg_div="kl", regm_div="kl", G0=None, *, max_iter=MAX_ITER,
                      tol=TOL, n_threads=None, warn=True):
    """Unbalanced OT plan by L-BFGS-B (POT's ``ot.unbalanced.lbfgsb_unbalanced``).

    Minimises ``<G, M> + rho_a D(G 1 | a) + rho_b D(G^T 1 | b) + reg R(G)`` over ``G >= 0`` with scipy's L-BFGS-B,
    on an objective and gradient compiled by numbaot (one parallel pass over the plan per evaluation).

    Parameters
    ----------
    a, b : arrays of shape (n,) and (m,), or None
        Non-negative weights (uniform when None); their masses may differ.
    M : array of shape (n, m)
        Finite costs.
    reg : float >= 0
        Strength of the plan's regulariser (0: none).
    reg_m : float > 0 or pair
        Marginal penalties ``(rho_a, rho_b)``, finite.
    c : array of shape (n, m), optional
        Reference measure of 'kl' and 'l2' (default ``a b^T``).
    reg_div : {'kl', 'entropy', 'l2'} or (f, df)
        R: ``KL(G | c)``, ``sum G log G - G``, ``|G - c|^2 / 2``, or a Python function of the plan (a numpy array)
        and its gradient.
    regm_div : {'kl', 'l2', 'tv'}
        D: generalised KL, half squared L2, or total variation ``sum |p - q|``. TV is not smooth: L-BFGS-B often
        stops at a kink before the optimum, like POT's (status NUMERICAL_ERROR and a ConvergenceWarning when its
        projected gradient is not small there); ``numbaot.solve(M, a, b, unbalanced=rho, unbalanced_type='TV')``
        solves the TV problem exactly (reg = 0) by the network simplex.
    G0 : array of shape (n, m), optional
        Starting plan (default ``a b^T``).
    max_iter : int
        Maximum L-BFGS-B iterations.
    tol : float >= 0
        scipy's ``tol`` (relative change of the objective, and projected gradient).
    n_threads : int, optional
    warn : bool
        Emit a ConvergenceWarning when the status is not OPTIMAL.

    Returns
    -------
    plan : array of shape (n, m)

    Examples
    --------
    >>> import numbaot
    >>> numbaot.lbfgsb_unbalanced([0.5, 0.5], [0.5, 0.5], [[1.0, 36.0], [9.0, 4.0]], 0, 5, regm_div="l2").round(3)
    array([[0.4, 0. ],
           [0. , 0.1]])
    """
    return solve_lbfgsb(M, a, b, reg, reg_m, c, reg_div, regm_div, G0, max_iter, tol, n_threads, warn).plan


def lbfgsb_unbalanced2(a, b, M, reg, reg_m, c=None, reg_div="kl", regm_div="kl", G0=None, *, return_cost="linear",
                       max_iter=MAX_ITER, tol=TOL, n_threads=None, warn=True):
    """Unbalanced OT cost by L-BFGS-B (POT's ``ot.unbalanced.lbfgsb_unbalanced2``); parameters as
    :func:`lbfgsb_unbalanced`, and ``return_cost`` ('linear': ``<G, M>``; 'total': the objective).

    Examples
    --------
    >>> import numbaot
    >>> round(float(numbaot.lbfgsb_unbalanced2([0.5, 0.5], [0.5, 0.5], [[1.0, 36.0], [9.0, 4.0]], 0, 5,
    ...                                        regm_div="l2")), 4)
    0.8
    """
    return_cost = _lower_choice(return_cost, "return_cost", ("linear", "total"))
    res = solve_lbfgsb(M, a, b, reg, reg_m, c, reg_div, regm_div, G0, max_iter, tol, n_threads, warn)
    return res.value_linear if return_cost == "linear" else res.value


# ------------------------------------------------------------------------------------------------- exact TV (LP)
def solve_tv_exact(M, a, b, reg_m, max_iter=None, n_threads=None, warn=True) -> OTResult:
    """``min_{G >= 0} <G, M> + rho_a |G 1 - a|_1 + rho_b |G^T 1 - b|_1`` exactly, as a balanced problem for the
    network simplex with a dummy row D (mass ``sum b``) and a dummy column E (mass ``sum a``), each split in
    ~sqrt(n + m) copies:

    * ``i -> E`` leaves mass of row i behind (cost ``rho_a``), or sends it past column j's weight (``M_ij +
      rho_b``, at the best j): the cheaper of the two;
    * ``D -> j`` leaves column j short (``rho_b``), or fills it with mass beyond row i's weight (``rho_a + M_ij``,
      at the best i); ``D -> E`` costs 0.

    Every plan maps to a flow of the same cost and every flow to a plan of at most its cost, so the optima agree;
    the plan adds the chosen overshoots to the real block. ``value`` is the objective, ``value_linear`` ``<G, M>``.
    """
    placement = _dispatch.place(M=M, a=a, b=b)
    if placement.on_gpu:
        return _dispatch.solve_on_host(placement, lambda M, a, b: solve_tv_exact(M, a, b, reg_m, max_iter, n_threads,
                                                                                 warn), M, a, b)
    from ..exact._driver import network_simplex

    rho_a, rho_b = V.check_finite_reg_m(reg_m)
    if max_iter is not None:
        max_iter = V.check_max_iter(max_iter)
    warn = V.check_bool(warn, "warn")
    M, a, b = _problem(M, a, b)
    out_dtype = V.result_dtype(M)
    n, m = M.shape
    C = M.astype(np.float64)
    best_col = np.argmin(C, axis=1)  # overshoot of a column, fed from row i
    best_row = np.argmin(C, axis=0)  # overshoot of a row, feeding column j
    to_e = np.minimum(rho_a, C[np.arange(n), best_col] + rho_b)
    from_d = np.minimum(rho_b, C[best_row, np.arange(m)] + rho_a)
    k = min(32, math.isqrt(n + m))  # D and E split in k copies: one heavy dummy is a hub that slows the simplex
    ext = np.zeros((n + k, m + k))
    ext[:n, :m] = C
    ext[:n, m:] = to_e[:, None]
    ext[n:, :m] = from_d[None, :]
    a_ext = np.concatenate([a, np.full(k, b.sum() / k)])
    b_ext = np.concatenate([b, np.full(k, a.sum() / k)])
    status, n_iter, (rows, cols, values), f, g, _ = network_simplex(ext, a_ext, b_ext, max_iter, n_threads)
    G = np.zeros((n, m))
    real = (rows < n) & (cols < m)
    np.add.at(G, (rows[real], cols[real]), values[real])
    for r, c_, v in zip(rows[~real], cols[~real], values[~real]):
        if r < n and c_ >= m and C[r, best_col[r]] + rho_b < rho_a:
            G[r, best_col[r]] += v
        elif r >= n and c_ < m and C[best_row[c_], c_] + rho_a < rho_b:
            G[best_row[c_], c_] += v
    lin = float(np.sum(G * C))
    value = lin + rho_a * float(np.abs(G.sum(axis=1) - a).sum()) + rho_b * float(np.abs(G.sum(axis=0) - b).sum())
    if warn:
        warn_status(status, "unbalanced OT (TV, exact)", f"{n_iter} pivots; raise max_iter", stacklevel=4)
    return OTResult(value=out_dtype.type(value), value_linear=out_dtype.type(lin), plan=G.astype(out_dtype),
                    potential_a=f[:n].astype(out_dtype), potential_b=g[:m].astype(out_dtype), status=Status(status),
                    n_iter=n_iter)
