"""GeomLoss's ``geomloss.ot`` over numbaot: ``solve``, ``solve_batch``, ``solve_sample``.

GeomLoss's annealing: the temperature goes from the spread of the costs (``max C - min C``) down to ``reg`` along
a geometric schedule of ``max_iter`` Sinkhorn steps (or by factors ``scaling`` when ``max_iter`` is None), each step
one Sinkhorn iteration of numbaot's log-domain solver warm-started from the last. With ``tol``, the last temperature
is then iterated until numbaot's L1 marginal error is at most ``tol`` (a ConvergenceWarning if it is not reached);
without, the schedule is the whole budget (GeomLoss's convention; the result's ``status`` says whether the marginal
error reached numbaot's default tolerance).

Results are numbaot's :class:`~numbaot.OTResult` (or :class:`~numbaot.BatchOTResult`): ``plan``, ``value``,
``potentials``, ``potential_aa``/``potential_bb`` (debiased ``solve_sample``), ``marginal_a``/``marginal_b``,
``density``, ``density_operator``, ``plan_operator``, ``a_to_b``/``b_to_a`` (``solve_sample``), ``citation``.
For balanced problems ``value`` is GeomLoss's dual value ``<a, f> + <b, g>`` (equal to
``<P, C> + reg sum P log(P / (a b^T))``).

Examples
--------
The example of GeomLoss's API page:

>>> from numbaot.geomloss import ot
>>> solution = ot.solve(
...     C=[[0.0, 1.0, 4.0],
...        [2.0, 1.0, 0.0]],
...     a=[2, 2],
...     b=[1, 1, 2],
...     reg=0.001,
...     max_iter=100,
... )
>>> print(solution.plan.round(6))
[[1. 1. 0.]
 [0. 0. 2.]]
>>> print(f"{solution.value:.3f}")
0.997
"""
from __future__ import annotations

import math

import numpy as np

from .. import _validation as V
from .._result import LinearOperator, OTResult

__all__ = ["solve", "solve_batch", "solve_sample", "OTResult", "LinearOperator"]

_CITATION = ("Feydy et al., Interpolating between optimal transport and MMD using Sinkhorn divergences, AISTATS "
             "2019 (GeomLoss's annealing), solved by numbaot's log-domain Sinkhorn.")


def _check(reg, reg_type, unbalanced_type, method, max_iter, tol):
    if reg is not None and (not np.isscalar(reg) or not math.isfinite(float(reg)) or float(reg) < 0):
        raise ValueError(f"reg must be a number >= 0, got {reg!r}")
    if str(reg_type).upper() != "KL":
        raise V.UnsupportedOption(f"reg_type={reg_type!r}: only 'KL' (relative entropy) is available")
    if str(unbalanced_type).upper() != "KL":
        raise V.UnsupportedOption(f"unbalanced_type={unbalanced_type!r}: only 'KL' is available")
    if method != "auto":
        raise V.UnsupportedOption(f"method={method!r}: only 'auto' is available")
    if max_iter is not None and (isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer))
                                 or max_iter < 1):
        raise ValueError(f"max_iter must be an integer >= 1, got {max_iter!r}")
    if tol is not None and not float(tol) >= 0:
        raise ValueError(f"tol must be >= 0, got {tol!r}")


def _schedule(spread, reg, max_iter, scaling=0.5):
    """GeomLoss's temperatures: ``max_iter`` values from ``spread`` to ``reg``, geometrically (or by factors
    ``scaling`` down to ``reg``, then ``reg`` once more, when ``max_iter`` is None)."""
    top = max(float(spread), float(reg))
    if max_iter is not None:
        return [float(reg)] if max_iter == 1 else [float(e) for e in np.geomspace(top, reg, max_iter)]
    n = int(np.floor((math.log(reg) - math.log(top)) / math.log(scaling))) + 2
    return [float(e) for e in np.exp(np.maximum(math.log(top) + np.arange(n) * math.log(scaling), math.log(reg)))]


def _anneal(step, eps_list, tol, potentials):
    """Run ``step(eps, max_iter, tol, potentials_init, warn)`` along the schedule, then polish at the last
    temperature when a tolerance is given."""
    result = None
    for k, eps in enumerate(eps_list):
        result = step(eps, 1, None, potentials, False)
        potentials = (result.potential_a, result.potential_b)
    if tol is not None:
        result = step(eps_list[-1], 10000, tol, potentials, True)
    return result


def _as_array(x):
    if x is None or hasattr(x, "__cuda_array_interface__"):
        return x
    return np.asarray(x, dtype=np.float64) if isinstance(x, (list, tuple)) else x


def _dual_value(result, a, b, batched):
    f, g = np.asarray(result.potential_a), np.asarray(result.potential_b)
    a = np.full(f.shape, 1.0 / f.shape[-1]) if a is None else np.asarray(a, dtype=np.float64)
    b = np.full(g.shape, 1.0 / g.shape[-1]) if b is None else np.asarray(b, dtype=np.float64)
    value = np.sum(a * f, axis=-1) + np.sum(b * g, axis=-1)
    return value if batched else float(value)


def solve(C, *, a=None, b=None, reg=0, reg_type="KL", unbalanced=None, unbalanced_type="KL", method="auto",
          max_iter=None, tol=None):
    """Optimal transport for a cost matrix ``C`` of shape (N, M), GeomLoss's ``ot.solve``.

    Parameters
    ----------
    C : array of shape (N, M)
    a, b : arrays of shape (N,) and (M,), optional
        Non-negative weights (uniform ``1/N``, ``1/M`` when None), of equal masses unless ``unbalanced``.
    reg : float >= 0
        The temperature ``eps`` of ``min <P, C> + eps KL(P | a b^T)``; 0 solves exact OT (numbaot's network
        simplex, where GeomLoss raises NotImplementedError).
    reg_type, unbalanced_type : 'KL'
    unbalanced : float > 0 or pair, optional
        KL penalties ``rho`` on the marginals.
    method : 'auto'
    max_iter : int, optional
        Sinkhorn steps along the annealing schedule (None: factors of 0.5 down to ``reg``).
    tol : float, optional
        Then iterate at ``reg`` until the L1 marginal error is at most ``tol``.

    Returns
    -------
    OTResult
    """
    import numbaot

    _check(reg, reg_type, unbalanced_type, method, max_iter, tol)
    C, a, b = _as_array(C), _as_array(a), _as_array(b)
    if len(np.shape(C)) != 2:
        raise ValueError(f"C must be a matrix of shape (N, M) (use solve_batch for (B, N, M)), got {np.shape(C)}")
    if reg is None or float(reg) == 0:
        if unbalanced is not None:
            raise V.UnsupportedOption("exact unbalanced OT is not available: give reg > 0")
        return numbaot.solve(C, a, b)
    reg = float(reg)

    def step(eps, iters, step_tol, potentials, warn):
        return numbaot.solve(C, a, b, reg=eps, max_iter=iters, tol=step_tol, potentials_init=potentials,
                             unbalanced=unbalanced, warn=warn)

    Ch = np.asarray(C)
    result = _anneal(step, _schedule(np.nanmax(Ch[np.isfinite(Ch)]) - np.nanmin(Ch[np.isfinite(Ch)]), reg,
                                     max_iter), tol, None)
    changes = {"citation": _CITATION}
    if result.device == "cpu":
        n, m = Ch.shape
        changes["weights"] = (np.full(n, 1.0 / n) if a is None else np.asarray(a, dtype=np.float64),
                              np.full(m, 1.0 / m) if b is None else np.asarray(b, dtype=np.float64))
        if unbalanced is None:
            changes["value"] = _dual_value(result, a, b, False)
    return result.replace(**changes)


def solve_batch(C, *, a=None, b=None, reg=0, reg_type="KL", unbalanced=None, unbalanced_type="KL", method="auto",
                max_iter=None, tol=None):
    """GeomLoss's ``ot.solve_batch``: B problems of shape (N, M) at once (``C`` of shape (B, N, M), ``a`` (B, N),
    ``b`` (B, M)), by :func:`numbaot.solve_batch` along GeomLoss's annealing (one schedule for the batch, from the
    spread of all the costs). Returns a :class:`~numbaot.BatchOTResult`.

    Examples
    --------
    >>> import numpy as np
    >>> from numbaot.geomloss import ot
    >>> C = np.stack([[[0.0, 1.0], [1.0, 0.0]], [[1.0, 0.0], [0.0, 1.0]]])
    >>> res = ot.solve_batch(C, reg=0.01, max_iter=50)
    >>> res.plan.round(3)
    array([[[0.5, 0. ],
            [0. , 0.5]],
    <BLANKLINE>
           [[0. , 0.5],
            [0.5, 0. ]]])
    """
    import numbaot

    _check(reg, reg_type, unbalanced_type, method, max_iter, tol)
    C, a, b = _as_array(C), _as_array(a), _as_array(b)
    if len(np.shape(C)) != 3:
        raise ValueError(f"C must be of shape (B, N, M), got {np.shape(C)}")
    if reg is None or float(reg) == 0:
        raise V.UnsupportedOption("solve_batch needs reg > 0 (exact OT: numbaot.solve problem by problem)")
    reg = float(reg)

    def step(eps, iters, step_tol, potentials, warn):
        return numbaot.solve_batch(C, eps, a, b, max_iter=iters, tol=1e-9 if step_tol is None else step_tol,
                                   potentials_init=potentials, unbalanced=unbalanced, warn=warn)

    Ch = np.asarray(C)
    result = _anneal(step, _schedule(np.max(Ch) - np.min(Ch), reg, max_iter), tol, None)
    changes = {"citation": _CITATION}
    if unbalanced is None and result.device == "cpu":
        changes["value"] = _dual_value(result, a, b, True)
    return result.replace(**changes)


def solve_sample(X_a, X_b, a=None, b=None, *, cost="sqeuclidean", debias=False, reg=None, unbalanced=None,
                 blur=None, reach=None, scaling=0.5, max_iter=None, tol=None, backend="auto"):
    """GeomLoss's ``ot.solve_sample``: OT between point clouds for ``cost`` 'sqeuclidean' (``|x - y|^2``) or
    'euclidean' (``|x - y|``), by :func:`numbaot.solve_sample` (entropic, annealed as GeomLoss from the clouds'
    diameter by factors ``scaling``; debiased with ``debias=True``, the result then carrying ``potential_aa`` and
    ``potential_bb``).

    ``blur`` and ``reach`` are GeomLoss's scales: ``reg = blur^p`` and ``unbalanced = reach^p`` with p = 2 for
    'sqeuclidean' and 1 for 'euclidean' (give either ``reg`` or ``blur``). ``backend``: 'auto', 'tensorized' (cost
    matrices) or 'online' (costs from the points).

    Examples
    --------
    >>> import numpy as np
    >>> from numbaot.geomloss import ot
    >>> x = np.array([[0.0, 0.0], [1.0, 0.0]])
    >>> res = ot.solve_sample(x, x + [0.0, 0.5], blur=0.01, debias=True)
    >>> round(float(res.value), 4), res.a_to_b.round(3).tolist()
    (0.25, [[0.0, 0.5], [0.0, 0.5]])
    """
    import numbaot

    if cost not in ("sqeuclidean", "euclidean"):
        raise V.UnsupportedOption(f"cost={cost!r}: numbaot.geomloss.ot.solve_sample takes 'sqeuclidean' or "
                                  "'euclidean' (for other costs build the matrix and call solve)")
    if backend == "multiscale":
        raise V.UnsupportedOption("backend='multiscale' is not available yet: use backend='online'")
    if backend not in _BACKEND_LAZY:
        raise ValueError(f"backend must be 'auto', 'tensorized' or 'online', got {backend!r}")
    p = 2 if cost == "sqeuclidean" else 1
    if (reg is None) == (blur is None):
        raise ValueError("give one of reg (the temperature eps) or blur (eps = blur^p)")
    reg = float(blur) ** p if reg is None else float(reg)
    if reach is not None:
        if unbalanced is not None:
            raise ValueError("give one of unbalanced (rho) or reach (rho = reach^p)")
        unbalanced = float(reach) ** p
    lazy = _BACKEND_LAZY[backend]
    if lazy is None:
        lazy = np.shape(X_a)[0] * np.shape(X_b)[0] > 5000 ** 2
    max_iter = 1000 if max_iter is None else max_iter
    return numbaot.solve_sample(X_a, X_b, _as_array(a), _as_array(b), cost, reg=reg, lazy=lazy, debias=debias,
                                reg_m=unbalanced, max_iter=max_iter, tol=tol)


_BACKEND_LAZY = {"auto": None, "tensorized": False, "online": True}
