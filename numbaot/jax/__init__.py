r"""Differentiable OT losses for JAX: numbaot's solvers as ``jax.custom_vjp`` functions over ``jax.pure_callback``.

Install with ``pip install numbaot[jax]``. The same values as :mod:`numbaot.torch` (:func:`emd2`,
:func:`sinkhorn2`, :func:`solve`, :func:`solve_batch`, :func:`solve_sample`, :func:`sinkhorn_divergence`,
:func:`samples_loss`, :func:`wasserstein_1d`, :func:`sliced_wasserstein_distance`, :func:`gromov_wasserstein2`,
:func:`soft_dtw`), with the same gradients (:mod:`numbaot.autodiff` derives them). They run on the host CPU inside
a callback, so they work under ``jax.jit``, ``jax.grad`` and ``jax.vmap`` (one problem after the other); the
forward pass of a differentiated call computes the value and the gradients in one host call. Hyper-parameters
(``reg``, ``blur``, ``p``, ...) are concrete Python numbers, not traced values. Float64 needs
``jax.config.update("jax_enable_x64", True)``; integer arrays are refused with a TypeError.

Examples
--------
>>> import jax, jax.numpy as jnp, numbaot.jax as nj
>>> x = jnp.array([[0.0], [1.0]])
>>> y = x + 0.5
>>> loss = lambda x: nj.sinkhorn_divergence(x, y, reg=0.01)
>>> [round(v, 3) for v in jax.jit(jax.grad(loss))(x).ravel().tolist()]
[-0.5, -0.5]
"""
from __future__ import annotations

try:
    import jax  # noqa: F401 - the real JAX (absolute import)
except ImportError as err:  # pragma: no cover - depends on the environment
    raise ImportError("numbaot.jax needs JAX: pip install 'numbaot[jax]' (or jax[cpu] itself)") from err

from .api import (  # noqa: E402
    emd2,
    gromov_wasserstein2,
    samples_loss,
    sinkhorn2,
    sinkhorn_divergence,
    sliced_wasserstein_distance,
    soft_dtw,
    solve,
    solve_batch,
    solve_sample,
    wasserstein_1d,
)

__all__ = ["emd2", "gromov_wasserstein2", "samples_loss", "sinkhorn2", "sinkhorn_divergence",
           "sliced_wasserstein_distance", "soft_dtw", "solve", "solve_batch", "solve_sample", "wasserstein_1d"]
