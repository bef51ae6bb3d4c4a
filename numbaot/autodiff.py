r"""OT values with their gradients, as numpy arrays: the framework-free half of :mod:`numbaot.torch` and
:mod:`numbaot.jax`.

Each function here solves once and returns ``(value, pullback)``: ``pullback(names)`` returns a dict of the
gradients of ``value`` with respect to the named inputs, computed only when asked for (an autograd backward pass
calls it). No gradient is obtained by differentiating through the solver's iterations; each comes from what the
solver already returns:

* **Envelope theorem** (Danskin): the value of a minimisation is differentiated at its minimiser. With respect to
  the cost matrix the gradient is the plan ``P``; with respect to point positions it is
  ``sum_j P_ij d c(x_i, y_j) / d x_i`` (for ``'sqeuclidean'``: ``2 (r_i x_i - (P Y)_i)`` with ``r = P 1``); with
  respect to the weights of balanced OT it is the dual potential, centred to mean zero as POT's
  ``grad='envelope'`` documents (the weights live on a simplex: a constant shift is not seen). Unbalanced OT (KL
  penalties) has no constraint and the gradient in ``a`` is the partial derivative of the primal objective at the
  optimal plan, ``eps (m_b - r_i / a_i) + rho (1 - r_i / a_i)``.
* **Sinkhorn divergence** ``S = OT(a, b) - (OT(a, a) + OT(b, b)) / 2``: with respect to ``x_i``,
  ``sum_j P_ij grad c(x_i, y_j) - sum_k Q_ik grad c(x_i, x_k)`` for the a-b plan P and the a-a plan Q (the self
  problem sees x_i twice, which cancels its factor 1/2). For ``'sqeuclidean'`` and balanced weights this is
  ``2 a_i (T_Q(x_i) - T_P(x_i))`` with the barycentric maps ``T_P(x_i) = (P Y)_i / a_i``. In the weights:
  ``f_ba - f_aa`` (balanced; centred) and ``(rho + eps) (exp(-f_aa / rho) - exp(-f_ba / rho))`` (KL penalties).
* ``sinkhorn2`` is the **linear** cost ``<P, M>`` of the entropic plan (as POT's), which the envelope theorem does
  not cover: its gradient is by implicit differentiation of the optimality conditions (one symmetric linear system
  of size n + m, solved by conjugate gradients with products by P).
* Gromov-Wasserstein (square loss): ``2 (C1 * p p^T - T C2 T^T)`` in C1, ``2 (C2 * q q^T - T^T C1 T)`` in C2 and
  the centred dual potentials of the linearised problem in the weights (POT's choice; exact where the local
  optimum found is stable).
* soft-DTW: the expected alignment from the backward recursion (:func:`numbaot.timeseries.soft_dtw_grad`).
* Entropic barycenters (plain, debiased, unbalanced): vector-Jacobian products by implicit differentiation of the
  fixed point of the solver's iteration (:func:`barycenter`).

Gradients are exact where the solver converged; they are those of the returned value when it did not.
"""
from __future__ import annotations

import numpy as np

from . import _validation as V
from ._costs import POINT_GRAD_METRICS, plan_cost_grad


def _potential_grad(X, Y, f, g, a, b, eps, metric, n_threads, normalise=True):
    """``sum_j P_ij grad c(x_i, y_j)`` with the plan given by its potentials (see :func:`plan_cost_grad`)."""
    from ._threads import run_parallel

    with np.errstate(divide="ignore"):
        log_a, log_b = np.log(np.asarray(a, np.float64)), np.log(np.asarray(b, np.float64))
    out = np.empty((X.shape[0], X.shape[1]), np.float64)
    YT = np.ascontiguousarray(np.asarray(Y, np.float64).T)
    run_parallel(plan_cost_grad, n_threads, X, YT, np.asarray(f, np.float64), np.asarray(g, np.float64), log_a,
                 log_b, float(eps), POINT_GRAD_METRICS[metric], bool(normalise), out)
    return out


def _plan_grad(X, Y, P, metric):
    """``sum_j P_ij grad c(x_i, y_j)`` for an explicit plan (dense array or scipy sparse), (n, d) float64."""
    import scipy.sparse as sp

    X, Y = np.asarray(X, np.float64), np.asarray(Y, np.float64)
    if metric == "sqeuclidean" and not sp.issparse(P) and P.size > 4 * (X.shape[0] + Y.shape[0]):
        P = np.asarray(P)
        if P.dtype == np.float64:
            return 2.0 * (X * P.sum(axis=1)[:, None] - P @ Y)
        # a float32 plan: converted to float64 a block of rows at a time (a block stays in cache; one float64
        # copy of a 5000 x 5000 plan cost more than the sums themselves)
        mass, PY = np.empty(P.shape[0]), np.empty_like(X)
        step = max(1, (1 << 18) // max(P.shape[1], 1))
        for i in range(0, P.shape[0], step):
            block = P[i:i + step].astype(np.float64)
            mass[i:i + step] = block.sum(axis=1)
            PY[i:i + step] = block @ Y
        return 2.0 * (X * mass[:, None] - PY)
    coo = sp.coo_matrix(P)
    rows, cols, w = coo.row, coo.col, coo.data.astype(np.float64)
    diff = X[rows] - Y[cols]
    if metric == "sqeuclidean":
        contrib = 2.0 * diff
    elif metric == "euclidean":
        norm = np.sqrt((diff * diff).sum(axis=1))
        contrib = np.divide(diff, norm[:, None], out=np.zeros_like(diff), where=norm[:, None] > 0)
    else:
        contrib = np.sign(diff)
    out = np.zeros_like(X)
    np.add.at(out, rows, w[:, None] * contrib)
    return out


def _warn_cg(info, what):
    """A :class:`~numbaot.ConvergenceWarning` when scipy's conjugate gradients stopped short (``info != 0``)."""
    if info != 0:
        import warnings

        from ._status import ConvergenceWarning

        reason = (f"conjugate gradients stopped after {info} iterations without reaching the tolerance"
                  if info > 0 else "conjugate gradients broke down (illegal input)")
        warnings.warn(f"{what}: {reason}; the gradient is approximate", ConvergenceWarning, stacklevel=3)


def _centred(v):
    v = np.asarray(v, np.float64)
    return v - v.mean()


def _as_points(X):
    X = np.asarray(X)
    return X.reshape(-1, 1) if X.ndim == 1 else X


def _shaped(g, like):
    return np.asarray(g).reshape(np.shape(like))


def _weights(w, n):
    return np.full(n, 1.0 / n) if w is None else np.asarray(w, np.float64)


def _point_metric(metric, name="metric"):
    if metric not in POINT_GRAD_METRICS:
        raise ValueError(f"gradients in the point positions are implemented for metric in "
                         f"{tuple(POINT_GRAD_METRICS)}, got {name}={metric!r}; detach the points or pick one of these")


def _unbalanced_weight_grads(r, c, a, b, eps, rho_a, rho_b):
    """Partial derivatives in (a, b) of ``<P, C> + eps KL(P | a b^T) + rho_a KL(P 1 | a) + rho_b KL(P^T 1 | b)``
    (generalised KL) at the plan with marginals r and c."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        ra = np.where(a > 0, r / a, 0.0)
        cb = np.where(b > 0, c / b, 0.0)
    ga = eps * (b.sum() - ra)
    gb = eps * (a.sum() - cb)
    if np.isfinite(rho_a):
        ga = ga + rho_a * (1.0 - ra)
    if np.isfinite(rho_b):
        gb = gb + rho_b * (1.0 - cb)
    return ga, gb


def _rho_pair(reg_m):
    if reg_m is None:
        return None
    if np.ndim(reg_m) == 0:
        return float(reg_m), float(reg_m)
    rho = tuple(float(r) for r in np.asarray(reg_m).ravel())
    if len(rho) != 2:
        raise ValueError(f"reg_m must be one number or a pair (rho_a, rho_b), got {reg_m!r}")
    return rho


# ----------------------------------------------------------------------------------------------------- cost matrix


def emd2(a, b, M, *, max_iter=None, n_threads=None):
    """Exact OT cost ``<P, M>`` and its pullback: ``M -> P``, ``a -> f - mean(f)``, ``b -> g - mean(g)``."""
    return solve(M, a, b, max_iter=max_iter, n_threads=n_threads)


def solve(M, a=None, b=None, reg=None, *, unbalanced=None, max_iter=None, tol=None, n_threads=None, warn=True):
    """``numbaot.solve(M, a, b, reg, unbalanced=...)``'s value and its pullback in ``M``, ``a``, ``b``.

    Exact and entropic OT (KL regularisation, the full value ``<P, M> + reg KL(P | a b^T)``), balanced or with KL
    penalties on the marginals (``unbalanced``: one strength or a pair).

    Examples
    --------
    >>> import numpy as np
    >>> from numbaot import autodiff
    >>> value, pullback = autodiff.solve(np.array([[0.0, 1.0], [1.0, 0.0]]), [0.5, 0.5], [0.5, 0.5])
    >>> float(value), pullback(["M"])["M"].tolist()
    (0.0, [[0.5, 0.0], [0.0, 0.5]])
    """
    from .solvers import solve as _solve

    res = _solve(M, a, b, reg, max_iter=max_iter, tol=tol, n_threads=n_threads, warn=warn, unbalanced=unbalanced)
    n, m = res.shape if res.shape is not None else np.shape(M)
    rho = _rho_pair(unbalanced)

    def pullback(names):
        out = {}
        if "M" in names:
            out["M"] = np.asarray(res.plan)
        if "a" in names or "b" in names:
            if rho is None or not np.isfinite(rho).any():
                out["a"], out["b"] = _centred(res.potential_a), _centred(res.potential_b)
            else:
                ga, gb = _unbalanced_weight_grads(np.asarray(res.marginal_a, np.float64),
                                                  np.asarray(res.marginal_b, np.float64), _weights(a, n),
                                                  _weights(b, m), float(reg), *rho)
                out["a"], out["b"] = ga, gb
        return out

    return res.value, pullback


def sinkhorn2(a, b, M, reg, *, max_iter=1000, tol=1e-9, n_threads=None, warn=True, cg_tol=1e-12):
    """The linear cost ``<P, M>`` of the entropic plan (``numbaot.sinkhorn2``) and its pullback by implicit
    differentiation (see the module's notes).

    With ``r = a``, ``c = b`` the plan's marginals, the optimality conditions ``P 1 = a``, ``P^T 1 = b`` give the
    adjoint system ``H [u; v] = [(P o M) 1; (P o M)^T 1]`` with ``H = [[diag(a), P], [P^T, diag(b)]]``; then
    ``d/dM_ij = P_ij (1 + (u_i + v_j - M_ij) / eps)``, ``d/da_i = sum_j P_ij (M_ij - v_j) / a_i`` and
    ``d/db_j = sum_i P_ij (M_ij - u_i) / b_j`` (centred).
    """
    from .entropic.api import sinkhorn

    P = sinkhorn(a, b, M, reg, max_iter=max_iter, tol=tol, n_threads=n_threads, warn=warn)
    P64 = np.asarray(P, np.float64)
    M64 = np.asarray(M, np.float64)
    value = float((P64 * M64).sum())

    def pullback(names):
        from scipy.sparse.linalg import LinearOperator, cg

        n, m = P64.shape
        r, c = P64.sum(axis=1), P64.sum(axis=0)
        PM = P64 * M64

        def matvec(x):
            return np.concatenate([r * x[:n] + P64 @ x[n:], P64.T @ x[:n] + c * x[n:]])

        rhs = np.concatenate([PM.sum(axis=1), PM.sum(axis=0)])
        # H is singular along (1, -1) and the right side is orthogonal to it: CG converges on the range.
        sol, info = cg(LinearOperator((n + m, n + m), matvec=matvec, dtype=np.float64), rhs, rtol=cg_tol,
                       atol=0.0, maxiter=10 * (n + m))
        _warn_cg(info, "sinkhorn2's gradient (the implicit adjoint system)")
        u, v = sol[:n], sol[n:]
        out = {}
        if "M" in names:
            out["M"] = P64 * (1.0 + (u[:, None] + v[None, :] - M64) / reg)
        with np.errstate(divide="ignore", invalid="ignore"):
            if "a" in names:
                out["a"] = _centred(np.where(r > 0, (PM.sum(axis=1) - P64 @ v) / r, 0.0))
            if "b" in names:
                out["b"] = _centred(np.where(c > 0, (PM.sum(axis=0) - P64.T @ u) / c, 0.0))
        return out

    return value, pullback


def solve_batch(M, reg, a=None, b=None, *, max_iter=1000, tol=1e-9, n_threads=None, warn=True):
    """``numbaot.solve_batch``'s values (B,) (full entropic values) and their pullback: ``M -> plans`` (B, n, m),
    ``a``/``b`` -> centred potentials (B, n) / (B, m) (balanced)."""
    from .solvers import solve_batch as _solve_batch

    res = _solve_batch(M, reg, a, b, max_iter=max_iter, tol=tol, n_threads=n_threads, warn=warn)

    def pullback(names):
        out = {}
        if "M" in names:
            out["M"] = np.asarray(res.plan)
        pa, pb = np.asarray(res.potential_a, np.float64), np.asarray(res.potential_b, np.float64)
        if "a" in names:
            out["a"] = pa - pa.mean(axis=-1, keepdims=True)
        if "b" in names:
            out["b"] = pb - pb.mean(axis=-1, keepdims=True)
        return out

    return np.asarray(res.value), pullback


# ----------------------------------------------------------------------------------------------------- point clouds


def solve_sample(X_a, X_b, a=None, b=None, metric="sqeuclidean", *, reg=None, lazy=False, debias=False, reg_m=None,
                 max_iter=None, tol=None, n_threads=None, warn=True):
    """``numbaot.solve_sample``'s value (exact, entropic dense or lazy, debiased divergence, unbalanced) and its
    pullback in ``X_a``, ``X_b``, ``a``, ``b`` (see the module's notes).

    Examples
    --------
    >>> import numpy as np
    >>> from numbaot import autodiff
    >>> x, y = np.array([[0.0, 0.0]]), np.array([[1.0, 2.0]])
    >>> value, pullback = autodiff.solve_sample(x, y)
    >>> float(value), pullback(["X_a"])["X_a"].tolist()  # W2^2 between Diracs: 2 (x - y)
    (5.0, [[-2.0, -4.0]])
    """
    from .solvers import solve_sample as _solve_sample

    if debias:  # the divergence front-end takes lazy=None (cost matrices while they are small)
        from ._defaults import MAX_ITER, TOL
        from .entropic.divergence import solve_divergence

        res = solve_divergence(X_a, X_b, a, b, reg, reg_m, metric, 2.0, 0.5, True,
                               MAX_ITER if max_iter is None else max_iter, TOL if tol is None else tol, lazy,
                               n_threads, warn)
    else:
        res = _solve_sample(X_a, X_b, a, b, metric, reg=reg, lazy=bool(lazy), reg_m=reg_m, max_iter=max_iter,
                            tol=tol, n_threads=n_threads, warn=warn)
    return res.value, _sample_pullback(res, X_a, X_b, a, b, metric, reg, lazy, debias, reg_m, n_threads)


def _sample_pullback(res, X_a, X_b, a, b, metric, reg, lazy, debias, reg_m, n_threads, scale=1.0):
    Xa, Xb = _as_points(X_a), _as_points(X_b)
    n, m = Xa.shape[0], Xb.shape[0]
    wa, wb = _weights(a, n), _weights(b, m)
    rho = _rho_pair(reg_m)
    unbalanced = rho is not None and np.isfinite(rho).any()

    def pullback(names):
        out = {}
        if "X_a" in names or "X_b" in names:
            _point_metric(metric)
        if debias:
            eps = float(reg)
            f_aa = np.asarray(res.potential_aa, np.float64)
            g_bb = np.asarray(res.potential_bb, np.float64)
            f_ba = np.asarray(res.potential_a, np.float64) + f_aa
            g_ab = np.asarray(res.potential_b, np.float64) + g_bb
            if "X_a" in names:
                out["X_a"] = (_potential_grad(Xa, Xb, f_ba, g_ab, wa, wb, eps, metric, n_threads, not unbalanced)
                              - _potential_grad(Xa, Xa, f_aa, f_aa, wa, wa, eps, metric, n_threads, not unbalanced))
            if "X_b" in names:
                out["X_b"] = (_potential_grad(Xb, Xa, g_ab, f_ba, wb, wa, eps, metric, n_threads, not unbalanced)
                              - _potential_grad(Xb, Xb, g_bb, g_bb, wb, wb, eps, metric, n_threads, not unbalanced))
            if unbalanced:
                r = rho[0]
                w = r + eps
                out["a"] = w * (np.exp(-f_aa / r) - np.exp(-f_ba / r))
                out["b"] = w * (np.exp(-g_bb / r) - np.exp(-g_ab / r))
            else:
                out["a"], out["b"] = _centred(f_ba - f_aa), _centred(g_ab - g_bb)
        else:
            if "X_a" in names or "X_b" in names:
                if reg is not None and lazy:
                    f, g = np.asarray(res.potential_a, np.float64), np.asarray(res.potential_b, np.float64)
                    if "X_a" in names:
                        out["X_a"] = _potential_grad(Xa, Xb, f, g, wa, wb, reg, metric, n_threads, not unbalanced)
                    if "X_b" in names:
                        out["X_b"] = _potential_grad(Xb, Xa, g, f, wb, wa, reg, metric, n_threads, not unbalanced)
                else:
                    P = res.plan_sparse if reg is None and lazy else res.plan
                    if "X_a" in names:
                        out["X_a"] = _plan_grad(Xa, Xb, P, metric)
                    if "X_b" in names:
                        out["X_b"] = _plan_grad(Xb, Xa, P.T, metric)
            if "a" in names or "b" in names:
                if unbalanced:
                    out["a"], out["b"] = _unbalanced_weight_grads(
                        np.asarray(res.marginal_a, np.float64), np.asarray(res.marginal_b, np.float64), wa, wb,
                        float(reg), *rho)
                else:
                    out["a"], out["b"] = _centred(res.potential_a), _centred(res.potential_b)
        for key in ("X_a", "X_b"):
            if key in out:
                out[key] = _shaped(out[key], X_a if key == "X_a" else X_b)
        return {k: v * scale for k, v in out.items() if k in names}

    return pullback


def samples_loss(X_a, X_b, a=None, b=None, *, loss="sinkhorn", p=2, blur=0.05, reach=None, diameter=None,
                 scaling=0.5, debias=True, lazy=None, n_threads=None):
    """GeomLoss's ``SamplesLoss(loss, p, blur, reach, ...)`` value (:func:`numbaot.samples_loss`) and its pullback
    in the points and the weights: 'sinkhorn' (cost ``|x - y|^p / p``; below), 'hausdorff'
    (:func:`hausdorff_loss`), 'energy', 'gaussian', 'laplacian' (:func:`kernel_loss`)."""
    from .entropic._schedules import epsilon_schedule, max_diameter
    from .entropic.divergence import solve_divergence
    from .losses import KERNELS, LOSSES

    if not isinstance(loss, str) or loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
    if loss in KERNELS:
        return kernel_loss(X_a, X_b, a, b, loss=loss, blur=blur, n_threads=n_threads)
    if loss == "hausdorff":
        return hausdorff_loss(X_a, X_b, a, b, p=p, blur=blur, reach=reach, diameter=diameter, scaling=scaling,
                              lazy=lazy, n_threads=n_threads)
    if isinstance(p, bool) or p not in (1, 2):
        raise ValueError(f"p must be 1 or 2 (cost |x - y|^p / p), got {p!r}")
    p = int(p)
    blur = V.check_reg(blur, "blur")
    Xa, Xb = V.check_points(X_a, "X_a"), V.check_points(X_b, "X_b")
    rho = None if reach is None else p * V.check_reg(reach, "reach") ** p
    scaling = V.check_open_unit(scaling, "scaling")
    diameter = max_diameter(Xa, Xb) if diameter is None else V.check_reg(diameter, "diameter")
    eps_list = [p * e for e in epsilon_schedule(p, diameter, blur, scaling)]
    metric = "sqeuclidean" if p == 2 else "euclidean"
    res = solve_divergence(Xa, Xb, a, b, reg=eps_list[-1], reg_m=rho, metric=metric, scaling=scaling,
                           debias=debias, tol=None, lazy=lazy, n_threads=n_threads, warn=False, eps_list=eps_list)
    if debias:
        pullback = _sample_pullback(res, X_a, X_b, a, b, metric, eps_list[-1], True, True, rho, n_threads,
                                    scale=1.0 / p)
    else:
        pullback = _annealed_pullback(res, X_a, X_b, a, b, metric, eps_list[-1], rho, n_threads, 1.0 / p)
    return float(res.value) / p, pullback


def _annealed_pullback(res, X_a, X_b, a, b, metric, eps, rho, n_threads, scale):
    """``OT_eps(a, b)`` (no debiasing) from the divergence solver: potentials f_ba, g_ab."""
    Xa, Xb = _as_points(X_a), _as_points(X_b)
    wa, wb = _weights(a, Xa.shape[0]), _weights(b, Xb.shape[0])

    def pullback(names):
        f, g = np.asarray(res.potential_a, np.float64), np.asarray(res.potential_b, np.float64)
        out = {}
        if "X_a" in names:
            out["X_a"] = _shaped(_potential_grad(Xa, Xb, f, g, wa, wb, eps, metric, n_threads, rho is None), X_a)
        if "X_b" in names:
            out["X_b"] = _shaped(_potential_grad(Xb, Xa, g, f, wb, wa, eps, metric, n_threads, rho is None), X_b)
        if rho is None:
            out["a"], out["b"] = _centred(f), _centred(g)
        else:
            # numbaot's unbalanced value is (rho + eps / 2) <a, 1 - exp(-f / rho)> + (same for b)
            w = rho + eps
            out["a"] = -w * np.expm1(-f / rho) - eps / 2
            out["b"] = -w * np.expm1(-g / rho) - eps / 2
        return {k: v * scale for k, v in out.items() if k in names}

    return pullback


# ----------------------------------------------------------------------------------------------------- 1D and sliced


def wasserstein_1d(u_values, v_values, u_weights=None, v_weights=None, p=1, *, n_threads=None):
    """``W_p^p`` between two 1D measures (:func:`numbaot.wasserstein_1d`) and its pullback from the quantile
    (monotone) coupling: ``u_i -> sum_j P_ij p |u_i - v_j|^(p-1) sign(u_i - v_j)``; the weights -> the coupling's
    centred dual potentials."""
    from .exact.api import emd_1d
    from .solvers import solve_sample as _solve_sample

    u, v = np.asarray(u_values), np.asarray(v_values)
    if u.ndim != 1 or v.ndim != 1:
        raise ValueError(f"u_values and v_values must be 1D here (one problem), got shapes {u.shape} and {v.shape}")
    p = V.check_p(p)
    P = emd_1d(u, v, u_weights, v_weights, metric="minkowski", p=p, dense=False, n_threads=n_threads)
    import scipy.sparse as sp

    coo = sp.coo_matrix(P)
    rows, cols, w = coo.row, coo.col, coo.data.astype(np.float64)
    diff = u.astype(np.float64)[rows] - v.astype(np.float64)[cols]
    value = float((w * np.abs(diff) ** p).sum())

    def pullback(names):
        out = {}
        term = w * p * np.abs(diff) ** (p - 1) * np.sign(diff) if p > 1 else w * np.sign(diff)
        if "u_values" in names:
            out["u_values"] = np.bincount(rows, term, minlength=u.shape[0])
        if "v_values" in names:
            out["v_values"] = -np.bincount(cols, term, minlength=v.shape[0])
        if "u_weights" in names or "v_weights" in names:
            metric = "sqeuclidean" if p == 2 else "euclidean" if p == 1 else None
            if metric is None:
                from .solvers import solve as _solve

                res = _solve(np.abs(u.astype(np.float64)[:, None] - v.astype(np.float64)[None, :]) ** p,
                             u_weights, v_weights)
            else:
                res = _solve_sample(u.astype(np.float64), v.astype(np.float64), u_weights, v_weights, metric)
            out["u_weights"], out["v_weights"] = _centred(res.potential_a), _centred(res.potential_b)
        return {k: out[k] for k in names if k in out}

    return value, pullback


def sliced_wasserstein_distance(X_s, X_t, a=None, b=None, n_projections=50, p=2, projections=None, seed=None, *,
                                n_threads=None):
    """The sliced ``SW_p`` (:func:`numbaot.sliced_wasserstein_distance`: the p-th root of the mean of ``W_p^p``
    over directions) and its pullback in the points (through each direction's monotone coupling) and the weights
    (each direction's centred 1D potentials)."""
    from .sliced.api import get_random_projections, sliced_wasserstein_distance as _swd

    Xs, Xt = _as_points(np.asarray(X_s)), _as_points(np.asarray(X_t))
    if projections is None:
        projections = get_random_projections(Xs.shape[1], n_projections, seed)
    theta = np.asarray(projections, np.float64)
    value = float(_swd(X_s, X_t, a, b, p=p, projections=projections, n_threads=n_threads))

    def pullback(names):
        L = theta.shape[1]
        gs, gt = np.zeros(Xs.shape), np.zeros(Xt.shape)
        ga, gb = np.zeros(Xs.shape[0]), np.zeros(Xt.shape[0])
        want_w = "a" in names or "b" in names
        wanted = ["u_values", "v_values"] + (["u_weights", "v_weights"] if want_w else [])
        for ell in range(L):
            u, v = Xs.astype(np.float64) @ theta[:, ell], Xt.astype(np.float64) @ theta[:, ell]
            _, pb = wasserstein_1d(u, v, a, b, p, n_threads=n_threads)
            g = pb(wanted)
            gs += np.outer(g["u_values"], theta[:, ell])
            gt += np.outer(g["v_values"], theta[:, ell])
            if want_w:
                ga += g["u_weights"]
                gb += g["v_weights"]
        # SW = (mean_l W_l)^(1/p): d SW = SW^(1 - p) / p * mean_l d W_l
        chain = 0.0 if value == 0 else value ** (1 - p) / (p * L)
        out = {"X_s": _shaped(gs * chain, X_s), "X_t": _shaped(gt * chain, X_t), "a": ga * chain, "b": gb * chain}
        return {k: out[k] for k in names if k in out}

    return value, pullback


# ----------------------------------------------------------------------------------------------------- GW, soft-DTW


def gromov_wasserstein2(C1, C2, p=None, q=None, *, max_iter=10000, tol_rel=1e-9, tol_abs=1e-9, n_threads=None,
                        warn=True):
    """The square-loss Gromov-Wasserstein value (:func:`numbaot.gromov_wasserstein2`) and its pullback in C1, C2
    (at the coupling found) and the weights (the linearised problem's centred potentials)."""
    from .exact.api import solve_exact
    from .gromov.api import gromov_wasserstein

    T = gromov_wasserstein(C1, C2, p, q, "square_loss", max_iter=max_iter, tol_rel=tol_rel, tol_abs=tol_abs,
                           n_threads=n_threads, warn=warn)
    T = np.asarray(T, np.float64)
    A, B = np.asarray(C1, np.float64), np.asarray(C2, np.float64)
    pp, qq = T.sum(axis=1), T.sum(axis=0)
    TBT = T @ B @ T.T
    value = float(((A * A) * np.outer(pp, pp)).sum() + ((B * B) * np.outer(qq, qq)).sum() - 2 * (A * TBT).sum())

    def pullback(names):
        out = {}
        if "C1" in names:
            out["C1"] = 2.0 * (A * np.outer(pp, pp) - TBT)
        if "C2" in names:
            out["C2"] = 2.0 * (B * np.outer(qq, qq) - T.T @ A @ T)
        if "p" in names or "q" in names:
            # gradient of the objective in T: sum_kl [(A_ik - B_jl)^2 + (A_ki - B_lj)^2] T_kl
            grad = ((A * A + A.T * A.T) / 2 @ pp)[:, None] + ((B * B + B.T * B.T) / 2 @ qq)[None, :]
            grad = 2.0 * (grad - (A @ T @ B.T + A.T @ T @ B))
            res = solve_exact(grad, pp, qq, None, n_threads, warn=False)[0]
            out["p"], out["q"] = _centred(res.potential_a), _centred(res.potential_b)
        return {k: out[k] for k in names if k in out}

    return value, pullback


def soft_dtw(X, Y, gamma=1.0):
    """soft-DTW (squared Euclidean frame cost) and its pullback in both series (the expected alignment)."""
    from .timeseries.api import soft_dtw_grad

    value, gx = soft_dtw_grad(X, Y, gamma)

    def pullback(names):
        out = {}
        if "X" in names:
            out["X"] = np.asarray(gx)
        if "Y" in names:
            out["Y"] = np.asarray(soft_dtw_grad(Y, X, gamma)[1])
        return out

    return float(value), pullback


# ----------------------------------------------------------------------------------- GeomLoss's other losses

#: the largest block of pairwise differences (rows x m x d float64 entries) the kernel gradients hold at once
_BLOCK_ENTRIES = 1 << 21


def _radial_grad(U, V, W, scalar):
    """``sum_j W_ij s(|u_i - v_j|) (u_i - v_j)`` (n, d) for a weight matrix ``W`` (n, m) given by blocks of rows
    (``W(rows)`` returns ``W[rows]``) and ``scalar(r2)`` the radial factor ``s`` from the squared distances: the
    gradient in ``u_i`` of ``sum_j W_ij k(u_i, v_j)`` for a radial kernel with ``grad k = s (u - v)``.
    Differences are formed block by block: O(block m d) memory, never (n, m, d)."""
    n, d = U.shape
    out = np.empty((n, d))
    step = max(1, _BLOCK_ENTRIES // max(1, V.shape[0] * d))
    for s in range(0, n, step):
        diff = U[s:s + step, None, :] - V[None, :, :]
        S = scalar(np.einsum("ijk,ijk->ij", diff, diff)) * W(slice(s, s + step))
        out[s:s + step] = np.einsum("ij,ijk->ik", S, diff)
    return out


def _kernel_scalar(kind, blur):
    """``s(r^2)`` with ``grad_x k(x, y) = s (x - y)`` for GeomLoss's kernels (0 at r = 0 for the non-smooth ones,
    as GeomLoss's clamped distances give)."""
    def inv_r(r2):
        r = np.sqrt(r2)
        return np.divide(1.0, r, out=np.zeros_like(r), where=r > 0), r

    if kind == "gaussian":
        return lambda r2: -np.exp(-0.5 * r2 / blur**2) / blur**2
    if kind == "laplacian":
        def laplacian(r2):
            inv, r = inv_r(r2)
            return -np.exp(-r / blur) * inv / blur
        return laplacian
    return lambda r2: -inv_r(r2)[0]


def kernel_loss(X_a, X_b, a=None, b=None, *, loss="energy", blur=0.05, n_threads=None):
    """GeomLoss's kernel norms ``0.5 <a - b, K (a - b)>`` ('energy', 'gaussian', 'laplacian';
    :func:`numbaot.samples_loss`) and their pullback.

    The value is a polynomial in the weights: ``d/da = K_xx a - K_xy b`` and ``d/db = K_yy b - K_yx a`` (GeomLoss's
    potentials; not centred, any weights are admitted). In the points,
    ``d/dx_i = a_i (sum_k a_k grad k(x_i, x_k) - sum_j b_j grad k(x_i, y_j))`` (the self term counts twice, which
    cancels the 1/2). Memory: the value is computed online (O(n + m)); the position gradients by blocks of rows,
    about 16 MiB of differences at a time.
    """
    from .losses import samples_loss as _samples_loss

    value, F, G = _samples_loss(X_a, X_b, a, b, loss=loss, blur=blur, potentials=True, n_threads=n_threads)
    Xa, Xb = np.asarray(_as_points(X_a), np.float64), np.asarray(_as_points(X_b), np.float64)
    wa, wb = _weights(a, Xa.shape[0]), _weights(b, Xb.shape[0])

    def pullback(names):
        out = {}
        scalar = _kernel_scalar(loss, float(blur))
        if "X_a" in names:
            g = (_radial_grad(Xa, Xa, lambda r: wa[r, None] * wa[None, :], scalar)
                 - _radial_grad(Xa, Xb, lambda r: wa[r, None] * wb[None, :], scalar))
            out["X_a"] = _shaped(g, X_a)
        if "X_b" in names:
            g = (_radial_grad(Xb, Xb, lambda r: wb[r, None] * wb[None, :], scalar)
                 - _radial_grad(Xb, Xa, lambda r: wb[r, None] * wa[None, :], scalar))
            out["X_b"] = _shaped(g, X_b)
        if "a" in names:
            out["a"] = np.asarray(F, np.float64)
        if "b" in names:
            out["b"] = np.asarray(G, np.float64)
        return out

    return float(value), pullback


def _pair_grad(U, V, W, C, metric):
    """``sum_j W_ij grad_u c(u_i, v_j)`` (n, d) for a dense weight matrix W (n, m) and the costs C = c(U, V):
    ``c = |u - v|^2`` ('sqeuclidean') or ``|u - v|`` ('euclidean', gradient 0 where u = v)."""
    if metric == "sqeuclidean":
        return 2.0 * (U * W.sum(axis=1)[:, None] - W @ V)
    S = np.divide(W, C, out=np.zeros_like(W), where=C > 0)
    return U * S.sum(axis=1)[:, None] - S @ V


def _softmin_rows(C, log_w, g, eps):
    """``-eps log sum_j w_j exp((g_j - C_ij) / eps)`` for every row i (float64)."""
    Z = log_w[None, :] + (g[None, :] - C) / eps
    top = Z.max(axis=1, keepdims=True)
    return -eps * (top[:, 0] + np.log(np.exp(Z - top).sum(axis=1)))


def _entropy_cross_terms(U, wu, P, w, g, C_pp, C_up, eps, metric, cg_tol=1e-12):
    """``A(wu, U; w, P) = <wu, f_w(U)>``: the self-potential ``g`` of the measure (w, P) (``g = softmin(C_pp, w,
    g)``, balanced) extended by the softmin to the points U and summed against wu, with its gradients in
    (wu, U, w, P), by implicit differentiation of the self-problem's fixed point:
    ``(diag(w) + Q) u = Pi^T 1`` with ``Q = w w^T o exp((g + g^T - C_pp) / eps)`` (symmetric positive definite on
    the support of w; conjugate gradients preconditioned by diag(w): its spectrum lies in [1, 2])."""
    from scipy.sparse.linalg import LinearOperator, cg

    with np.errstate(divide="ignore"):
        log_w = np.log(w)
    f_ext = _softmin_rows(C_up, log_w, g, eps)
    Et = np.exp((f_ext[:, None] + g[None, :] - C_up) / eps)  # (nu, m): R_il / w_l
    Pi = wu[:, None] * Et * w[None, :]
    E = np.exp((g[:, None] + g[None, :] - C_pp) / eps)  # (m, m): S_kl / w_l
    col = Pi.sum(axis=0)
    on = w > 0
    Q = (w[on, None] * E[np.ix_(on, on)]) * w[None, on]
    d = w[on]
    op = LinearOperator(Q.shape, matvec=lambda v: d * v + Q @ v, dtype=np.float64)
    pre = LinearOperator(Q.shape, matvec=lambda v: v / (2.0 * d), dtype=np.float64)
    sol, info = cg(op, col[on], rtol=cg_tol, atol=0.0, maxiter=20 * Q.shape[0] + 100, M=pre)
    _warn_cg(info, "the Hausdorff loss's gradient (the self-potential's implicit system)")
    z = np.zeros_like(w)
    z[on] = d * sol
    Z = z[:, None] * E * w[None, :]
    grads = {
        "wu": f_ext,
        "w": eps * (E @ z - Et.T @ wu),
        "U": _pair_grad(U, P, Pi, C_up, metric),
        "P": _pair_grad(P, U, Pi.T, C_up.T, metric) - _pair_grad(P, P, Z + Z.T, C_pp, metric),
    }
    return float(wu @ f_ext), grads


def _self_terms(w, P, g, C_pp, eps, metric):
    """``<w, g>`` for the self-potential g of (w, P) and its gradients: ``g - eps / 2`` in w and
    ``sum_k Q_ik grad c(p_i, p_k)`` in the points (Q the self plan)."""
    with np.errstate(divide="ignore"):
        Q = w[:, None] * np.exp((g[:, None] + g[None, :] - C_pp) / eps) * w[None, :]
    return float(w @ g), {"w": g - eps / 2.0, "P": _pair_grad(P, P, Q, C_pp, metric)}


def _reach_terms(w, P, g, C_pp, u, U, C_up, eps, rho, metric, cg_tol=1e-12):
    """The terms of the unbalanced Hausdorff divergence that involve the self-potential ``g`` of the measure
    (w, P): ``T = <w, phi(g)> - <u, phi(f_w(U))>`` with ``phi(f) = exp(-f / rho)``, ``g = d softmin(C_pp, w, g)``
    (``d = rho / (rho + eps)``) and ``f_w(U) = d softmin(C_up, w, g)`` its extension to the other measure's
    points U; returns the gradients of T in (w, P, u, U).

    Implicit differentiation of the damped fixed point: with ``M = w w^T o exp((g + g^T - C_pp) / eps)``, whose
    rows sum to ``D = w phi(g)`` at the fixed point, ``(D + d M) dg = -d eps w o (E dw) + d (M o dC_pp) 1``
    (symmetric positive definite on the support of w: conjugate gradients preconditioned by D, spectrum in
    [1, 1 + d] for the positive definite Gibbs kernels of both metrics). T's coefficient on dg, ``c = -w phi(g) /
    rho - d R^T t`` (``R`` the extension's row-normalised weights, ``t = u phi(f_w(U)) / rho``), is pulled back
    through that system once."""
    from scipy.sparse.linalg import LinearOperator, cg

    d = rho / (rho + eps)
    with np.errstate(divide="ignore"):
        log_w = np.log(w)
    f_ext = d * _softmin_rows(C_up, log_w, g, eps)
    phi_g, phi_f = np.exp(-g / rho), np.exp(-f_ext / rho)
    Et = np.exp((g[None, :] - C_up) / eps + f_ext[:, None] / (d * eps))  # (nu, m): R_jk / w_k
    t = u * phi_f / rho
    Pi = d * t[:, None] * Et * w[None, :]  # T's coefficient on C_up is -Pi
    E = np.exp((g[:, None] + g[None, :] - C_pp) / eps)  # (m, m): M_kl / (w_k w_l)
    on = w > 0
    c = -(w * phi_g)[on] / rho - Pi.sum(axis=0)[on]
    Q = (w[on, None] * E[np.ix_(on, on)]) * w[None, on]
    D = (w * phi_g)[on]
    op = LinearOperator(Q.shape, matvec=lambda v: D * v + d * (Q @ v), dtype=np.float64)
    pre = LinearOperator(Q.shape, matvec=lambda v: v / D, dtype=np.float64)
    sol, info = cg(op, c, rtol=cg_tol, atol=0.0, maxiter=20 * Q.shape[0] + 100, M=pre)
    _warn_cg(info, "the Hausdorff loss's gradient (the self-potential's implicit system)")
    z = np.zeros_like(w)
    z[on] = sol
    Z = d * (z * w)[:, None] * E * w[None, :]
    return {
        "w": phi_g - d * eps * (E @ (w * z)) - d * eps * (Et.T @ t),
        "P": _pair_grad(P, P, Z + Z.T, C_pp, metric) + _pair_grad(P, U, Pi.T, C_up.T, metric),
        "u": -phi_f,
        "U": _pair_grad(U, P, Pi, C_up, metric),
    }


def _hausdorff_reach(Xa, Xb, wa, wb, eps, rho, C_aa, C_bb, C_ab, metric, scale):
    """The unbalanced Hausdorff divergence at the converged damped self fixed points and its pullback (see
    :func:`_reach_terms`); ``scale`` converts to GeomLoss's units (``(rho + eps) / (2 p)``)."""
    d = rho / (rho + eps)
    with np.errstate(divide="ignore"):
        log_a, log_b = np.log(wa), np.log(wb)
    f_aa = _self_fixed_point(C_aa, log_a, eps, damping=d)
    g_bb = _self_fixed_point(C_bb, log_b, eps, damping=d)
    f_ba = d * _softmin_rows(C_ab, log_b, g_bb, eps)
    g_ab = d * _softmin_rows(C_ab.T, log_a, f_aa, eps)
    F = np.expm1(-f_aa / rho) - np.expm1(-f_ba / rho)
    G = np.expm1(-g_bb / rho) - np.expm1(-g_ab / rho)
    on_a, on_b = wa > 0, wb > 0
    value = scale * (wa[on_a] @ F[on_a] + wb[on_b] @ G[on_b])

    def pullback(names):
        ta = _reach_terms(wa, Xa, f_aa, C_aa, wb, Xb, C_ab.T, eps, rho, metric)  # a's self-potential's terms
        tb = _reach_terms(wb, Xb, g_bb, C_bb, wa, Xa, C_ab, eps, rho, metric)
        return {"X_a": scale * (ta["P"] + tb["U"]), "X_b": scale * (tb["P"] + ta["U"]),
                "a": scale * (ta["w"] + tb["u"]), "b": scale * (tb["w"] + ta["u"])}

    return float(value), pullback


def hausdorff_loss(X_a, X_b, a=None, b=None, *, p=2, blur=0.05, reach=None, diameter=None, scaling=0.5, lazy=None,
                   n_threads=None):
    """The Hausdorff divergence ``H = (<a, f_ba - f_aa> + <b, g_ab - g_bb>) / 2`` (:func:`numbaot.samples_loss`
    with ``loss='hausdorff'``) and its pullback, balanced or with KL penalties (``reach``).

    ``H = (<a, f_b(x)> + <b, f_a(y)> - <a, f_aa> - <b, g_bb>) / 2`` where ``f_b`` is b's self-potential extended to
    any point by the softmin. The self terms follow the envelope theorem; the cross terms depend on the other
    measure's self-potential, whose derivative is the implicit one of its fixed point (one symmetric positive
    definite system of each cloud's size, solved by preconditioned conjugate gradients).

    **Value and gradient are of the same function**: for balanced measures the returned value is ``H`` at the
    *converged* self fixed points at the final ``eps`` (float64 averaged iterations to a relative 1e-13), the
    points where the gradient is taken. It therefore differs from :func:`numbaot.samples_loss`'s (and GeomLoss's)
    value, which stops its annealing schedule (``scaling``) after a fixed number of steps without a tolerance, by
    that schedule's annealing error (about 1e-2 relative at the default ``scaling=0.5`` for a few points, 1e-5 at
    0.99): differentiating the annealed estimate exactly would differentiate the schedule, and the converged
    divergence is the quantity the schedule approximates. For clouds too large for the dense pullback (dense
    (n + m)^2 float64 matrices, beyond the size the solvers' dense paths take) the value is the solver's annealed
    one and the pullback raises ValueError (use ``torch.no_grad()`` there).

    **With** ``reach`` (``rho = reach^p``, damping ``d = rho / (rho + eps)``): ``H = (rho + eps) / 2 (<a, phi(f_aa)
    - phi(f_ba)> + <b, phi(g_bb) - phi(g_ab)>)`` with ``phi(f) = exp(-f / rho)`` and the damped self-potentials
    (:func:`numbaot.entropic.divergence.hausdorff_divergence`), again at the converged fixed points; every
    potential now enters through phi, so each self-potential's terms are pulled back through its damped fixed
    point's implicit system (:func:`_reach_terms`), envelope theorem or not. The weights' gradients are not
    centred (any masses are admitted).
    """
    from . import _validation as V
    from ._costs import cost_matrix
    from .entropic._schedules import epsilon_schedule, max_diameter
    from .losses import samples_loss as _samples_loss

    # the solver validates every argument (and gives the annealed value, kept where there is no gradient)
    annealed = _samples_loss(X_a, X_b, a, b, loss="hausdorff", p=p, blur=blur, reach=reach, diameter=diameter,
                             scaling=scaling, lazy=lazy, n_threads=n_threads)
    Xa, Xb = np.asarray(_as_points(X_a), np.float64), np.asarray(_as_points(X_b), np.float64)
    n, m = Xa.shape[0], Xb.shape[0]
    pp = int(p)
    try:
        V.check_dense_size((n + m, n + m), 8, what="the Hausdorff loss's gradient (dense matrices)")
    except ValueError as err:  # too large for the dense pullback: the annealed value, no gradient
        def too_large(names, err=err):
            raise ValueError(str(err)) from None

        return float(annealed), too_large
    if reach is None:
        wa, wb = V.check_balanced_weights(a, b, n, m)
    else:
        wa, wb = V.check_weights(a, "a", n), V.check_weights(b, "b", m)
    wa, wb = np.asarray(wa, np.float64), np.asarray(wb, np.float64)
    diam = max_diameter(Xa, Xb) if diameter is None else float(diameter)
    eps = pp * epsilon_schedule(pp, diam, float(blur), float(scaling))[-1]
    metric = "sqeuclidean" if pp == 2 else "euclidean"
    C_aa, C_bb, C_ab = (np.asarray(cost_matrix(U, W, metric, 2.0, n_threads, np.float64), np.float64)
                        for U, W in ((Xa, Xa), (Xb, Xb), (Xa, Xb)))
    if reach is not None:
        rho = pp * float(reach) ** pp  # numbaot's costs have no 1/p: rho and eps are p times GeomLoss's
        value, pull = _hausdorff_reach(Xa, Xb, wa, wb, eps, rho, C_aa, C_bb, C_ab, metric, (rho + eps) / (2 * pp))

        def pullback(names):
            out = pull(names)
            out["X_a"], out["X_b"] = _shaped(out["X_a"], X_a), _shaped(out["X_b"], X_b)
            return {k: out[k] for k in names if k in out}

        return value, pullback
    with np.errstate(divide="ignore"):
        log_a, log_b = np.log(wa), np.log(wb)
    f_aa, g_bb = _self_fixed_point(C_aa, log_a, eps), _self_fixed_point(C_bb, log_b, eps)
    f_ba = _softmin_rows(C_ab, log_b, g_bb, eps)
    g_ab = _softmin_rows(C_ab.T, log_a, f_aa, eps)
    scale = 0.5 / pp  # the cost |x - y|^p / p: values and eps in units of |x - y|^p, divided by p
    on_a, on_b = wa > 0, wb > 0
    value = scale * (wa[on_a] @ (f_ba - f_aa)[on_a] + wb[on_b] @ (g_ab - g_bb)[on_b])

    def pullback(names):
        _, ab = _entropy_cross_terms(Xa, wa, Xb, wb, g_bb, C_bb, C_ab, eps, metric)    # <a, f_b(x)>
        _, ba = _entropy_cross_terms(Xb, wb, Xa, wa, f_aa, C_aa, C_ab.T, eps, metric)  # <b, f_a(y)>
        _, sa = _self_terms(wa, Xa, f_aa, C_aa, eps, metric)
        _, sb = _self_terms(wb, Xb, g_bb, C_bb, eps, metric)
        out = {"X_a": _shaped(scale * (ab["U"] + ba["P"] - sa["P"]), X_a),
               "X_b": _shaped(scale * (ba["U"] + ab["P"] - sb["P"]), X_b),
               "a": _centred(scale * (ab["wu"] + ba["w"] - sa["w"])),
               "b": _centred(scale * (ba["wu"] + ab["w"] - sb["w"]))}
        return {k: out[k] for k in names if k in out}

    return float(value), pullback


def _self_fixed_point(C, log_w, eps, tol=1e-13, max_iter=10000, damping=1.0):
    """The symmetric self-potential ``g = damping * softmin(C, w, g)`` (balanced: ``damping`` 1; KL penalties of
    strength rho: ``rho / (rho + eps)``), by averaged updates from the softmin of zero; float64, for the pullbacks
    (the forward value is the solver's)."""
    g = damping * _softmin_rows(C, log_w, np.zeros(C.shape[0]), eps)
    for _ in range(max_iter):
        new = 0.5 * (g + damping * _softmin_rows(C, log_w, g, eps))
        if np.max(np.abs(new - g)) <= tol * max(1.0, np.max(np.abs(g))):
            return new
        g = new
    import warnings

    from ._status import ConvergenceWarning

    warnings.warn(f"the Hausdorff loss's self-potential (fixed point at eps={eps:g}) did not converge in {max_iter} "
                  f"averaged iterations (tolerance {tol:g}); its value and gradient are approximate",
                  ConvergenceWarning, stacklevel=2)
    return g


# ----------------------------------------------------------------------------------------------------- barycenters

def barycenter(A, M, reg, weights=None, *, debias=False, reg_m=None, method="sinkhorn_log", max_iter=10000,
               tol=None, n_threads=None, warn=True):
    """The entropic barycenter ``x`` (m,) of the histograms ``A`` (n, K) on a fixed support (:func:`numbaot.
    barycenter`, iterative Bregman projections) and its vector-Jacobian product ``vjp(names, x_bar)`` in ``A``,
    ``M`` and ``weights``, by **implicit differentiation** of the fixed point that the iterations converge to.

    With ``P_k = exp((f_k + g_k - M) / reg)`` the optimality conditions are ``P_k 1 = a_k``, ``P_k^T 1 = x`` (every
    k) and ``sum_k w_k g_k = 0``. Linearised in ``(r_k o df_k / reg, dg_k / reg, dx)`` (the scaling keeps rows with
    ``a_ki = 0`` regular) they form one square system of ``K (n + m) + m`` unknowns, singular only along the
    potentials' K - 1 gauge directions (``f_k + c_k``, ``g_k - c_k``, ``sum w_k c_k = 0``). Its adjoint, the
    potentials eliminated, is ``(sum_k w_k S_k^+) mu = x_bar - mean(x_bar)`` with ``S_k = diag(x) - P_k^T
    diag(1 / a_k) P_k`` (the graph Laplacian of plan k's column couplings; ``^+``: pseudo-inverse on the vectors of
    zero sum); then ``nu_k = -w_k S_k^+ mu - mean(x_bar) / K``, ``A_bar[:, k] = -alpha_k nu_k`` (``alpha_k`` plan k
    with rows normalised) and ``M_bar = sum_k P_k o (A_bar[:, k] 1^T + 1 nu_k^T) / reg``. Why implicit and not
    unrolled: the iterations number in the thousands at small ``reg`` (unrolling would keep every iterate and
    differentiate the stopping test too), while the fixed point's derivative costs a few dense m x m
    factorisations whatever the iteration count, and is exact at convergence (the solver's ``tol``). Cost:
    O(K (n m^2 + m^3)) time, O(K n m + K m^2) memory (dense plans, as the solver's). The gradient in ``A`` is
    defined up to one constant per input whose sum is zero (the inputs' masses must stay equal): each column is
    returned centred, plus the mean of the columns' means (so scaling every input is seen correctly). The weights
    enter the last condition only: ``weights_bar_k = -<mu3, g_k> / reg`` (``mu3`` that condition's multiplier),
    returned as the derivative of ``x(weights / sum(weights))`` (the front-end normalises them), so that
    ``<weights, weights_bar> = 0``.

    **Debiased** (``debias=True``, :func:`numbaot.barycenter_debiased`) and **unbalanced** (``reg_m``,
    :func:`numbaot.barycenter_unbalanced`): implicit differentiation too, of the fixed point of the same iteration
    (for the debiased one the self-transport potential's condition joins the system; for the unbalanced one the
    damped half-steps and the power-mean update replace the balanced ones), in ``A``, ``M`` and ``weights``: one
    dense system of ``(K + 1) m`` (debiased ``(K + 2) m``) unknowns, solved by its SVD (:func:`_bregman_vjp`),
    O(K n m^2 + ((K + 2) m)^3) time. Where the fixed point is not differentiable:

    * an entry ``A[i, k] = 0`` of an **unbalanced** input: the plan's row i grows like ``A[i, k] ** tau``
      (``tau = reg_m / (reg_m + reg)`` < 1), so the derivative from above is infinite; ``A_bar[i, k]`` is that
      one-sided limit, ``+-inf`` (0 where the row does not move the output). Balanced and debiased inputs have a
      finite one-sided derivative there (the row's mass is linear in ``A[i, k]``), which is returned;
    * cells whose barycenter mass underflowed to 0 stay at 0 (the iteration cannot move them): constants, gradient 0;
    * a debiased barycenter of sharp inputs at a small ``reg``, where the iteration converges slowly or not at all
      (its status says so): its fixed point is (nearly) not unique, the system (nearly) singular beyond the
      potentials' gauge, and the gradient is the least-squares one, with a ConvergenceWarning.
    """
    from .barycenters.api import solve_barycenter

    _refuse_debiased_unbalanced(debias, reg_m)
    res = solve_barycenter(A, M, reg, weights, reg_m=reg_m, debias=debias, method=method, max_iter=max_iter,
                           tol=tol, n_threads=n_threads, warn=warn)
    g = np.asarray(res.potential_b, np.float64)

    def vjp(names, x_bar):
        return barycenter_vjp(A, M, g, reg, weights, names, x_bar, debias=debias, reg_m=reg_m)

    vjp.potential_b = g  # what numbaot.jax keeps between its forward and backward passes
    return np.asarray(res.barycenter), vjp


def _refuse_debiased_unbalanced(debias, reg_m):
    """Debiased *and* unbalanced together: the solver adds the debiasing potential after the damped power mean,
    which :func:`_bregman_vjp`'s system does not model (its gradient was off by 8x in a review's finite-difference
    check), so the pair is refused rather than differentiated wrongly."""
    rho = _rho_pair(reg_m)
    if debias and rho is not None and not np.isinf(rho[0]):
        raise V.UnsupportedOption("debias=True with a finite reg_m: the gradient of the debiased unbalanced "
                                "barycenter is not available; differentiate debias=True (balanced) or reg_m "
                                "(without debias), or call numbaot.barycenter_debiased/barycenter_unbalanced "
                                "without gradients")


def barycenter_vjp(A, M, g, reg, weights, names, x_bar, *, debias=False, reg_m=None):
    """The vector-Jacobian product of :func:`barycenter` at its solution, given by the column potentials ``g``
    (K, m) (``BarycenterResult.potential_b``): a dict of ``A_bar`` (n, K), ``M_bar`` (n, m) and ``weights_bar``
    (K,) for ``names`` (among 'A', 'M', 'weights'); ``debias`` and ``reg_m`` as the barycenter was solved
    (:func:`_bregman_vjp` for those two)."""
    _refuse_debiased_unbalanced(debias, reg_m)
    A64 = np.asarray(A, np.float64)
    A64 = A64[:, None] if A64.ndim == 1 else A64
    M64 = np.asarray(M, np.float64)
    g = np.asarray(g, np.float64)
    K = A64.shape[1]
    w = np.full(K, 1.0 / K) if weights is None else np.asarray(weights, np.float64)
    eps = float(reg)
    x_bar = np.asarray(x_bar, np.float64).reshape(-1)
    rho = _rho_pair(reg_m)
    tau = 1.0 if rho is None or np.isinf(rho[0]) else rho[0] / (rho[0] + eps)
    if debias or tau != 1.0:
        out = _bregman_vjp(A64, M64, g, eps, w, tau, bool(debias), names, x_bar)
        if "A" in out:
            out["A"] = out["A"].reshape(A64.shape if np.ndim(A) == 2 else np.shape(A))
        return out
    m = M64.shape[1]
    Z = (g[:, None, :] - M64[None]) / eps  # (K, n, m)
    Z -= Z.max(axis=2, keepdims=True)
    alpha = np.exp(Z)
    alpha /= alpha.sum(axis=2, keepdims=True)  # row softmax: the plans' rows over their masses
    P = A64.T[:, :, None] * alpha  # (K, n, m)
    c = P.sum(axis=1)  # (K, m)
    x = np.maximum(w @ c, 0.0)  # the barycenter (every c_k equals it at the fixed point)
    on = x > 1e-300 * x.sum()  # cells whose mass underflows: no coupling, their gradient is 0

    # the adjoint system, the potentials eliminated: S_k = diag(c_k) - P_k^T alpha_k (the graph Laplacian of the
    # k-th plan's column couplings), (sum_k w_k S_k^+) mu3 = x_bar - mean(x_bar), mu2_k = -w_k S_k^+ mu3 + t 1,
    # mu1_k = -alpha_k mu2_k (t = -mean(x_bar) / K: the barycenter's mass follows the inputs'). With D = diag(x)
    # (every c_k equals x at the fixed point), S_k^+ = Pi D^-1/2 N_k^+ D^-1/2 Pi (Pi the centring) where
    # N_k = D^-1/2 S_k D^-1/2 is the normalised Laplacian (spectrum in [0, 2] whatever the cells' masses, null
    # vector sqrt(x)); N_k^+ by eigenvalues (scipy's pinvh), on the cells with mass: a small reg (cells of mass
    # 1e-30, near-disconnected couplings) gives no singular solve. Then with G = sum_k w_k N_k^+:
    # Pi mu3 = D^1/2 G^+ D^1/2 (v + s 1) (+ r x), s = -<x, v> / sum(x), and S_k^+ mu3 = Pi D^-1/2 N_k^+ G^+ rhs.
    from scipy.linalg import pinvh

    h = np.sqrt(x[on])
    N_pinv = []
    for k in range(K):
        S_k = np.diag(c[k]) - P[k].T @ alpha[k]
        N_pinv.append(pinvh(S_k[np.ix_(on, on)] / h[:, None] / h[None, :]))
    G = sum(w[k] * N_pinv[k] for k in range(K))
    v = x_bar - x_bar.mean()
    s_shift = -(x[on] @ v[on]) / x[on].sum()
    y = pinvh(G) @ (h * (v[on] + s_shift))

    def S_pinv_mu3(k):
        out = np.zeros(m)
        out[on] = N_pinv[k] @ y / h
        return out - out.mean()

    t = -x_bar.mean() / K
    mu2 = np.stack([-w[k] * S_pinv_mu3(k) + t for k in range(K)])  # (K, m)
    mu1 = -np.einsum("kij,kj->ki", alpha, mu2)  # (K, n)
    out = {}
    if "weights" in names:
        # the weights enter only the barycentric condition sum_k w_k g_k / reg = 0, whose multiplier is mu3:
        # w_bar_k = -<mu3, g_k> / reg (mu3 sums to 0, so the potentials' gauge does not matter); the front-end
        # divides the weights by their sum, so the derivative of x(w / sum(w)) is returned: w_bar - <w, w_bar>
        mu3 = np.zeros(m)
        mu3[on] = h * y
        w_bar = -(g @ mu3) / eps
        out["weights"] = w_bar - w @ w_bar
    if "A" in names:
        means = mu1.mean(axis=1, keepdims=True)
        out["A"] = (mu1 - means + means.mean()).T.reshape(A64.shape if np.ndim(A) == 2 else np.shape(A))
    if "M" in names:
        out["M"] = np.einsum("kij,kij->ij", P, mu1[:, :, None] + mu2[:, None, :]) / eps
    return out


#: Bound on the memory of :func:`_bregman_vjp`'s dense system and its SVD (bad input 31: refused before allocating).
_BREGMAN_VJP_BYTES = 2**31


def _bregman_vjp(A64, M64, g, eps, w, tau, debias, names, x_bar):
    """The vector-Jacobian product of the debiased (``debias``) or unbalanced (``tau = rho / (rho + eps) < 1``)
    barycenter, by implicit differentiation of the fixed point of the solver's iteration (``numbaot.barycenters``'
    log-domain loop), written in the unitless potentials ``u_k = f_k / eps`` (n), ``v_k = g_k / eps`` (m), the log
    barycenter ``y`` (m) and, debiased, the debiasing potential ``d`` (m):

    * ``u_k = tau (log a_k - Lr_k)``, ``Lr_ki = log sum_j exp(v_kj - M_ij / eps)`` (the row half-step);
    * ``v_k = tau (y - Lc_k)``, ``Lc_kj = log sum_i exp(u_ki - M_ij / eps)`` (the column half-step);
    * ``y = sum_k w_k Lc_k + d`` (tau = 1) or ``y = log(sum_k w_k exp((1 - tau) Lc_k)) / (1 - tau)`` (the
      barycenter's update; ``d = 0`` unless debiased);
    * debiased: ``d_j + log sum_i exp(d_i - M_ij / eps) = y_j`` (Janati et al. 2020's self-transport potential).

    Everything is rebuilt from ``g`` (what :mod:`numbaot.jax` keeps): ``u`` from the first line (exact), ``y`` from
    the third (``d = sum_k w_k v_k`` is how the solver aims the column potentials). The rows ``u`` are eliminated
    (their block is the identity), leaving one dense system of ``(K + 1) m`` (``+ m`` debiased) unknowns, solved in
    the least-squares sense by its SVD: at tau = 1 it is singular along the potentials' K - 1 gauge directions
    (``v_k + c_k``, ``sum_k w_k c_k = 0``), which the right side does not see; a further null direction (a fixed
    point that is not locally unique) gives a ConvergenceWarning (with neither, it is the plain barycenter's
    system, which :func:`barycenter_vjp` solves by a cheaper elimination). Cost O(K n m^2 + ((K + 2) m)^3) time,
    O(K n m + K m^2) memory."""
    from scipy.linalg import svd
    from scipy.special import logsumexp

    K = A64.shape[1]
    n, m = M64.shape
    Ce = M64 / eps
    v = g / eps  # (K, m)
    with np.errstate(divide="ignore"):
        log_a = np.log(A64.T)  # (K, n), -inf on empty entries
        log_w = np.log(w)
    Zr = v[:, None, :] - Ce[None]
    Lr = logsumexp(Zr, axis=2)  # (K, n)
    alpha = np.exp(Zr - Lr[:, :, None])  # the plans' rows over their masses
    u = tau * (log_a - Lr)
    Zc = u[:, :, None] - Ce[None]
    Lc = logsumexp(Zc, axis=1)  # (K, m)
    beta = np.exp(Zc - Lc[:, None, :])  # the plans' columns over their masses (0 on empty rows)
    if tau == 1.0:
        pi = np.repeat(w[:, None], m, axis=1)  # d y / d Lc_k
        y = w @ (v + Lc)
        dphi_dw = Lc  # d y / d w_k
    else:
        T = log_w[:, None] + (1.0 - tau) * Lc
        log_S = logsumexp(T, axis=0)
        pi = np.exp(T - log_S)
        y = log_S / (1.0 - tau)
        dphi_dw = np.exp((1.0 - tau) * Lc - log_S) / (1.0 - tau)
    # cells whose mass underflowed to 0 (y = -inf: the iteration keeps them there) are constants of the system
    on = np.isfinite(y) & np.isfinite(v).all(axis=0)
    q = int(on.sum())
    Q = np.einsum("kij,kil->kjl", beta[:, :, on], alpha[:, :, on])  # (K, q, q): d Lc_k = -tau Q_k d v_k (u_k out)
    size = (K + 1 + int(debias)) * q
    need = 4 * 8 * size * size  # the system, its transpose's SVD factors U and Vt, and the workspace
    if need > _BREGMAN_VJP_BYTES:
        raise MemoryError(f"the {'debiased' if debias else 'unbalanced'} barycenter's gradient solves a dense system "
                          f"of {size} unknowns ((K + {1 + int(debias)}) x {q} support cells), about "
                          f"{need / 2**30:.1f} GiB (at most {_BREGMAN_VJP_BYTES / 2**30:.0f} GiB): use fewer bins or "
                          "histograms, or the plain barycenter, whose gradient eliminates the system per histogram")
    S = np.zeros((size, size))
    eye = np.eye(q)
    Y = slice(K * q, (K + 1) * q)
    for k in range(K):
        V = slice(k * q, (k + 1) * q)
        S[V, V] = eye - tau * tau * Q[k]
        S[V, Y] = -tau * eye
        S[Y, V] = tau * pi[k, on][:, None] * Q[k]
    S[Y, Y] = eye
    if debias:
        D = slice((K + 1) * q, size)
        d = w @ v
        with np.errstate(invalid="ignore"):
            Zd = d[:, None] - Ce  # (i, j)
        Zd[~on] = -np.inf
        Zd = Zd[:, on]
        gamma = np.zeros((m, m))
        gamma[:, on] = np.exp(Zd - logsumexp(Zd, axis=0)[None])  # (i, j), columns sum to 1
        S[Y, D] = -eye
        S[D, D] = eye + gamma[np.ix_(on, on)].T
        S[D, Y] = -eye
    rhs = np.zeros(size)
    rhs[Y] = np.exp(y[on]) * x_bar[on]
    # least squares by the SVD: at tau = 1 the K - 1 gauge directions are exact null vectors; any further
    # (near-)null direction means the fixed point is not locally unique (the solver converges slowly or not at all
    # there: sharp inputs at a small reg, debiased), and the gradient is approximate
    U, sv, Vt = svd(S.T, lapack_driver="gesdd")
    keep = sv > 1e-13 * sv[0]
    gauge = K - 1 if tau == 1.0 else 0
    if sv.shape[0] > gauge and sv[sv.shape[0] - 1 - gauge] <= 1e-10 * sv[0]:
        import warnings

        from ._status import ConvergenceWarning

        kind = "debiased" if debias else ("unbalanced" if tau != 1.0 else "entropic")
        warnings.warn(f"the {kind} barycenter's fixed point is (nearly) singular "
                      f"(condition {sv[0] / sv[sv.shape[0] - 1 - gauge]:.3g} beyond the potentials' gauge): the "
                      "barycenter is not locally unique there, so its gradient is approximate (a larger reg, or "
                      "smoother inputs, make it well defined)", ConvergenceWarning, stacklevel=3)
    lam = Vt[keep].T @ ((U[:, keep].T @ rhs) / sv[keep])
    lam2 = np.zeros((K, m))
    lam2[:, on] = lam[:K * q].reshape(K, q)
    lam3 = np.zeros(m)
    lam3[on] = lam[Y]
    r = tau * lam2 - pi * lam3[None]  # (K, m)
    lam1 = -np.einsum("kij,kj->ki", beta, r)  # (K, n): the rows' multipliers
    out = {}
    if "A" in names:
        # d u_ki / d a_ki = tau / a_ki; with beta_kij / a_ki written in logs the empty entries are the limit a -> 0+:
        # finite at tau = 1 (a row's mass is linear in a_ki), infinite when tau < 1 (a_ki^tau): see the callers
        s = np.einsum("kij,kj->ki", np.exp(-tau * Lr[:, :, None] - Ce[None] - Lc[:, None, :]), r)
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.power(A64.T, tau - 1.0)
            A_bar = np.where(s == 0.0, 0.0, -tau * scale * s)
        if tau == 1.0:  # the inputs' masses are tied: one constant per input, of zero sum, is not seen
            means = A_bar.mean(axis=1, keepdims=True)
            A_bar = A_bar - means + means.mean()
        out["A"] = A_bar.T
    if "M" in names:
        M_bar = (tau * np.einsum("ki,kij->ij", lam1, alpha) + np.einsum("kij,kj->ij", beta, r)) / eps
        if debias:
            lam4 = np.zeros(m)
            lam4[on] = lam[D]
            M_bar += gamma * lam4[None, :] / eps
        out["M"] = M_bar
    if "weights" in names:
        w_bar = dphi_dw @ lam3
        out["weights"] = w_bar - w @ w_bar
    return out


def barycenter_1d(x_list, a_list=None, weights=None):
    """The free-support W2 barycenter on the line (:func:`numbaot.barycenter_1d`: its quantile function is the
    weighted average of the inputs') and the vector-Jacobian product of its support in the inputs' points.

    Returns ``(support (L,), masses (L,), vjp)``. Support point l is ``sum_k weights_k x_k[i_kl]`` where ``i_kl`` is
    input k's point at the quantile level of l: a linear map with constant coefficients away from ties, so
    ``vjp(names, s_bar)`` gives ``x_k -> weights_k * sum_{l: i_kl = i} s_bar_l`` (``names``: ``'x_list0'``, ...).
    The masses are piecewise constant in the points (no gradient); the weights ``a_list`` get none here.
    """
    from . import _validation as V
    from .barycenters.api import barycenter_1d as _barycenter_1d

    res = _barycenter_1d(x_list, a_list, weights)
    K = len(x_list)
    w = V.check_barycenter_weights(weights, K)
    orders, cums = [], []
    for k, x in enumerate(x_list):
        x = np.asarray(x, np.float64)
        a = V.check_weights(None if a_list is None else a_list[k], f"a_list[{k}]", x.shape[0]).astype(np.float64)
        order = np.argsort(x, kind="stable")
        orders.append(order)
        cums.append(np.cumsum(a[order]) / a.sum())
    levels = np.unique(np.concatenate([[0.0]] + [np.minimum(c, 1.0) for c in cums] + [[1.0]]))
    mass = np.diff(levels)
    mid = ((levels[:-1] + levels[1:]) / 2)[mass > 0]
    picks = [order[np.minimum(np.searchsorted(c, mid), order.shape[0] - 1)] for order, c in zip(orders, cums)]

    def vjp(names, s_bar):
        s_bar = np.asarray(s_bar, np.float64).reshape(-1)
        out = {}
        for k in range(K):
            name = f"x_list{k}"
            if name in names:
                out[name] = w[k] * np.bincount(picks[k], s_bar, minlength=orders[k].shape[0])
        return out

    vjp.picks = picks  # (K lists of L indices) what numbaot.jax keeps between its forward and backward passes
    return np.asarray(res.support).reshape(-1), np.asarray(res.barycenter), vjp
