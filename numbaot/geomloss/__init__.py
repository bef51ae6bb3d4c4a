"""GeomLoss's API over numbaot: ``from numbaot.geomloss import SamplesLoss, ot``.

* :class:`SamplesLoss`: GeomLoss's loss object (Sinkhorn divergence, Hausdorff divergence, kernel norms) on numpy
  point clouds of shape (N, D) or batches (B, N, D), by :func:`numbaot.samples_loss`, with GeomLoss's conventions:
  the cost ``|x - y|^p / p``, ``eps = blur^p``, ``rho = reach^p``, annealing from ``diameter^p`` by factors
  ``scaling^p``, and ``potentials=True`` returning the dual potentials ``(F, G)``.
* :mod:`numbaot.geomloss.ot`: GeomLoss's ``geomloss.ot`` solvers (``solve``, ``solve_batch``, ``solve_sample``)
  returning numbaot's :class:`~numbaot.OTResult` (``plan``, ``value``, ``potentials``, ``potential_aa/bb``,
  ``marginal_a/b``, ``density``, ``density_operator``, ``plan_operator``, ``a_to_b``, ``b_to_a``, ``citation``).

A thin layer: every number comes from numbaot's solvers. Importing it compiles nothing. The PyTorch side of
SamplesLoss (autograd) is :mod:`numbaot.torch`'s.

Examples
--------
>>> import numpy as np
>>> from numbaot.geomloss import SamplesLoss
>>> x = np.array([[0.0, 0.0], [1.0, 0.0]])
>>> loss = SamplesLoss("sinkhorn", p=2, blur=0.01)
>>> round(float(loss(x, x + [0.0, 0.5])), 4)  # |t|^2 / 2 for a translation t
0.125
"""
from __future__ import annotations

import importlib

import numpy as np

from .. import _validation as V

__all__ = ["SamplesLoss", "ot"]

_LOSSES = ("sinkhorn", "hausdorff", "energy", "gaussian", "laplacian")
_BACKENDS = {"auto": None, "tensorized": False, "online": True}


class SamplesLoss:
    """GeomLoss's ``SamplesLoss``: a loss between weighted point clouds, called as ``L(x, y)`` or
    ``L(a, x, b, y)``.

    Parameters
    ----------
    loss : {'sinkhorn', 'hausdorff', 'energy', 'gaussian', 'laplacian'}
    p : {1, 2}
        'sinkhorn', 'hausdorff': the cost ``|x - y|^p / p``.
    blur : float > 0
        The entropic scale (``eps = blur^p``) or the kernel's width.
    reach : float > 0, optional
        The scale of the KL penalties on the marginals (``rho = reach^p``); None for balanced OT.
    diameter : float, optional
        The first temperature is ``diameter^p``; None: the diagonal of the bounding box of all the points (of the
        whole batch, as GeomLoss).
    scaling : float in (0, 1)
        The ratio of two successive blurs in the annealing.
    truncate, cluster_scale :
        GeomLoss's multiscale parameters: accepted, unused (no multiscale backend yet).
    cost, kernel : None
        Custom costs or kernels (KeOps formulas or callables) are not available: ``UnsupportedOption``, a
        ValueError that is also GeomLoss's NotImplementedError.
    debias : bool
        'sinkhorn': the debiased divergence (True) or ``OT_eps`` (False).
    potentials : bool
        Return the dual potentials ``(F, G)`` (shapes (N,), (M,), or (B, N), (B, M)) instead of the value.
    verbose : bool
        Accepted (numbaot reports convergence in its results and warnings).
    backend : {'auto', 'tensorized', 'online'}
        Cost matrices ('tensorized'), costs from the points at each step ('online'), or numbaot's choice ('auto':
        matrices up to n m = 5000^2). 'multiscale' raises UnsupportedOption (use 'online').

    Examples
    --------
    >>> import numpy as np
    >>> from numbaot.geomloss import SamplesLoss
    >>> rng = np.random.default_rng(0)
    >>> x, y = rng.random((2, 5, 3)), rng.random((2, 6, 3))
    >>> values = SamplesLoss("energy")(x, y)  # a batch of two problems
    >>> values.shape, bool(np.isclose(values[1], SamplesLoss("energy")(x[1], y[1])))
    ((2,), True)
    >>> F, G = SamplesLoss("gaussian", blur=0.5, potentials=True)(x[0], y[0])
    >>> F.shape, G.shape
    ((5,), (6,))
    """

    def __init__(self, loss="sinkhorn", p=2, blur=0.05, reach=None, diameter=None, scaling=0.5, truncate=5,
                 cost=None, kernel=None, cluster_scale=None, debias=True, potentials=False, verbose=False,
                 backend="auto"):
        if not isinstance(loss, str) or loss not in _LOSSES:
            raise ValueError(f"loss must be one of {_LOSSES}, got {loss!r}")
        if cost is not None or kernel is not None:
            raise V.UnsupportedOption("custom cost= or kernel= (KeOps formulas, callables) are not available in "
                                      "numbaot.geomloss: use p=1 or 2 (cost |x - y|^p / p) or the built-in kernels "
                                      "('energy', 'gaussian', 'laplacian')")
        if backend == "multiscale":
            raise V.UnsupportedOption("backend='multiscale' is not available in numbaot.geomloss yet: use "
                                      "backend='online' (costs from the points, O(N + M) memory)")
        if backend not in _BACKENDS:
            raise ValueError(f"backend must be 'auto', 'tensorized', 'online' or 'multiscale', got {backend!r}")
        self.loss, self.p, self.blur, self.reach = loss, p, blur, reach
        self.diameter, self.scaling, self.truncate = diameter, scaling, truncate
        self.cluster_scale, self.debias, self.potentials = cluster_scale, debias, potentials
        self.verbose, self.backend = verbose, backend

    def __repr__(self):
        return (f"SamplesLoss(loss={self.loss!r}, p={self.p}, blur={self.blur}, reach={self.reach}, "
                f"scaling={self.scaling}, debias={self.debias}, backend={self.backend!r})")

    def _one(self, x, y, a, b, diameter):
        import numbaot

        out = numbaot.samples_loss(x, y, a, b, loss=self.loss, p=self.p, blur=self.blur, reach=self.reach,
                                   diameter=diameter, scaling=self.scaling, debias=self.debias,
                                   potentials=self.potentials, lazy=_BACKENDS[self.backend])
        return out[1:] if self.potentials else out

    def __call__(self, *args):
        if len(args) == 2:
            x, y = args
            a = b = None
        elif len(args) == 4:
            a, x, b, y = args
        else:
            raise TypeError("a SamplesLoss is called as L(x, y) or L(a, x, b, y), "
                            f"got {len(args)} arguments")
        x = x if hasattr(x, "__cuda_array_interface__") else np.asarray(x)
        y = y if hasattr(y, "__cuda_array_interface__") else np.asarray(y)
        if len(x.shape) != 3:
            return self._one(x, y, a, b, self.diameter)
        if len(y.shape) != 3 or y.shape[0] != x.shape[0]:
            raise ValueError(f"batched clouds must both be (B, N, D) and (B, M, D) with the same B, got x of shape "
                             f"{x.shape} and y of shape {y.shape}")
        diameter = self.diameter
        if diameter is None and self.loss in ("sinkhorn", "hausdorff"):  # one schedule for the whole batch
            points = np.concatenate([x.reshape(-1, x.shape[-1]), y.reshape(-1, y.shape[-1])])
            diameter = max(float(np.linalg.norm(points.max(axis=0) - points.min(axis=0))), float(self.blur))
        outs = [self._one(x[k], y[k], None if a is None else a[k], None if b is None else b[k], diameter)
                for k in range(x.shape[0])]
        if self.potentials:
            return np.stack([o[0] for o in outs]), np.stack([o[1] for o in outs])
        return np.asarray(outs)


def __getattr__(name):
    if name == "ot":
        module = importlib.import_module("numbaot.geomloss.ot")
        globals()["ot"] = module
        return module
    raise AttributeError(f"module 'numbaot.geomloss' has no attribute {name!r}")
