"""numbaot's OT values as differentiable JAX functions (see :mod:`numbaot.jax`)."""
from __future__ import annotations

try:
    import jax  # noqa: F401
except ImportError as err:  # pragma: no cover - depends on the environment
    raise ImportError("numbaot.jax needs JAX: pip install 'numbaot[jax]' (or jax[cpu] itself)") from err

from .. import autodiff as AD
from ._bridge import apply, static_number as _static

__all__ = ["emd2", "sinkhorn2", "solve", "solve_batch", "solve_sample", "sinkhorn_divergence", "samples_loss",
           "wasserstein_1d", "sliced_wasserstein_distance", "gromov_wasserstein2", "soft_dtw"]


def emd2(a, b, M, *, max_iter=None, n_threads=None):
    """Exact OT cost ``<P, M>`` with gradients in ``M`` (the plan), ``a``, ``b`` (centred potentials).

    Examples
    --------
    >>> import jax, jax.numpy as jnp, numbaot.jax as nj
    >>> M = jnp.array([[0.0, 1.0], [1.0, 0.0]])
    >>> a = jnp.array([0.5, 0.5])
    >>> jax.grad(lambda M: nj.emd2(a, a, M))(M).tolist()
    [[0.5, 0.0], [0.0, 0.5]]
    """
    return apply(lambda a, b, M: AD.emd2(a, b, M, max_iter=max_iter, n_threads=n_threads), ("a", "b", "M"),
                 (a, b, M), (M,))


def sinkhorn2(a, b, M, reg, *, max_iter=1000, tol=1e-9, n_threads=None):
    """The linear cost ``<P, M>`` of the entropic plan, gradients by implicit differentiation (see
    :func:`numbaot.torch.sinkhorn2`)."""
    reg = _static(reg, "reg")
    return apply(lambda a, b, M: AD.sinkhorn2(a, b, M, reg, max_iter=max_iter, tol=tol, n_threads=n_threads,
                                              warn=False), ("a", "b", "M"), (a, b, M), (M,))


def solve(M, a=None, b=None, reg=None, *, unbalanced=None, max_iter=None, tol=None, n_threads=None):
    """``numbaot.solve(...).value`` (exact, entropic, unbalanced) with gradients in ``M``, ``a``, ``b``."""
    reg, unbalanced = _static(reg, "reg"), _static(unbalanced, "unbalanced")
    return apply(lambda M, a, b: AD.solve(M, a, b, reg, unbalanced=unbalanced, max_iter=max_iter, tol=tol,
                                          n_threads=n_threads, warn=False), ("M", "a", "b"), (M, a, b), (M,))


def solve_batch(M, reg, a=None, b=None, *, max_iter=1000, tol=1e-9, n_threads=None):
    """Entropic values (B,) of a batch of costs (B, n, m), with gradients in ``M`` and the weights."""
    reg = _static(reg, "reg")
    return apply(lambda M, a, b: AD.solve_batch(M, reg, a, b, max_iter=max_iter, tol=tol, n_threads=n_threads,
                                                warn=False), ("M", "a", "b"), (M, a, b), (M,),
                 value_shape=(M.shape[0],))


def solve_sample(X_a, X_b, a=None, b=None, metric="sqeuclidean", *, reg=None, lazy=False, debias=False, reg_m=None,
                 max_iter=None, tol=None, n_threads=None):
    """``numbaot.solve_sample(...).value`` with gradients in the points and the weights (see
    :func:`numbaot.torch.solve_sample`).

    Examples
    --------
    >>> import jax, jax.numpy as jnp, numbaot.jax as nj
    >>> y = jnp.array([[1.0, 2.0]])
    >>> jax.jit(jax.grad(lambda x: nj.solve_sample(x, y)))(jnp.zeros((1, 2))).tolist()
    [[-2.0, -4.0]]
    """
    reg, reg_m = _static(reg, "reg"), _static(reg_m, "reg_m")
    return apply(lambda X_a, X_b, a, b: AD.solve_sample(X_a, X_b, a, b, metric, reg=reg, lazy=lazy, debias=debias,
                                                        reg_m=reg_m, max_iter=max_iter, tol=tol,
                                                        n_threads=n_threads, warn=False),
                 ("X_a", "X_b", "a", "b"), (X_a, X_b, a, b), (X_a, X_b))


def sinkhorn_divergence(X_a, X_b, a=None, b=None, *, reg, reg_m=None, metric="sqeuclidean", max_iter=1000, tol=1e-9,
                        lazy=None, n_threads=None):
    """The Sinkhorn divergence with gradients in the points and the weights."""
    return solve_sample(X_a, X_b, a, b, metric, reg=reg, lazy=lazy, debias=True, reg_m=reg_m, max_iter=max_iter,
                        tol=tol, n_threads=n_threads)


def samples_loss(X_a, X_b, a=None, b=None, *, p=2, blur=0.05, reach=None, diameter=None, scaling=0.5, debias=True,
                 lazy=None, n_threads=None):
    """GeomLoss's Sinkhorn loss (cost ``|x - y|^p / p``) for clouds (N, D), with gradients in the points and the
    weights."""
    blur, reach, diameter = _static(blur, "blur"), _static(reach, "reach"), _static(diameter, "diameter")
    return apply(lambda X_a, X_b, a, b: AD.samples_loss(X_a, X_b, a, b, p=p, blur=blur, reach=reach,
                                                        diameter=diameter, scaling=scaling, debias=debias,
                                                        lazy=lazy, n_threads=n_threads),
                 ("X_a", "X_b", "a", "b"), (X_a, X_b, a, b), (X_a, X_b))


def wasserstein_1d(u_values, v_values, u_weights=None, v_weights=None, p=1, *, n_threads=None):
    """``W_p^p`` between 1D measures with gradients in the values and the weights."""
    p = _static(p, "p")
    return apply(lambda u, v, uw, vw: AD.wasserstein_1d(u, v, uw, vw, p, n_threads=n_threads),
                 ("u_values", "v_values", "u_weights", "v_weights"), (u_values, v_values, u_weights, v_weights),
                 (u_values, v_values))


def sliced_wasserstein_distance(X_s, X_t, a=None, b=None, n_projections=50, p=2, projections=None, seed=None, *,
                                n_threads=None):
    """The sliced ``SW_p`` with gradients in the points and the weights (``projections`` are constants)."""
    import numpy as np

    projections = None if projections is None else np.asarray(projections)
    return apply(lambda X_s, X_t, a, b: AD.sliced_wasserstein_distance(X_s, X_t, a, b, n_projections, p,
                                                                       projections, seed, n_threads=n_threads),
                 ("X_s", "X_t", "a", "b"), (X_s, X_t, a, b), (X_s, X_t))


def gromov_wasserstein2(C1, C2, p=None, q=None, *, max_iter=10000, tol_rel=1e-9, tol_abs=1e-9, n_threads=None):
    """Square-loss GW with gradients in C1, C2 and the weights."""
    return apply(lambda C1, C2, p, q: AD.gromov_wasserstein2(C1, C2, p, q, max_iter=max_iter, tol_rel=tol_rel,
                                                             tol_abs=tol_abs, n_threads=n_threads, warn=False),
                 ("C1", "C2", "p", "q"), (C1, C2, p, q), (C1, C2))


def soft_dtw(X, Y, gamma=1.0):
    """soft-DTW (squared Euclidean frame cost) with gradients in both series.

    Examples
    --------
    >>> import jax, jax.numpy as jnp, numbaot.jax as nj
    >>> jax.grad(nj.soft_dtw)(jnp.array([1.0]), jnp.array([3.0])).tolist()
    [-4.0]
    """
    gamma = _static(gamma, "gamma")
    return apply(lambda X, Y: AD.soft_dtw(X, Y, gamma), ("X", "Y"), (X, Y), (X, Y))
