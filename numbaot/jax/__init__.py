r"""Differentiable OT losses for JAX: numbaot's solvers as ``jax.custom_vjp`` functions over ``jax.pure_callback``.

Install with ``pip install numbaot[jax]``. The same values as :mod:`numbaot.torch` (:func:`emd2`,
:func:`sinkhorn2`, :func:`solve`, :func:`solve_batch`, :func:`solve_sample`, :func:`sinkhorn_divergence`,
:func:`samples_loss` (every GeomLoss loss), :func:`wasserstein_1d`, :func:`sliced_wasserstein_distance`,
:func:`gromov_wasserstein2`, :func:`soft_dtw`, :func:`barycenter` (also :func:`barycenter_debiased` and
:func:`barycenter_unbalanced`) and :func:`barycenter_1d`), with the same gradients
(:mod:`numbaot.autodiff` derives them). They run on the host CPU inside
a callback, so they work under ``jax.jit``, ``jax.grad`` and ``jax.vmap`` (one problem after the other); the
forward pass of a differentiated call computes the value and the gradients in one host call. Hyper-parameters
(``reg``, ``blur``, ``p``, ...) are concrete Python numbers, not traced values. Float64 needs
``jax.config.update("jax_enable_x64", True)``; integer arrays are refused with a TypeError. A solve that stops
short of its tolerance emits a :class:`numbaot.ConvergenceWarning` from the host callback (as :mod:`numbaot.torch`
does; ``warn=False`` silences it), under ``jax.jit`` too, each time the compiled function runs. A concrete array
placed on a GPU or TPU raises ``UnsupportedOption`` (a ValueError naming it, also a NotImplementedError): numbaot
never copies between devices silently; ``jax.device_put`` it to the CPU. (Inside a ``jit`` compiled for an
accelerator, JAX itself moves a callback's operands to the host.)

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

import importlib

__all__ = ["barycenter", "barycenter_1d", "barycenter_debiased", "barycenter_unbalanced", "emd2",
           "gromov_wasserstein2", "samples_loss", "sinkhorn2", "sinkhorn_divergence", "sliced_wasserstein_distance",
           "soft_dtw", "solve", "solve_batch", "solve_sample", "wasserstein_1d"]


def __getattr__(name):
    """The functions load on first use (PEP 562): ``import numbaot.jax`` works without JAX, and using a
    function without it raises an ImportError that says what to install."""
    if name not in __all__:
        raise AttributeError(f"module 'numbaot.jax' has no attribute {name!r}")
    value = getattr(importlib.import_module(".api", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
