r"""Differentiable OT losses for PyTorch: tensors in, tensors out, gradients from the solvers' own answers.

Install with ``pip install numbaot[torch]``. Every function takes float32 or float64 tensors (integer tensors are
refused with a TypeError) and returns the value as a tensor of the inputs' dtype on their device, recorded by
autograd. The gradients are not obtained by differentiating through the solvers' iterations: they come from the
plan, the dual potentials or the expected alignment that the solver already computed (the envelope theorem, and
implicit differentiation for :func:`sinkhorn2`; :mod:`numbaot.autodiff` derives each), so a backward pass costs
one pass over the points or the plan. Double backward is not supported.

* cost matrices: :func:`emd2`, :func:`sinkhorn2`, :func:`solve` (exact, entropic, unbalanced),
  :func:`solve_batch` (a batch (B, n, m) in one call);
* point clouds: :func:`solve_sample` (exact, entropic, lazy/online, debiased, unbalanced),
  :func:`sinkhorn_divergence`, :func:`samples_loss` and the module :class:`SamplesLoss` (GeomLoss's Sinkhorn loss,
  batches (B, N, D) too), :func:`wasserstein_1d`, :func:`sliced_wasserstein_distance`;
* :func:`samples_loss` / :class:`SamplesLoss` also compute GeomLoss's 'hausdorff', 'energy', 'gaussian' and
  'laplacian' losses, with gradients;
* structured: :func:`gromov_wasserstein2` (in C1, C2 and the weights), :func:`soft_dtw`;
* :func:`barycenter`: the entropic barycenter (a vector) with gradients in the histograms, the cost and the
  weights, by implicit differentiation of its fixed point, also debiased and unbalanced
  (:func:`barycenter_debiased`, :func:`barycenter_unbalanced`); :func:`barycenter_1d` (free support on the line,
  closed form).

No copies: a CPU tensor reaches the solver as the numpy array that shares its memory (``tensor.detach().numpy()``),
and results and gradients come back through ``torch.from_numpy``. CUDA tensors are handed to numbaot's CUDA
solvers through ``__cuda_array_interface__`` (the functions whose numbaot front-end has a CUDA path, e.g.
:func:`solve_sample` with ``lazy=True`` or ``debias=True``); their gradients are not implemented yet, so a CUDA
tensor that requires grad raises ``UnsupportedOption`` (a ValueError naming it, also a NotImplementedError)
before anything runs; values that run on CPU tensors only (the barycenters) raise it for any CUDA tensor. Tensors
on different devices raise a ValueError naming them; a tensor that requires grad where the value has no gradient
(``reg``, ``blur``, ``projections``) raises a ValueError.

Examples
--------
>>> import torch, numbaot.torch as nt
>>> x = torch.randn(50, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0), requires_grad=True)
>>> loss = nt.samples_loss(x, x.detach() + 1.0, blur=0.05)
>>> loss.backward()
>>> x.grad.shape
torch.Size([50, 2])
"""
from __future__ import annotations

import importlib

__all__ = ["SamplesLoss", "barycenter", "barycenter_1d", "barycenter_debiased", "barycenter_unbalanced", "emd2",
           "gromov_wasserstein2", "samples_loss", "sinkhorn2", "sinkhorn_divergence", "sliced_wasserstein_distance",
           "soft_dtw", "solve", "solve_batch", "solve_sample", "wasserstein_1d"]


def __getattr__(name):
    """The functions load on first use (PEP 562): ``import numbaot.torch`` works without PyTorch, and using a
    function without it raises an ImportError that says what to install."""
    if name not in __all__:
        raise AttributeError(f"module 'numbaot.torch' has no attribute {name!r}")
    value = getattr(importlib.import_module(".api", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
