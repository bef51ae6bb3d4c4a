"""Exact OT front-ends: validate, choose CPU or CUDA, call the core, wrap the answer.

One-dimensional solvers: :func:`emd_1d`, :func:`emd2_1d`, :func:`wasserstein_1d`.
"""
from __future__ import annotations

import numpy as np

from .. import _config, _device, _dispatch, _validation as V
from .._finish import ExactAnswer, finish_exact
from .._result import OTResult
from .._scaling import max_abs, pow2_exponent, scale_up
from ._driver import center_duals, network_simplex

_METRICS_1D = ("sqeuclidean", "euclidean", "cityblock", "minkowski")


# ------------------------------------------------------------------------------------------------------- validation
def _check_metric_1d(metric, p):
    if not isinstance(metric, str):
        raise TypeError(f"metric must be a string, one of {_METRICS_1D}, got {metric!r}")
    if metric not in _METRICS_1D:
        raise ValueError(
            f"metric must be one of {_METRICS_1D} for 1D exact OT (a convex function of x - y), got {metric!r}"
        )
    return V.check_p(p)


def _points_1d(x, name):
    """(n,) or (n, 1) points as a flat float array (host) or device array (CUDA)."""
    x = V.as_float_array(x, name, ndim=(1, 2), allow_cuda=True)
    if x.ndim == 2:
        if x.shape[1] != 1:
            raise ValueError(
                f"{name} has shape {tuple(x.shape)}: 1D OT needs points of shape (n,) or (n, 1); for points in "
                f"{x.shape[1]} dimensions use numbaot.emd with a cost matrix"
            )
        x = x.reshape(-1)
    if not _device.is_cuda_array(x):
        V.check_finite(x, name)
    return x


def _scaled(x, e: int):
    """x as float64, divided by ``2**e`` (no copy when it is already float64 and e is 0)."""
    x = x.astype(np.float64, copy=False)
    return x if e == 0 else np.ldexp(x, -e)


def _cost_exponent(metric: str, p: float) -> float:
    return {"sqeuclidean": 2.0, "euclidean": 1.0, "cityblock": 1.0}.get(metric, p)


# -------------------------------------------------------------------------------------------------------------- 1D
def solve_1d(x_a, x_b, a, b, metric, p, want_plan: bool, n_threads=None) -> OTResult:
    """The shared 1D front-end behind emd_1d, emd2_1d and solve_sample on 1D points: validate, run the host or
    the CUDA driver (the same ``ExactAnswer`` from both), and build the result in one place."""
    p = _check_metric_1d(metric, p)
    x_a = _points_1d(x_a, "x_a")
    x_b = _points_1d(x_b, "x_b")
    placement = _dispatch.place(x_a=x_a, x_b=x_b, a=a, b=b)
    if placement.on_gpu:
        answer, out_dtype = _solve_1d_device(placement, x_a, x_b, a, b, metric, p, want_plan)
    else:
        answer, out_dtype = _solve_1d_host(x_a, x_b, a, b, metric, p, want_plan, n_threads)
    return finish_exact(answer, out_dtype=out_dtype, device=placement.device)


def _solve_1d_device(placement, x_a, x_b, a, b, metric, p, want_plan):
    """Device inputs: checked on the device (the host's order and messages) and judged here, then solved."""
    names = ("x_a", "x_b", "a", "b")
    points = _dispatch.driver("1d.points", placement)(x_a, x_b, names, (a, b))
    a_in = None if a is None else V.as_float_array(a, "a", ndim=1, allow_cuda=True)
    b_in = None if b is None else V.as_float_array(b, "b", ndim=1, allow_cuda=True)
    inputs = _dispatch.driver("1d.inputs", placement)(points, x_a, x_b, a_in, b_in, names)
    factor = V.check_mass(float(inputs.sums_a[0]), float(inputs.sums_b[0]), V.mass_dtype(a_in, b_in))
    out_dtype = V.result_dtype(x_a, x_b, a_in, b_in)
    return _dispatch.driver("solve_1d", placement)(inputs, factor, metric, p, want_plan, out_dtype), out_dtype


def _solve_1d_host(x_a, x_b, a, b, metric, p, want_plan, n_threads):
    """The host driver: sort, merge, and (for a plan) duals; returns ``(ExactAnswer, out_dtype)``."""
    from ._solver_1d import METRIC_CODES, emd_1d_sorted_core, wasserstein_1d_core
    from ._sort import sort_pair

    n, m = x_a.shape[0], x_b.shape[0]
    a_in = None if a is None else V.as_float_array(a, "a", ndim=1)
    b_in = None if b is None else V.as_float_array(b, "b", ndim=1)
    out_dtype = V.result_dtype(x_a, x_b, a_in, b_in)
    a, b = V.check_balanced_weights(a_in, b_in, n, m)
    a = a.astype(np.float64, copy=False)
    b = b.astype(np.float64, copy=False)
    e = pow2_exponent(max_abs(x_a, x_b))
    power = _cost_exponent(metric, p)
    threads = _config.n_threads(n_threads)
    # Uniform weights need not travel with the sort when only the value is wanted: a plain sort is much faster.
    uniform_a = a_in is None and not want_plan
    uniform_b = b_in is None and not want_plan
    (xs, ws, pa), (ys, vs, pb) = sort_pair(_scaled(x_a, e), None if uniform_a else a,
                                           _scaled(x_b, e), None if uniform_b else b,
                                           need_perm=want_plan, threads=threads)
    code = METRIC_CODES[metric]
    if not want_plan:
        ws = a if uniform_a else ws
        vs = b if uniform_b else vs
        value = scale_up(wasserstein_1d_core(xs, ws, ys, vs, code, p), e, power)
        return ExactAnswer(value=value, shape=(n, m), n_iter=n + m - 1), out_dtype
    rows, cols, mass, f_sorted, g_sorted, cost = emd_1d_sorted_core(xs, ws, ys, vs, code, p)
    f = np.empty(n)
    g = np.empty(m)
    f[pa] = f_sorted
    g[pb] = g_sorted
    f, g = center_duals(f, g, a, b)
    return ExactAnswer(
        value=scale_up(cost, e, power),
        shape=(n, m),
        n_iter=n + m - 1,
        plan_coo=(pa[rows], pb[cols], mass.astype(out_dtype, copy=False)),
        potential_a=scale_up(f, e, power).astype(out_dtype, copy=False),
        potential_b=scale_up(g, e, power).astype(out_dtype, copy=False),
    ), out_dtype


def _scalar(value, dtype):
    return dtype.type(value)


def emd_1d(x_a, x_b, a=None, b=None, metric="sqeuclidean", p=1.0, dense=True, *, n_threads=None):
    """Optimal transport plan between two 1D measures, by sorting and a monotone merge in O((n + m) log(n + m)).

    Parameters
    ----------
    x_a, x_b : arrays of shape (n,) or (n, 1), and (m,) or (m, 1)
        Support points; numpy, or CUDA arrays (CuPy, Numba) to solve on the GPU.
    a, b : arrays of shape (n,) and (m,), optional
        Weights, uniform when None. They must have the same total mass (not necessarily 1).
    metric : {'sqeuclidean', 'euclidean', 'cityblock', 'minkowski'}
        Ground cost ``(x - y)^2``, ``|x - y|``, ``|x - y|``, or ``|x - y|^p`` (as POT's 1D solvers define it).
    p : float >= 1
        Exponent of 'minkowski'.
    dense : bool
        Return a dense ``(n, m)`` array (refused with a ValueError when it would not fit in memory) or, when
        False, a ``scipy.sparse.coo_array`` with at most ``n + m - 1`` non-zeros (CUDA inputs: a tuple
        ``(rows, cols, values)`` of device arrays).
    n_threads : int, optional
        Host threads for sorting (default: Numba's thread count).

    Returns
    -------
    plan : array of shape (n, m), or sparse
        In the dtype of the inputs (float32 when all are float32) and on their device.

    Examples
    --------
    >>> import numpy as np, numbaot
    >>> numbaot.emd_1d([0.0, 1.0], [0.5, 2.0, 3.0], b=[0.5, 0.25, 0.25]).round(3)
    array([[0.5 , 0.  , 0.  ],
           [0.  , 0.25, 0.25]])
    """
    dense = V.check_bool(dense, "dense")
    result = solve_1d(x_a, x_b, a, b, metric, p, want_plan=True, n_threads=n_threads)
    if dense:
        return result.plan
    return result.plan_sparse if result.device == _device.CPU else result.plan_coo


def emd2_1d(x_a, x_b, a=None, b=None, metric="sqeuclidean", p=1.0, *, n_threads=None):
    """Optimal transport cost ``<P, M>`` between two 1D measures (see :func:`emd_1d` for the parameters).

    Returns
    -------
    value : float
        A numpy scalar of the inputs' dtype (also for CUDA inputs: one scalar is copied back).

    Examples
    --------
    >>> import numbaot
    >>> float(numbaot.emd2_1d([0.0, 1.0, 3.0], [0.5, 2.0]))
    0.625
    """
    return solve_1d(x_a, x_b, a, b, metric, p, want_plan=False, n_threads=n_threads).value


def wasserstein_1d(u_values, v_values, u_weights=None, v_weights=None, p=1, require_sort=True, *, n_threads=None):
    """``W_p^p`` between 1D measures, one problem or a batch over trailing columns (as POT's ``wasserstein_1d``).

    Parameters
    ----------
    u_values, v_values : arrays of shape (n,) or (n, k), and (m,) or (m, k)
        Support points; column ``t`` of each is problem ``t``. numpy or CUDA arrays.
    u_weights, v_weights : arrays of shape (n,) or (n, k), and (m,) or (m, k), optional
        Weights (uniform when None), shared by all problems when 1D. Each problem's two measures must carry the
        same mass.
    p : float >= 1
        The cost is ``|x - y|^p``; the result is ``W_p^p`` (no root taken), like POT.
    require_sort : bool
        When False the values are taken as already sorted ascending along axis 0; this is checked (O(n)) and a
        ValueError is raised if it does not hold.
    n_threads : int, optional
        Threads for the batch (default: Numba's thread count).

    Returns
    -------
    float or array of shape (k,)

    Examples
    --------
    >>> import numbaot
    >>> float(numbaot.wasserstein_1d([0.0, 1.0], [1.0, 2.0], p=2))
    1.0
    """
    p = V.check_p(p)
    require_sort = V.check_bool(require_sort, "require_sort")
    u = V.as_float_array(u_values, "u_values", ndim=(1, 2), allow_cuda=True)
    v = V.as_float_array(v_values, "v_values", ndim=(1, 2), allow_cuda=True)
    if u.ndim != v.ndim or u.shape[1:] != v.shape[1:]:
        raise ValueError(
            f"u_values has shape {tuple(u.shape)} and v_values {tuple(v.shape)}: both must be 1D, or 2D with the same "
            "number of columns (one problem per column)"
        )
    wu = _batch_weights(u_weights, "u_weights", u.shape)
    wv = _batch_weights(v_weights, "v_weights", v.shape)
    placement = _dispatch.place(u_values=u, v_values=v, u_weights=wu, v_weights=wv)
    if placement.on_gpu:
        return _wasserstein_1d_device(placement, u, v, wu, wv, p, require_sort)
    from ._solver_1d import POWER, wasserstein_1d_batch_core, wasserstein_1d_core
    from ._sort import sort_pair

    V.check_finite(u, "u_values")
    V.check_finite(v, "v_values")
    out_dtype = V.result_dtype(u, v, wu, wv)
    batched = u.ndim == 2
    k = u.shape[1] if batched else 1
    wu, wv = _balance_batch(wu, wv, u.shape[0], v.shape[0], k)
    e = pow2_exponent(max_abs(u, v))
    # Problems as rows: (k, n), contiguous for the sorts and the merge.
    xu = np.ascontiguousarray(_scaled(u.T if batched else u[None, :], e))
    xv = np.ascontiguousarray(_scaled(v.T if batched else v[None, :], e))
    if not require_sort:
        for name, x in (("u_values", xu), ("v_values", xv)):
            if np.any(x[:, 1:] < x[:, :-1]):
                raise ValueError(f"{name} is not sorted ascending along axis 0; pass require_sort=True")
        sorted_u, sorted_v = (xu, wu, None), (xv, wv, None)
    else:
        # Uniform weights need not travel with the sort: a plain sort is several times faster than argsort.
        travel_u = None if u_weights is None else _squeeze_shared(wu)
        travel_v = None if v_weights is None else _squeeze_shared(wv)
        sorted_u, sorted_v = sort_pair(xu, travel_u, xv, travel_v, need_perm=False,
                                       threads=_config.n_threads(n_threads))
    xs, ws = sorted_u[0], _fill(sorted_u[1], wu)
    ys, vs = sorted_v[0], _fill(sorted_v[1], wv)
    if not batched:
        value = wasserstein_1d_core(xs[0], ws[0], ys[0], vs[0], POWER, p)
        return _scalar(scale_up(value, e, p), out_dtype)
    threads = _config.n_threads(n_threads)
    import numba

    previous = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        values = wasserstein_1d_batch_core(xs, ws, ys, vs, POWER, p)
    finally:
        numba.set_num_threads(previous)
    return scale_up(values, e, p).astype(out_dtype)


def _wasserstein_1d_device(placement, u, v, wu, wv, p, require_sort):
    """Device inputs: checked on the device in the host's order (points, weights, masses, sortedness) and judged
    here with the host's rules, then solved by the CUDA driver."""
    names = ("u_values", "v_values", "u_weights", "v_weights")
    points = _dispatch.driver("1d.points", placement)(u, v, names, (wu, wv))
    inputs = _dispatch.driver("1d.inputs", placement)(points, u, v, wu, wv, names, promised_sorted=not require_sort,
                                                      batch_labels=True)
    out_dtype = V.result_dtype(u, v, wu, wv)
    # As on the host, the batch path judges the mass in the dtype of the weights that were given.
    given = [w for w in (wu, wv) if w is not None]
    mass_dtype = V.result_dtype(*given) if given else np.dtype(np.float64)
    sums_u, sums_v = inputs.sums_a, inputs.sums_b
    factors = np.array([V.check_mass(float(sums_u[min(t, len(sums_u) - 1)]), float(sums_v[min(t, len(sums_v) - 1)]),
                                     mass_dtype) for t in range(max(len(sums_u), len(sums_v)))])
    if not require_sort:
        for name, descents in zip(names, inputs.descents):
            if descents:
                V.judge_unsorted(name)
    batched = u.ndim == 2
    value = _dispatch.driver("wasserstein_1d", placement)(inputs, factors, p, require_sort, batched, out_dtype)
    return value if batched else _scalar(value, out_dtype)


def _batch_weights(w, name, shape):
    """Weights as given: None, (n,) shared by every problem, or (n, k) one column per problem (host or CUDA: the
    shape is read from the metadata; the values are checked by the solver on the arrays' device)."""
    if w is None:
        return None
    w = V.as_float_array(w, name, ndim=(1, 2), allow_cuda=True)
    if tuple(w.shape) != tuple(shape) and tuple(w.shape) != (shape[0],):
        raise ValueError(f"{name} has shape {tuple(w.shape)}; it must be ({shape[0]},) or {tuple(shape)}")
    return w


def _balance_batch(wu, wv, n, m, k):
    """Check every problem's weights and mass; return ``(k or 1, n)`` and ``(k or 1, m)`` float64 rows.

    Uniform weights stay a single shared row of ``1/n``; b-side rows are rescaled to the a-side mass.
    """
    rows_u = _weight_rows(wu, "u_weights", n)
    rows_v = _weight_rows(wv, "v_weights", m)
    dtype = V.result_dtype(*(w for w in (wu, wv) if w is not None)) if (wu is not None or wv is not None) \
        else np.dtype(np.float64)
    sums_u = rows_u.sum(axis=1)
    sums_v = rows_v.sum(axis=1)
    count = max(len(sums_u), len(sums_v))
    factors = np.empty(count)
    for t in range(count):
        factors[t] = V.check_mass(float(sums_u[min(t, len(sums_u) - 1)]), float(sums_v[min(t, len(sums_v) - 1)]),
                                  dtype)
    if np.any(factors != 1.0):
        rows_v = rows_v * factors[:, None] if len(rows_v) == count else rows_v[0][None, :] * factors[:, None]
    return rows_u, rows_v


def _weight_rows(w, name, n):
    if w is None:
        return np.full((1, n), 1.0 / n)
    columns = w[:, None] if w.ndim == 1 else w
    rows = np.empty((columns.shape[1], n))
    for t in range(columns.shape[1]):
        label = name if w.ndim == 1 else f"{name}[:, {t}]"
        rows[t] = V.check_weights(np.ascontiguousarray(columns[:, t]), label, n)
    return rows


def _squeeze_shared(rows):
    """A single shared weight row as 1D, so that each problem's sort permutes its own copy of it."""
    return rows if rows.shape[0] > 1 else rows[0]


def _fill(sorted_w, rows):
    return rows if sorted_w is None else (sorted_w if sorted_w.ndim == 2 else sorted_w[None, :])


# ---------------------------------------------------------------------------------------------- network simplex
def _emd_weights(a, b, n, m, allow_multi_b=False):
    """Validated weights for emd: b may be (m, k) for several targets at once (``emd2`` only)."""
    len_a = n if a is None else len(np.asarray(a)) if np.ndim(a) else 0
    len_b = m if b is None else len(np.asarray(b)) if np.ndim(b) else 0
    if (len_a, len_b) != (n, m):
        raise ValueError(f"M has shape {(n, m)} but a has {len_a} and b has {len_b} entries")
    if b is not None and allow_multi_b and np.ndim(b) == 2:
        a_checked = V.check_weights(a, "a", n)
        b2 = V.as_float_array(b, "b", ndim=2)
        if b2.shape[0] != m:
            raise ValueError(f"b has shape {b2.shape}; with M of {m} columns it must be ({m},) or ({m}, k)")
        columns = []
        for t in range(b2.shape[1]):
            _, bt = V.check_balanced_weights(a_checked, np.ascontiguousarray(b2[:, t]), n, m)
            columns.append(bt)
        return a_checked, columns
    a_checked, b_checked = V.check_balanced_weights(a, b, n, m)
    return a_checked, [b_checked]


def solve_exact(M, a, b, max_iter, n_threads, allow_multi_b=False, warn=True, potentials_init=None,
                 plan_init=None):
    """Validate a cost matrix and its weights and solve; one OTResult per column of b."""
    f_init, g_init = (None, None) if not isinstance(potentials_init, (tuple, list)) or len(potentials_init) != 2 \
        else potentials_init
    placement = _dispatch.place(M=M, a=a, b=b, **{"potentials_init[0]": f_init, "potentials_init[1]": g_init},
                                plan_init=plan_init)
    if placement.on_gpu:  # the network simplex runs on the host (see numbaot._dispatch.solve_on_host)
        return _dispatch.solve_on_host(
            placement, lambda M, a, b, pots, plan: solve_exact(M, a, b, max_iter, n_threads, allow_multi_b, warn,
                                                                 pots, plan),
            M, a, b, potentials_init, plan_init)
    if max_iter is not None:
        max_iter = V.check_max_iter(max_iter)
    M = V.as_float_array(M, "M", ndim=2)
    n, m = M.shape
    a, b_columns = _emd_weights(a, b, n, m, allow_multi_b)
    out_dtype = V.result_dtype(M)
    M = V.check_cost_matrix(M, a, b_columns[0])
    # Only the +inf feasibility check depends on b: the other targets need it only when M has forbidden arcs.
    forbidden = len(b_columns) > 1 and bool(np.isinf(M).any())
    warm = _warm_start(M, potentials_init, plan_init, n, m)
    results = []
    for t, b_t in enumerate(b_columns):
        if t and forbidden:
            V.check_cost_matrix(M, a, b_t)
        results.append(_finish_simplex(_simplex_answer(M, a, b_t, (n, m), out_dtype, max_iter, n_threads, warm),
                                       out_dtype, warn))
    return results


def _warm_start(costs, potentials_init, plan_init, n, m):
    """Validated warm-start duals ``(f, g)`` (float64) from given potentials or a given plan, or None."""
    if potentials_init is not None and plan_init is not None:
        raise ValueError("give potentials_init or plan_init, not both")
    if potentials_init is not None:
        if not isinstance(potentials_init, (tuple, list)) or len(potentials_init) != 2:
            raise TypeError("potentials_init must be a pair (f, g) of arrays of shapes (n,) and (m,)")
        f = V.as_float_array(potentials_init[0], "potentials_init[0]", ndim=1)
        g = V.as_float_array(potentials_init[1], "potentials_init[1]", ndim=1)
        if f.shape != (n,) or g.shape != (m,):
            raise ValueError(f"potentials_init has shapes {f.shape} and {g.shape}; they must be ({n},) and ({m},)")
        V.check_finite(f, "potentials_init[0]")
        V.check_finite(g, "potentials_init[1]")
        return f.astype(np.float64, copy=False), g.astype(np.float64, copy=False)
    if plan_init is None:
        return None
    from . import _network_simplex as NS

    if hasattr(plan_init, "tocoo"):  # scipy sparse
        coo = plan_init.tocoo()
        if coo.shape != (n, m):
            raise ValueError(f"plan_init has shape {coo.shape}; it must be ({n}, {m})")
        rows, cols, values = coo.row.astype(np.int64), coo.col.astype(np.int64), np.asarray(coo.data, float)
    else:
        plan = V.as_float_array(plan_init, "plan_init", ndim=2)
        if plan.shape != (n, m):
            raise ValueError(f"plan_init has shape {plan.shape}; it must be ({n}, {m})")
        rows, cols = np.nonzero(plan)
        values = plan[rows, cols]
    V.check_finite(values, "plan_init (non-zero entries)")
    if np.any(values < 0):
        raise ValueError("plan_init has negative entries; a transport plan is non-negative")
    keep = (values > 0) & np.isfinite(costs[rows, cols])  # a forbidden arc in the support says nothing of duals
    return NS.potentials_from_support(costs, rows[keep].astype(np.int64), cols[keep].astype(np.int64), n, m)


def solve_points_exact(X_a, X_b, a, b, metric, p, max_iter, n_threads, warn):
    """Exact OT between host point clouds with costs computed on the fly: O(n + m) memory."""
    from .._costs import METRIC_CODES
    from .._costs import cosine_norms
    from .._costs import PointClouds

    if max_iter is not None:
        max_iter = V.check_max_iter(max_iter)
    n, m = X_a.shape[0], X_b.shape[0]
    a, b = V.check_balanced_weights(a, b, n, m)
    norms_a, norms_b = cosine_norms(X_a, X_b, metric, names=("X_a", "X_b"))
    costs = PointClouds(np.ascontiguousarray(X_a, dtype=np.float64), np.ascontiguousarray(X_b, dtype=np.float64),
                       METRIC_CODES[metric], float(p), norms_a, norms_b)
    out_dtype = V.result_dtype(X_a, X_b)
    return _finish_simplex(_simplex_answer(costs, a, b, (n, m), out_dtype, max_iter, n_threads), out_dtype, warn)


def _simplex_answer(costs, a, b, shape, out_dtype, max_iter, n_threads, warm=None) -> ExactAnswer:
    """The host network simplex's answer (a ValueError when forbidden arcs leave no feasible plan)."""
    from .._status import Status

    status, n_iter, (rows, cols, values), f, g, value = network_simplex(costs, a, b, max_iter, n_threads, warm)
    if status == Status.INFEASIBLE:
        forbidden = isinstance(costs, np.ndarray) and not np.isfinite(costs).all()
        if forbidden:
            raise ValueError(
                "no transport plan avoids the +inf (forbidden) entries of M: some mass cannot reach any column "
                "with a finite cost; check the +inf pattern of M"
            )
        status = Status.NUMERICAL_ERROR  # artificial flow left without forbidden arcs: rounding, not the input
    return ExactAnswer(value=value, shape=shape, n_iter=n_iter, status=status,
                       plan_coo=(rows, cols, values.astype(out_dtype, copy=False)),
                       potential_a=f.astype(out_dtype, copy=False), potential_b=g.astype(out_dtype, copy=False))


def _finish_simplex(answer: ExactAnswer, out_dtype, warn) -> OTResult:
    # stacklevel 6: warn_status, finish_exact, this, the solve_* helper, the verb, the user's line
    return finish_exact(answer, out_dtype=out_dtype, solver="emd", detail=f"{answer.n_iter} pivots; raise max_iter",
                        warn=warn, stacklevel=6)


def emd(a, b, M, *, max_iter=None, dense=True, n_threads=None, potentials_init=None, plan_init=None):
    """Exact optimal transport plan by the network simplex (POT's ``ot.emd``).

    Parameters
    ----------
    a, b : arrays of shape (n,) and (m,), or None
        Weights (uniform when None) of equal total mass.
    M : array of shape (n, m)
        Costs, of any sign; ``+inf`` marks a forbidden arc (a ValueError is raised when no plan avoids them).
        CUDA arrays are accepted: the network simplex then runs on host copies and the plan comes back to the
        device (``solve(...).ran_on`` records it).
    max_iter : int, optional
        Maximum number of pivots. None (the default) sets max(1e7, 1000 (n + m)), a guard against a stall only
        (the strongly feasible tree does not cycle; n = m = 10000 needs ~3e5 pivots). When reached, the status is
        MAX_ITER_REACHED, a ConvergenceWarning is emitted, and the plan may miss the marginals.
    dense : bool
        A dense (n, m) plan, or a ``scipy.sparse.coo_array`` with at most n + m - 1 non-zeros (CUDA inputs: a
        tuple ``(rows, cols, values)`` of device arrays).
    n_threads : int, optional
        Threads for parallel pricing on large problems (default: Numba's thread count).
    potentials_init : pair of arrays of shapes (n,) and (m,), optional
        Duals ``(f, g)`` to warm-start from (e.g. those of a nearby problem): the first pivots then bring in the
        arcs that are tight for them. Any finite values are valid; the answer does not depend on them.
    plan_init : array of shape (n, m) or scipy sparse, optional
        A plan to warm-start from (e.g. the previous iterate of an outer loop): its support gives the duals.

    Returns
    -------
    plan : array of shape (n, m), or sparse

    Examples
    --------
    >>> import numbaot
    >>> numbaot.emd([0.5, 0.5], [0.5, 0.5], [[0.0, 1.0], [1.0, 0.0]])
    array([[0.5, 0. ],
           [0. , 0.5]])
    """
    dense = V.check_bool(dense, "dense")
    result = solve_exact(M, a, b, max_iter, n_threads, potentials_init=potentials_init, plan_init=plan_init)[0]
    if dense:
        return result.plan
    return result.plan_sparse if result.device == _device.CPU else result.plan_coo


def emd2(a, b, M, *, max_iter=None, n_threads=None, potentials_init=None, plan_init=None):
    """Exact optimal transport cost ``<P, M>`` by the network simplex (POT's ``ot.emd2``).

    ``b`` may be of shape (m, k): k targets solved one after the other, returning k values. Other parameters as
    in :func:`emd`.

    Examples
    --------
    >>> import numbaot
    >>> float(numbaot.emd2([0.5, 0.5], [0.5, 0.5], [[0.0, 1.0], [1.0, 0.0]]))
    0.0
    """
    results = solve_exact(M, a, b, max_iter, n_threads, allow_multi_b=True, potentials_init=potentials_init,
                           plan_init=plan_init)
    if b is not None and len(b.shape if hasattr(b, "shape") else np.shape(b)) == 2:
        return np.array([r.value for r in results])
    return results[0].value
