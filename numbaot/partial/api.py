"""Partial optimal transport front-ends: :func:`partial_wasserstein`, :func:`partial_wasserstein2`,
:func:`partial_wasserstein_lagrange` (exact) and :func:`entropic_partial_wasserstein`.

Partial OT moves a given mass ``m`` at least cost, leaving the rest of both measures in place::

    min_P <P, M>   s.t.   P 1 <= a,   P^T 1 <= b,   sum P = m,   P >= 0.

The exact problem is a balanced one on the measures extended with dummy points (Chapel, Alaya and Gasso 2020): a
dummy column of mass ``sum(a) - m`` takes what the rows leave, a dummy row of mass ``sum(b) - m`` fills what the
columns miss, real-to-dummy arcs cost 0, and the dummy-to-dummy arc costs more than any real arc could save
(``2 max|M|``), so that exactly ``m`` goes between real points. It is solved by our network simplex
(:mod:`numbaot.exact`). The entropic problem runs the log-domain projections of :mod:`._entropic`.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from .. import _device, _dispatch, _validation as V
from .._defaults import CHECK_EVERY, MAX_ITER, TOL
from .._finish import finish
from .._result import OTResult
from .._status import INFEASIBLE, NUMERICAL_ERROR, Status, warn_status


# ------------------------------------------------------------------------------------------------------ validation
#: Dummy points per side, at least: one dummy of large mass is a hub that most tree updates of the network simplex
#: go through; split over ~sqrt(n + m) of them (measured: 16-32 at n = 500 and 1000) the solve ran 2.5-5x faster.
_MAX_AUTO_DUMMIES = 32


def _check_nb_dummies(nb_dummies, n=1, m=1) -> int:
    """The number of dummy points per side: the caller's ``nb_dummies``, raised to ``~sqrt(n + m)`` (at most 32)."""
    if isinstance(nb_dummies, bool) or not isinstance(nb_dummies, numbers.Integral):
        raise TypeError(f"nb_dummies must be a positive integer, got {nb_dummies!r}")
    if nb_dummies < 1:
        raise ValueError(f"nb_dummies must be >= 1 (the number of dummy points each side), got {nb_dummies}")
    return max(int(nb_dummies), min(_MAX_AUTO_DUMMIES, math.isqrt(n + m)))


def _checked(M, a, b):
    """Host arrays: M (n, m) real with +inf allowed (forbidden arcs), a and b non-negative weights of any mass."""
    M = V.as_float_array(M, "M", ndim=2)
    n, m = M.shape
    for w, name, size in ((a, "a", n), (b, "b", m)):
        if w is not None and np.ndim(w) != 1:
            raise ValueError(f"{name} must be a 1-D weight vector of shape ({size},), got {np.ndim(w)} dimensions")
    a = V.check_weights(a, "a", n).astype(np.float64, copy=False)
    b = V.check_weights(b, "b", m).astype(np.float64, copy=False)
    # NaN and -inf refused; rows and columns of +inf are feasible through the dummies (zero weights: not checked)
    M = V.check_cost_matrix(M, np.zeros(n), np.zeros(m))
    return M, a, b


# --------------------------------------------------------------------------------------------------------- exact
def _extended_solve(costs, a_ext, b_ext, n, m, max_iter, n_threads, what):
    """Network simplex on the extended problem; the real block's plan (COO) and the full duals."""
    from ..exact._driver import network_simplex

    status, n_iter, (rows, cols, values), f, g, _ = network_simplex(costs, a_ext, b_ext, max_iter, n_threads)
    if status == INFEASIBLE:
        raise ValueError(f"{what}: no plan moves the mass while avoiding the +inf (forbidden) entries of M; check "
                         "the +inf pattern of M, or lower m")
    keep = (rows < n) & (cols < m)
    return status, n_iter, (rows[keep], cols[keep], values[keep]), f, g


def solve_partial(M, a, b, m=None, nb_dummies=1, max_iter=None, n_threads=None, warn=True) -> OTResult:
    """Exact partial OT as an OTResult (CUDA inputs: solved on host copies, ``ran_on="cpu"``).

    ``potential_a`` and ``potential_b`` are the duals ``f <= 0``, ``g <= 0`` of ``P 1 <= a`` and ``P^T 1 <= b``;
    with ``lam = M_ij - f_i - g_j`` on the plan's support (the mass constraint's multiplier), ``f_i + g_j + lam <=
    M_ij`` everywhere and ``a @ f + b @ g + m lam`` equals the value."""
    placement = _dispatch.place(M=M, a=a, b=b)
    if placement.on_gpu:
        return _dispatch.solve_on_host(placement, lambda M, a, b: solve_partial(M, a, b, m, nb_dummies, max_iter,
                                                                                n_threads, warn), M, a, b)
    _check_nb_dummies(nb_dummies)
    if max_iter is not None:
        max_iter = V.check_max_iter(max_iter)
    warn = V.check_bool(warn, "warn")
    M, a, b = _checked(M, a, b)
    out_dtype = V.result_dtype(M)
    n, nm = M.shape
    k = _check_nb_dummies(nb_dummies, n, nm)
    sum_a, sum_b = float(a.sum()), float(b.sum())
    mass = V.check_transported_mass(m, sum_a, sum_b)
    finite = M[np.isfinite(M)]
    top = float(np.max(np.abs(finite))) if finite.size else 0.0
    ext = np.zeros((n + k, nm + k))
    ext[:n, :nm] = M
    # dummy-to-dummy: a unit through it frees a real arc and must never pay: A + M_ij > 0 for every arc
    ext[n:, nm:] = 2.0 * top if top > 0 else 1.0
    a_ext = np.concatenate([a, np.full(k, max(sum_b - mass, 0.0) / k)])
    b_ext = np.concatenate([b, np.full(k, max(sum_a - mass, 0.0) / k)])
    status, n_iter, (rows, cols, values), f, g = _extended_solve(ext, a_ext, b_ext, n, nm, max_iter, n_threads,
                                                                 "partial_wasserstein")
    # duals of the partial LP from the extended ones (averaged over the dummies: every pair is feasible)
    f_d, g_d = float(np.mean(f[n:])), float(np.mean(g[nm:]))
    pot_a = np.minimum(f[:n] + g_d, 0.0)
    pot_b = np.minimum(g[:nm] + f_d, 0.0)
    value = float(np.dot(values, M[rows, cols])) if values.size else 0.0
    if warn:
        warn_status(status, "partial_wasserstein", f"{n_iter} pivots; raise max_iter", stacklevel=4)
    return OTResult(value=out_dtype.type(value), value_linear=out_dtype.type(value),
                    plan_coo=(rows, cols, values.astype(out_dtype, copy=False)), shape=(n, nm),
                    potential_a=pot_a.astype(out_dtype), potential_b=pot_b.astype(out_dtype), status=Status(status),
                    n_iter=n_iter)


def solve_partial_lagrange(M, a, b, reg_m=None, nb_dummies=1, max_iter=None, n_threads=None, warn=True) -> OTResult:
    """Partial OT in Lagrangian form, ``min <P, M - reg_m>`` over ``P 1 <= a``, ``P^T 1 <= b``, as an OTResult.

    ``value`` = ``value_linear`` = ``<P, M>``; the potentials are the duals ``f, g <= 0`` of the two constraints
    (``f_i + g_j <= M_ij - reg_m``, with equality on the support)."""
    placement = _dispatch.place(M=M, a=a, b=b)
    if placement.on_gpu:
        return _dispatch.solve_on_host(placement, lambda M, a, b: solve_partial_lagrange(
            M, a, b, reg_m, nb_dummies, max_iter, n_threads, warn), M, a, b)
    _check_nb_dummies(nb_dummies)
    if max_iter is not None:
        max_iter = V.check_max_iter(max_iter)
    warn = V.check_bool(warn, "warn")
    M, a, b = _checked(M, a, b)
    out_dtype = V.result_dtype(M)
    n, nm = M.shape
    finite = np.isfinite(M)
    if reg_m is None:
        reg_m = float(np.max(M[finite])) + 1.0 if finite.any() else 1.0
    elif isinstance(reg_m, bool) or not isinstance(reg_m, numbers.Real):
        raise TypeError(f"reg_m must be a real number (the price of a unit of moved mass), got {reg_m!r}")
    elif not math.isfinite(float(reg_m)):
        raise ValueError(f"reg_m must be finite (the price of a unit of moved mass), got {reg_m}")
    reg_m = float(reg_m)
    shifted = M - reg_m
    # only rows and columns with a negative shifted cost can gain from moving mass (and those with positive weight)
    rows_k = np.flatnonzero((np.min(shifted, axis=1) < 0) & (a > 0))
    cols_k = np.flatnonzero((np.min(shifted, axis=0) < 0) & (b > 0))
    pot_a, pot_b = np.zeros(n), np.zeros(nm)
    rows = cols = np.zeros(0, np.int64)
    values = np.zeros(0)
    status, n_iter = 0, 0
    if rows_k.size and cols_k.size:
        nk, mk = rows_k.size, cols_k.size
        k = _check_nb_dummies(nb_dummies, nk, mk)
        ext = np.zeros((nk + k, mk + k))
        ext[:nk, :mk] = shifted[np.ix_(rows_k, cols_k)]
        ak, bk = a[rows_k], b[cols_k]
        a_ext = np.concatenate([ak, np.full(k, bk.sum() / k)])
        b_ext = np.concatenate([bk, np.full(k, ak.sum() / k)])
        status, n_iter, (r, c, values), f, g = _extended_solve(ext, a_ext, b_ext, nk, mk, max_iter, n_threads,
                                                               "partial_wasserstein_lagrange")
        rows, cols = rows_k[r], cols_k[c]
        f_d, g_d = float(np.mean(f[nk:])), float(np.mean(g[mk:]))
        pot_a[rows_k] = np.minimum(f[:nk] + g_d, 0.0)
        pot_b[cols_k] = np.minimum(g[:mk] + f_d, 0.0)
    value = float(np.dot(values, M[rows, cols])) if values.size else 0.0
    if warn:
        warn_status(status, "partial_wasserstein_lagrange", f"{n_iter} pivots; raise max_iter", stacklevel=4)
    return OTResult(value=out_dtype.type(value), value_linear=out_dtype.type(value),
                    plan_coo=(rows, cols, values.astype(out_dtype, copy=False)), shape=(n, nm),
                    potential_a=pot_a.astype(out_dtype), potential_b=pot_b.astype(out_dtype), status=Status(status),
                    n_iter=n_iter)


def _plan(result, dense):
    dense = V.check_bool(dense, "dense")
    if dense:
        return result.plan
    return result.plan_sparse if result.device == _device.CPU else result.plan_coo


def partial_wasserstein(a, b, M, m=None, nb_dummies=1, *, max_iter=None, dense=True, n_threads=None, warn=True):
    """Exact partial OT plan (POT's ``ot.partial.partial_wasserstein``): the cheapest way to move mass ``m``.

    Solves ``min <P, M>`` over ``P >= 0`` with ``P 1 <= a``, ``P^T 1 <= b`` and ``sum P = m``, by our network
    simplex on the problem extended with dummy points (Chapel et al. 2020).

    Parameters
    ----------
    a, b : arrays of shape (n,) and (m,), or None
        Non-negative weights (uniform when None); their masses may differ.
    M : array of shape (n, m)
        Costs of any sign; ``+inf`` marks a forbidden arc. CUDA arrays are solved on host copies and the plan comes
        back to the device (``numbaot.solve`` records ``ran_on``).
    m : float, optional
        The mass to move, ``0 < m <= min(sum(a), sum(b))``; None moves all it can, ``min(sum(a), sum(b))``.
    nb_dummies : int
        Dummy points on each side, sharing the leftover mass (POT's device against instabilities of its solver): at
        least this many; numbaot takes ~sqrt(n + m) of them (up to 32), which speeds its network simplex up
        several times. The optimal value does not depend on it (among tied optimal plans, the one returned may).
    max_iter : int, optional
        Maximum pivots (None: a stall guard, as :func:`numbaot.emd`).
    dense : bool
        A dense (n, m) plan, or a ``scipy.sparse.coo_array``.
    n_threads : int, optional
        Threads for the simplex's pricing on large problems.
    warn : bool
        Emit a ConvergenceWarning when the status is not OPTIMAL.

    Returns
    -------
    plan : array of shape (n, m), or sparse
        In M's dtype; its mass is ``m`` and its marginals are at most ``a`` and ``b``.

    Examples
    --------
    >>> import numbaot
    >>> numbaot.partial_wasserstein([0.1, 0.2], [0.1, 0.1], [[0.0, 1.0], [2.0, 3.0]], m=0.1).round(2)
    array([[0.1, 0. ],
           [0. , 0. ]])
    """
    return _plan(solve_partial(M, a, b, m, nb_dummies, max_iter, n_threads, warn), dense)


def partial_wasserstein2(a, b, M, m=None, nb_dummies=1, *, max_iter=None, n_threads=None, warn=True):
    """Exact partial OT cost ``<P, M>`` (POT's ``ot.partial.partial_wasserstein2``); parameters as
    :func:`partial_wasserstein`.

    Examples
    --------
    >>> import numbaot
    >>> round(float(numbaot.partial_wasserstein2([0.1, 0.2], [0.1, 0.1], [[0.0, 1.0], [2.0, 3.0]])), 6)
    0.3
    """
    return solve_partial(M, a, b, m, nb_dummies, max_iter, n_threads, warn).value


def partial_wasserstein_lagrange(a, b, M, reg_m=None, nb_dummies=1, *, max_iter=None, dense=True, n_threads=None,
                                 warn=True):
    """Partial OT with a price on the mass (POT's ``ot.partial.partial_wasserstein_lagrange``).

    Solves ``min <P, M - reg_m>`` over ``P >= 0`` with ``P 1 <= a`` and ``P^T 1 <= b``: mass moves along an arc
    only when its cost is below ``reg_m`` (Caffarelli and McCann 2010), so the mass moved grows with ``reg_m``.

    Parameters
    ----------
    reg_m : float, optional
        The price of a unit of moved mass; None takes ``max(M) + 1`` (every arc pays: as much mass as possible moves).
    a, b, M, nb_dummies, max_iter, dense, n_threads, warn
        As in :func:`partial_wasserstein` (no constraint on the masses of a and b).

    Returns
    -------
    plan : array of shape (n, m), or sparse

    Examples
    --------
    >>> import numbaot
    >>> numbaot.partial_wasserstein_lagrange([0.1, 0.2], [0.1, 0.1], [[0.0, 1.0], [2.0, 3.0]], reg_m=2).round(2)
    array([[0.1, 0. ],
           [0. , 0. ]])
    """
    return _plan(solve_partial_lagrange(M, a, b, reg_m, nb_dummies, max_iter, n_threads, warn), dense)


# ------------------------------------------------------------------------------------------------------ entropic
#: method='auto' iterates in the scaling domain when the kernel's entries stay above exp(-_AUTO_SPREAD): far from
#: underflow, so that the scalings stay far from the float range too.
_AUTO_SPREAD = 100.0
_ENTROPIC_METHODS = ("auto", "sinkhorn", "sinkhorn_log")


def _device_inputs(M, a, b, m, placement):
    """Device inputs checked as :func:`_checked` and ``solve_entropic_partial`` check host ones, in their order:
    the weights a and b (the ``entropic_partial.weights`` dispatch step), NaN and -inf in M, the mass m, then the
    rows and columns with mass but no finite cost (statistics of the ``entropic_partial.costs`` step). Returns the
    float64 device copies C (n, m), a and b (n, 1) and (m, 1), and the mass to move: the driver's inputs."""
    n, nm = (int(s) for s in M.shape)
    step = _dispatch.driver("entropic_partial.weights", placement)
    wa, sum_a = step(a, "a", n, placement.stream)
    wb, sum_b = step(b, "b", nm, placement.stream)
    C, nan_r, neginf_r, empty_r, empty_c = _dispatch.driver("entropic_partial.costs", placement)(M, wa, wb,
                                                                                                 placement.stream)
    V.judge_cost_rows("M", nan_r, neginf_r, (), ())
    mass = V.check_transported_mass(m, sum_a, sum_b)
    V.judge_cost_rows("M", (), (), empty_r, empty_c)
    return C, wa, wb, mass


def solve_entropic_partial(M, a, b, reg, m=None, method="auto", max_iter=MAX_ITER, tol=TOL, check_every=CHECK_EVERY,
                           n_threads=None, warn=True) -> OTResult:
    """Entropic partial OT as an OTResult: ``value`` = ``<P, M> + reg sum P log P``, ``value_linear`` = ``<P, M>``,
    potentials ``(f, g)`` with ``P_ij = exp((f_i + g_j - M_ij) / reg)``, status, iterations and errors."""
    method = V.check_choice(method, "method", _ENTROPIC_METHODS)
    reg = V.check_reg(reg)
    max_iter = V.check_max_iter(max_iter)
    tol = V.check_tol(tol)
    check_every = V.check_max_iter(check_every, "check_every")
    warn = V.check_bool(warn, "warn")
    placement = _dispatch.place(M=M, a=a, b=b)
    if placement.on_gpu:  # the log-domain iterations on the device (numbaot.cuda.partial), whatever the method
        V.check_device_dense_shapes(M, a, b, None, False)
        if 0 in M.shape:
            raise ValueError(f"M has shape {tuple(M.shape)}: empty distribution (a and b need at least one point)")
        C, wa, wb, mass = _device_inputs(M, a, b, m, placement)
        answer, out_dtype = _dispatch.driver("entropic_partial", placement)(C, wa, wb, reg, mass, max_iter, tol,
                                                                            check_every, V.result_dtype(M), placement)
        return finish(answer, solver="entropic_partial_wasserstein (sinkhorn_log, cuda)", criterion="marginal change",
                      tol=tol, warn=warn, batch=False, out_dtype=out_dtype, device="cuda", stacklevel=5)
    from .. import _config

    M, a, b = _checked(M, a, b)
    out_dtype = V.result_dtype(M)
    mass = V.check_transported_mass(m, float(a.sum()), float(b.sum()))
    C = np.ascontiguousarray(M, dtype=np.float64)
    finite = bool(np.isfinite(C).all())
    if not finite:  # an entropic plan puts mass on every arc of a weighted row: it needs a finite one
        V.check_cost_matrix(M, a, b)
    threads = _config.n_threads(n_threads)
    errors = np.full(max_iter // check_every + 2, np.nan)
    low = float(C.min())
    scaling = method == "sinkhorn" or (method == "auto" and finite and (float(C.max()) - low) / reg <= _AUTO_SPREAD)
    answer, used = None, "sinkhorn_log"
    if scaling:
        answer, used = _scaling_run(C, a, b, reg, mass, low, max_iter, tol, check_every, errors, threads), "sinkhorn"
        if method == "auto" and answer[0] == NUMERICAL_ERROR:
            answer, used = None, "sinkhorn_log"  # the log domain takes over
            errors[:] = np.nan
    if answer is None:
        answer = _log_run(C, a, b, reg, mass, max_iter, tol, check_every, errors, threads)
    status, n_iter, n_errors, f, g, plan = answer
    lin, value = _values(plan, C, f, g)
    if not (math.isfinite(lin) and math.isfinite(value)) and status == 0:
        status = NUMERICAL_ERROR
    if warn:
        detail = f"marginal change {errors[n_errors - 1]:.3g} > tol {tol:g} after {n_iter} iterations" \
            if n_errors else f"{n_iter} iterations"
        warn_status(status, f"entropic_partial_wasserstein ({used})", detail, stacklevel=4)
    return OTResult(value=out_dtype.type(value), value_linear=out_dtype.type(lin),
                    plan=plan.astype(out_dtype, copy=False), potential_a=f.astype(out_dtype),
                    potential_b=g.astype(out_dtype), status=Status(status), n_iter=int(n_iter),
                    errors=errors[:n_errors].copy())


def _values(plan, C, f, g):
    """``(<P, C>, <P, C> + reg sum P log P)`` of the plan ``P_ij = exp((f_i + g_j - C_ij) / reg)``: one serial
    pass for the marginals r, c and ``<P, C>``; the entropic value is then ``r . f + c . g`` (``log P_ij = (f_i +
    g_j - C_ij) / reg``; rows and columns without mass count 0, whatever their potential)."""
    from ._entropic import plan_sums

    n, nm = C.shape
    rows, parts, lins = np.empty(n), np.empty((1, nm)), np.empty(1)
    plan_sums(plan, C, rows, parts, lins, 1)
    cols = parts.sum(axis=0)
    value = float(np.dot(rows[rows > 0], f[rows > 0]) + np.dot(cols[cols > 0], g[cols > 0]))
    return float(lins.sum()), value


def _log_run(C, a, b, reg, mass, max_iter, tol, check_every, errors, threads):
    from .._threads import run_parallel
    from ..entropic._geometry import DenseCosts
    from ..entropic._loop import plan_core, transposed
    from ._entropic import entropic_partial_core

    n, nm = C.shape
    geom = DenseCosts(C[None], transposed(C)[None])
    with np.errstate(divide="ignore"):
        log_a, log_b = np.log(a), np.log(b)
    f, g = np.zeros((1, n)), np.zeros((1, nm))
    top = float(C.min())
    h0 = reg * (math.log(mass) - (-top / reg + math.log(float(np.exp(-(C - top) / reg).sum()))))  # mass m at start
    status, n_iter, n_errors, h = run_parallel(entropic_partial_core, threads, geom, log_a, log_b, math.log(mass),
                                               reg, f, g, h0, max_iter, tol, check_every, errors)
    f[0] += h  # P = exp((f + g - M) / reg)
    plan = np.empty((1, n, nm))
    run_parallel(plan_core, threads, C[None], np.zeros((1, n)), np.zeros((1, nm)), f, g, reg, plan)
    return status, n_iter, n_errors, f[0], g[0], plan[0]


def _scaling_run(C, a, b, reg, mass, low, max_iter, tol, check_every, errors, threads):
    from .._threads import run_parallel, run_short_regions
    from ._entropic import entropic_partial_scaling_core, scaled_plan

    n, nm = C.shape
    K = np.empty((n, nm))  # exp(-(C - low) / reg) by numpy's vectorised exp (a compiled scalar loop: ~8x slower)
    np.subtract(C, low, out=K)
    np.multiply(K, -1.0 / reg, out=K)
    np.exp(K, out=K)
    u, v = np.ones(n), np.ones(nm)
    # one short parallel region per iteration: fewer threads while the machine is busy, the chunking kept at threads
    status, n_iter, n_errors, z = run_short_regions(entropic_partial_scaling_core, threads, K, a, b, mass, u, v,
                                                    mass / float(K.sum()), max_iter, tol, check_every, errors, threads)
    with np.errstate(divide="ignore", invalid="ignore"):
        f = reg * (np.log(u) + math.log(z)) + low if z > 0 and math.isfinite(z) else np.full(n, np.nan)
        g = reg * np.log(v)
    run_parallel(scaled_plan, threads, K, u, v, z, K, threads)  # the plan in K's memory
    if not (np.isfinite(K).all()) and status == 0:
        status = NUMERICAL_ERROR
    return status, n_iter, n_errors, f, g, K


def entropic_partial_wasserstein(a, b, M, reg, m=None, *, method="auto", max_iter=MAX_ITER, tol=TOL,
                                 check_every=CHECK_EVERY, n_threads=None, warn=True):
    """Entropic partial OT plan (POT's ``ot.partial.entropic_partial_wasserstein``), in the log domain.

    Solves ``min <P, M> + reg sum P log P`` over ``P >= 0`` with ``P 1 <= a``, ``P^T 1 <= b`` and ``sum P = m``
    by Bregman projections (Benamou et al. 2015), which are block-coordinate ascent on the dual (one potential per
    row, per column, and one for the mass).

    Parameters
    ----------
    a, b : arrays of shape (n,) and (m,), or None
        Non-negative weights (uniform when None); their masses may differ.
    M : array of shape (n, m)
        Costs; ``+inf`` marks a forbidden arc (every row and column with weight needs a finite one). CUDA arrays
        (with a, b on the same device, or None) are solved on the GPU by the log-domain iterations, whatever the
        method; the plan is a device array of the caller's kind (``numbaot.solve`` records ``ran_on="cuda"``).
    reg : float > 0
        Entropic regularisation.
    m : float, optional
        The mass to move, ``0 < m <= min(sum(a), sum(b))`` (None: the minimum).
    method : {'auto', 'sinkhorn', 'sinkhorn_log'}
        ``'sinkhorn_log'``: log-domain half-steps, stable for any ``reg``. ``'sinkhorn'``: the same iterates on the
        scalings of the kernel ``exp(-(M - min M) / reg)`` (POT's default method), several times faster per
        iteration but it stops with status NUMERICAL_ERROR where the kernel underflows (``(max M - min M) / reg``
        beyond about 700). ``'auto'``: 'sinkhorn' when ``(max M - min M) / reg <= 100`` (and no +inf cost), else
        'sinkhorn_log' (also when 'sinkhorn' meets a NaN).
    max_iter : int
        Maximum iterations (each a row projection, a column projection and two mass projections).
    tol : float >= 0
        Stop when the L1 change of the row and column marginals made by one iteration's projections is at most tol
        (checked every ``check_every`` iterations). POT's default runs ``max_iter`` iterations whatever happens.
    check_every : int
    n_threads : int, optional
        Threads (default: Numba's thread count); rows and columns are updated in parallel.
    warn : bool
        Emit a ConvergenceWarning when the status is not OPTIMAL.

    Returns
    -------
    plan : array of shape (n, m)
        In M's dtype.

    Examples
    --------
    >>> import numbaot
    >>> numbaot.entropic_partial_wasserstein([0.1, 0.2], [0.1, 0.1], [[0.0, 1.0], [2.0, 3.0]], 1, 0.1).round(2)
    array([[0.06, 0.02],
           [0.01, 0.  ]])
    """
    return solve_entropic_partial(M, a, b, reg, m, method, max_iter, tol, check_every, n_threads, warn).plan
