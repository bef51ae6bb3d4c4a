"""The unified API: ``solve`` and ``solve_sample`` (and, as solver families land, ``solve_gromov``, ``solve_batch``).

Each function picks the method from its arguments and calls the family's front-end; all return an ``OTResult``.
"""
from __future__ import annotations

from . import _validation as V
from ._result import OTResult


def solve_sample(X_a, X_b, a=None, b=None, metric="sqeuclidean", p=1.0, reg=None, lazy=False, n_threads=None,
                 warn=True) -> OTResult:
    """Optimal transport between two point clouds, returning an :class:`OTResult`.

    This version solves exact OT (``reg=None``) between one-dimensional point clouds, by sorting and a monotone
    merge (see :func:`numbaot.emd_1d`). Points of shape (n, d) with d > 1, and entropic regularisation, are
    refused with a ValueError until their solvers land.

    Parameters
    ----------
    X_a, X_b : arrays of shape (n,) or (n, 1), and (m,) or (m, 1)
        Support points; numpy, or CUDA arrays (CuPy, Numba) to solve on the GPU.
    a, b : arrays of shape (n,) and (m,), optional
        Weights (uniform when None) of equal total mass.
    metric : {'sqeuclidean', 'euclidean', 'cityblock', 'minkowski'}
        Ground cost; 'minkowski' is ``|x - y|^p`` in 1D.
    p : float >= 1
        Exponent of 'minkowski'.
    reg : None
        Entropic regularisation; only None (exact OT) is available in this version.
    lazy : bool
        When True the dense plan is never built: the result holds the plan's ``n + m - 1`` non-zeros
        (``plan_coo``, ``plan_sparse``) and ``plan_operator``; reading ``result.plan`` then densifies on demand.
        When False the dense plan is built at once (refused with a ValueError if it would not fit).
    n_threads : int, optional
        Host threads (default: Numba's thread count).
    warn : bool
        Emit a ConvergenceWarning when the status is not OPTIMAL (kept for the iterative solvers to come; the 1D
        solver is exact and always OPTIMAL).

    Returns
    -------
    OTResult
        ``value`` (the cost), ``plan``, ``potential_a``/``potential_b`` (centred dual potentials), marginals.

    Examples
    --------
    >>> import numbaot
    >>> res = numbaot.solve_sample([0.0, 1.0, 3.0], [0.5, 2.0])
    >>> float(res.value), res.plan.shape
    (0.625, (3, 2))
    """
    lazy = V.check_bool(lazy, "lazy")
    V.check_bool(warn, "warn")
    if reg is not None:
        V.check_reg(reg)
        raise ValueError("solve_sample: entropic OT (reg > 0) is not available in this version; use reg=None")
    for name, X in (("X_a", X_a), ("X_b", X_b)):
        shape = getattr(X, "shape", None)
        if shape is None:
            import numpy as np

            shape = np.shape(X)
        if len(shape) == 2 and shape[1] != 1:
            raise ValueError(
                f"{name} has shape {tuple(shape)}: this version of solve_sample solves 1D point clouds (shape (n,) "
                "or (n, 1)); multi-dimensional clouds need the network simplex, which is not available yet"
            )
    from .exact.api import _solve_1d

    result = _solve_1d(X_a, X_b, a, b, metric, p, want_plan=True, n_threads=n_threads)
    if not lazy:
        result.plan  # noqa: B018 - build (and size-check) the dense plan now, as the caller asked
    return result


def solve(M, a=None, b=None, reg=None, max_iter=None, n_threads=None, warn=True) -> OTResult:
    """Optimal transport for a cost matrix, returning an :class:`OTResult`.

    This version solves exact OT (``reg=None``) by the network simplex (see :func:`numbaot.emd`); entropic
    regularisation is refused with a ValueError until its solvers land.

    Parameters
    ----------
    M : array of shape (n, m)
        Costs of any sign; ``+inf`` marks a forbidden arc.
    a, b : arrays of shape (n,) and (m,), optional
        Weights (uniform when None) of equal total mass.
    reg : None
        Entropic regularisation; only None is available in this version.
    max_iter : int, optional
        Maximum number of pivots (None: no limit).
    n_threads : int, optional
        Threads for parallel pricing (default: Numba's thread count).
    warn : bool
        Emit a ConvergenceWarning when the status is not OPTIMAL.

    Returns
    -------
    OTResult
        ``value`` = ``value_linear`` = <P, M>, ``plan`` (dense on first access; ``plan_coo``/``plan_sparse``
        hold its at most n + m - 1 non-zeros), centred dual potentials feasible for every row and column
        (zero-weight ones included), ``status``, ``n_iter`` (pivots).

    Examples
    --------
    >>> import numbaot
    >>> res = numbaot.solve([[0.0, 2.0], [1.0, 0.0]])
    >>> float(res.value), res.status.name
    (0.0, 'OPTIMAL')
    """
    warn = V.check_bool(warn, "warn")
    if reg is not None:
        V.check_reg(reg)
        raise ValueError("solve: entropic OT (reg > 0) is not available in this version; use reg=None")
    from .exact.api import _solve_exact

    return _solve_exact(M, a, b, max_iter, n_threads, warn=warn)[0]
