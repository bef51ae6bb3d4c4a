"""numbaot's OT values as differentiable PyTorch functions (see :mod:`numbaot.torch`)."""
from __future__ import annotations

import functools

import numpy as np

try:
    import torch
except ImportError as err:  # pragma: no cover - depends on the environment
    raise ImportError("numbaot.torch needs PyTorch: pip install 'numbaot[torch]' (or torch itself)") from err

from .. import autodiff as AD
from ._bridge import apply, check_tensor, device_of

__all__ = ["emd2", "sinkhorn2", "solve", "solve_batch", "solve_sample", "sinkhorn_divergence", "samples_loss",
           "SamplesLoss", "wasserstein_1d", "sliced_wasserstein_distance", "gromov_wasserstein2", "soft_dtw",
           "barycenter", "barycenter_debiased", "barycenter_unbalanced", "barycenter_1d"]


def _dtype(*main):
    tensors = [t for t in main if isinstance(t, torch.Tensor)]
    return torch.float32 if tensors and all(t.dtype == torch.float32 for t in tensors) else torch.float64


def _number(x, name):
    """A hyper-parameter (reg, blur, ...): a Python number, or a tensor that does not require grad."""
    if isinstance(x, torch.Tensor):
        check_tensor(x, name, differentiable=False)
        return float(x)
    return x


def _run(call, names, tensors, main, differentiable=None):
    for name, t in zip(names, tensors):
        check_tensor(t, name, differentiable=differentiable is None or name in differentiable)
    return apply(call, names, tensors, dtype=_dtype(*main))


def emd2(a, b, M, *, max_iter=None, n_threads=None):
    """Exact OT cost ``<P, M>`` (:func:`numbaot.emd2`) with gradients in ``M`` (the plan), ``a`` and ``b`` (the
    centred dual potentials, as POT's ``grad='envelope'``).

    Examples
    --------
    >>> import torch, numbaot.torch as nt
    >>> M = torch.tensor([[0.0, 1.0], [1.0, 0.0]], dtype=torch.float64, requires_grad=True)
    >>> a = torch.tensor([0.5, 0.5], dtype=torch.float64)
    >>> loss = nt.emd2(a, a, M)
    >>> loss.backward()
    >>> loss.item(), M.grad.tolist()
    (0.0, [[0.5, 0.0], [0.0, 0.5]])
    """
    call = functools.partial(_emd2_call, max_iter=max_iter, n_threads=n_threads)
    return _run(call, ("a", "b", "M"), (a, b, M), (M,))


def _emd2_call(a, b, M, **kw):
    return AD.emd2(a, b, M, **kw)


def sinkhorn2(a, b, M, reg, *, max_iter=1000, tol=1e-9, n_threads=None, warn=True):
    """The linear cost ``<P, M>`` of the entropic plan (:func:`numbaot.sinkhorn2`), with gradients in ``M``, ``a``
    and ``b`` by implicit differentiation of the Sinkhorn fixed point (not by unrolling the iterations; see
    :mod:`numbaot.autodiff`). For the regularised value, whose gradients are the plan and the potentials, use
    :func:`solve` with ``reg``.

    Examples
    --------
    >>> import torch, numbaot.torch as nt
    >>> M = torch.tensor([[0.0, 1.0], [1.0, 0.0]], dtype=torch.float64, requires_grad=True)
    >>> a = torch.tensor([0.5, 0.5], dtype=torch.float64)
    >>> round(nt.sinkhorn2(a, a, M, 0.1).item(), 6)
    4.5e-05
    """
    reg = _number(reg, "reg")

    def call(a, b, M):
        return AD.sinkhorn2(a, b, M, reg, max_iter=max_iter, tol=tol, n_threads=n_threads, warn=warn)

    return _run(call, ("a", "b", "M"), (a, b, M), (M,))


def solve(M, a=None, b=None, reg=None, *, unbalanced=None, max_iter=None, tol=None, n_threads=None, warn=True):
    """``numbaot.solve(M, a, b, reg, unbalanced=...).value`` with gradients in ``M``, ``a`` and ``b``: exact OT,
    entropic OT (the regularised value ``<P, M> + reg KL(P | a b^T)``) and unbalanced OT (KL penalties of strength
    ``unbalanced``). Gradients by the envelope theorem (see :mod:`numbaot.autodiff`).

    Examples
    --------
    >>> import torch, numbaot.torch as nt
    >>> M = torch.tensor([[0.0, 2.0], [2.0, 0.0]], dtype=torch.float64, requires_grad=True)
    >>> value = nt.solve(M, reg=1.0, unbalanced=1.0)
    >>> value.backward()
    >>> bool(M.grad.sum() < 1.0)  # the plan carries less mass than the weights
    True
    """
    reg = _number(reg, "reg")
    unbalanced = _number(unbalanced, "unbalanced") if not isinstance(unbalanced, (tuple, list)) else unbalanced

    def call(M, a, b):
        return AD.solve(M, a, b, reg, unbalanced=unbalanced, max_iter=max_iter, tol=tol, n_threads=n_threads,
                        warn=warn)

    return _run(call, ("M", "a", "b"), (M, a, b), (M,))


def solve_batch(M, reg, a=None, b=None, *, max_iter=1000, tol=1e-9, n_threads=None, warn=True):
    """Entropic OT values of a batch of cost matrices ``M`` (B, n, m) (:func:`numbaot.solve_batch`, one call for
    the batch), a tensor (B,), with gradients in ``M`` (the plans) and the weights (B, n) / (B, m) (centred
    potentials).

    Examples
    --------
    >>> import torch, numbaot.torch as nt
    >>> M = torch.rand(3, 4, 5, dtype=torch.float64, requires_grad=True)
    >>> values = nt.solve_batch(M, 0.5)
    >>> values.sum().backward()
    >>> values.shape, M.grad.sum(dim=(1, 2)).round(decimals=6).tolist()
    (torch.Size([3]), [1.0, 1.0, 1.0])
    """
    reg = _number(reg, "reg")

    def call(M, a, b):
        return AD.solve_batch(M, reg, a, b, max_iter=max_iter, tol=tol, n_threads=n_threads, warn=warn)

    return _run(call, ("M", "a", "b"), (M, a, b), (M,))


def solve_sample(X_a, X_b, a=None, b=None, metric="sqeuclidean", *, reg=None, lazy=False, debias=False, reg_m=None,
                 max_iter=None, tol=None, n_threads=None, warn=True):
    """``numbaot.solve_sample(...).value`` between point clouds (n, d) and (m, d) with gradients in the points and
    the weights: exact OT, entropic OT on the cost matrix or online (``lazy=True``), the Sinkhorn divergence
    (``debias=True``) and unbalanced OT (``reg_m``). Position gradients for 'sqeuclidean', 'euclidean' and
    'cityblock'; for 'sqeuclidean' ``d/dx_i = 2 (r_i x_i - (P Y)_i)``.

    Examples
    --------
    >>> import torch, numbaot.torch as nt
    >>> x = torch.tensor([[0.0, 0.0]], dtype=torch.float64, requires_grad=True)
    >>> y = torch.tensor([[1.0, 2.0]], dtype=torch.float64)
    >>> loss = nt.solve_sample(x, y)  # W2^2 between two Diracs
    >>> loss.backward()
    >>> loss.item(), x.grad.tolist()
    (5.0, [[-2.0, -4.0]])
    """
    reg = _number(reg, "reg")
    reg_m = _number(reg_m, "reg_m") if not isinstance(reg_m, (tuple, list)) else reg_m
    points = any(isinstance(t, torch.Tensor) and t.requires_grad for t in (X_a, X_b))
    if points and metric not in AD.POINT_GRAD_METRICS:
        raise ValueError(f"gradients in the point positions are implemented for metric in "
                         f"{tuple(AD.POINT_GRAD_METRICS)}, got metric={metric!r}: detach X_a and X_b or change metric")

    def call(X_a, X_b, a, b):
        return AD.solve_sample(X_a, X_b, a, b, metric, reg=reg, lazy=lazy, debias=debias, reg_m=reg_m,
                               max_iter=max_iter, tol=tol, n_threads=n_threads, warn=warn)

    return _run(call, ("X_a", "X_b", "a", "b"), (X_a, X_b, a, b), (X_a, X_b))


def sinkhorn_divergence(X_a, X_b, a=None, b=None, *, reg, reg_m=None, metric="sqeuclidean", max_iter=1000, tol=1e-9,
                        lazy=None, n_threads=None, warn=True):
    """The Sinkhorn divergence ``OT(a, b) - (OT(a, a) + OT(b, b)) / 2`` (:func:`numbaot.sinkhorn_divergence`) with
    gradients in the points (``sum_j P_ij grad c(x_i, y_j) - sum_k Q_ik grad c(x_i, x_k)``) and the weights.

    Examples
    --------
    >>> import torch, numbaot.torch as nt
    >>> x = torch.tensor([[0.0], [1.0]], dtype=torch.float64, requires_grad=True)
    >>> loss = nt.sinkhorn_divergence(x, x.detach() + 0.5, reg=0.01)
    >>> loss.backward()
    >>> round(loss.item(), 4), x.grad.flatten().round(decimals=4).tolist()  # translation: |t|^2, grad 2 a_i (-t)
    (0.25, [-0.5, -0.5])
    """
    return solve_sample(X_a, X_b, a, b, metric, reg=reg, lazy=lazy, debias=True, reg_m=reg_m, max_iter=max_iter,
                        tol=tol, n_threads=n_threads, warn=warn)


def _batched(fn, X_a, X_b, a, b):
    """GeomLoss's batches: (B, N, D) clouds (and (B, N) weights) solved one by one, values stacked (B,)."""
    if X_a.dim() != 3 and X_b.dim() != 3:
        return fn(X_a, X_b, a, b)
    if X_a.dim() != 3 or X_b.dim() != 3 or X_a.shape[0] != X_b.shape[0]:
        raise ValueError(f"batched clouds must both be (B, N, D) with the same B, got X_a {tuple(X_a.shape)} and "
                         f"X_b {tuple(X_b.shape)}")
    for w, name in ((a, "a"), (b, "b")):
        if isinstance(w, torch.Tensor) and w.dim() != 2:
            raise ValueError(f"with batched clouds {name} must be (B, N), got shape {tuple(w.shape)}")
    return torch.stack([fn(X_a[k], X_b[k], None if a is None else a[k], None if b is None else b[k])
                        for k in range(X_a.shape[0])])


def samples_loss(X_a, X_b, a=None, b=None, *, loss="sinkhorn", p=2, blur=0.05, reach=None, diameter=None,
                 scaling=0.5, debias=True, lazy=None, n_threads=None):
    """GeomLoss's ``SamplesLoss(loss, ...)`` (:func:`numbaot.samples_loss`) with gradients in the points and the
    weights. Clouds (N, D), or batches (B, N, D) solved one by one (values (B,)).

    * ``'sinkhorn'``: cost ``|x - y|^p / p``, ``eps = blur^p``, ``rho = reach^p``, annealing from the diameter by
      factors ``scaling``; gradients from the last potentials (as GeomLoss's last extrapolation step).
    * ``'energy'``, ``'gaussian'``, ``'laplacian'``: the kernel norms ``0.5 <a - b, K (a - b)>`` (``blur``: the
      kernel's width), exact gradients (``K_xx a - K_xy b`` in a, not centred: any weights). Memory: the value is
      computed online in O(N + M); the position gradients by blocks of rows (about 16 MiB at a time).
    * ``'hausdorff'``: the Hausdorff divergence (Feydy et al. 2019), the same parameters as 'sinkhorn'; gradients
      (balanced, or unbalanced with ``reach``) by implicit differentiation of the two self-problems' fixed points.
      The value is the converged divergence at those fixed points, the function the gradient differentiates: it
      differs from :func:`numbaot.samples_loss`'s annealed estimate by the schedule's annealing error (see
      :func:`numbaot.autodiff.hausdorff_loss`). Memory: dense (N + M)^2 matrices.

    See :func:`numbaot.autodiff.samples_loss` for the derivations.

    Examples
    --------
    >>> import torch, numbaot.torch as nt
    >>> x = torch.tensor([[0.0, 0.0], [1.0, 0.0]], requires_grad=True)
    >>> loss = nt.samples_loss(x, x.detach() + torch.tensor([0.0, 0.5]), blur=0.01)
    >>> loss.backward()
    >>> round(loss.item(), 4), x.grad[:, 1].round(decimals=3).tolist()  # |t|^2 / 2; grad -t a_i
    (0.125, [-0.25, -0.25])
    >>> x = torch.tensor([[0.0], [2.0]], dtype=torch.float64, requires_grad=True)
    >>> energy = nt.samples_loss(x, torch.zeros(1, 1, dtype=torch.float64), loss="energy")  # E|X-Y| - E|X-X'|/2
    >>> energy.backward()
    >>> energy.item(), x.grad.ravel().tolist()
    (0.5, [0.25, 0.25])
    """
    blur, reach, diameter = _number(blur, "blur"), _number(reach, "reach"), _number(diameter, "diameter")

    def one(X_a, X_b, a, b):
        def call(X_a, X_b, a, b):
            return AD.samples_loss(X_a, X_b, a, b, loss=loss, p=p, blur=blur, reach=reach, diameter=diameter,
                                   scaling=scaling, debias=debias, lazy=lazy, n_threads=n_threads)

        return _run(call, ("X_a", "X_b", "a", "b"), (X_a, X_b, a, b), (X_a, X_b))

    device_of(X_a=X_a, X_b=X_b, a=a, b=b)
    return _batched(one, X_a, X_b, a, b)


class SamplesLoss(torch.nn.Module):
    """GeomLoss's ``SamplesLoss(loss, p, blur, reach, diameter, scaling, debias)`` as a module, for ``loss`` in
    'sinkhorn', 'hausdorff', 'energy', 'gaussian', 'laplacian': call it as ``loss(x, y)`` or ``loss(a, x, b, y)``
    with clouds (N, D) or batches (B, N, D) (see :func:`samples_loss`).

    Examples
    --------
    >>> import torch, numbaot.torch as nt
    >>> loss = nt.SamplesLoss(p=2, blur=0.01)
    >>> x = torch.tensor([[0.0, 0.0], [1.0, 0.0]])
    >>> round(float(loss(x, x + torch.tensor([0.0, 0.5]))), 4)
    0.125
    """

    def __init__(self, loss="sinkhorn", p=2, blur=0.05, reach=None, diameter=None, scaling=0.5, debias=True,
                 lazy=None, n_threads=None):
        super().__init__()
        from ..losses import LOSSES

        if loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got loss={loss!r}")
        self.loss, self.p, self.blur, self.reach, self.diameter = loss, p, blur, reach, diameter
        self.scaling, self.debias, self.lazy, self.n_threads = scaling, debias, lazy, n_threads

    def forward(self, *args):
        if len(args) == 2:
            (x, y), a, b = args, None, None
        elif len(args) == 4:
            a, x, b, y = args
        else:
            raise TypeError(f"SamplesLoss takes (x, y) or (a, x, b, y), got {len(args)} arguments")
        return samples_loss(x, y, a, b, loss=self.loss, p=self.p, blur=self.blur, reach=self.reach,
                            diameter=self.diameter, scaling=self.scaling, debias=self.debias, lazy=self.lazy,
                            n_threads=self.n_threads)

    def extra_repr(self):
        return f"loss={self.loss!r}, p={self.p}, blur={self.blur}, reach={self.reach}, debias={self.debias}"


def wasserstein_1d(u_values, v_values, u_weights=None, v_weights=None, p=1, *, n_threads=None):
    """``W_p^p`` between 1D measures (:func:`numbaot.wasserstein_1d`, one problem) with gradients in the values
    (from the quantile coupling) and the weights (centred potentials).

    Examples
    --------
    >>> import torch, numbaot.torch as nt
    >>> u = torch.tensor([0.0, 1.0], dtype=torch.float64, requires_grad=True)
    >>> w = nt.wasserstein_1d(u, torch.tensor([1.0, 2.0], dtype=torch.float64), p=2)
    >>> w.backward()
    >>> w.item(), u.grad.tolist()
    (1.0, [-1.0, -1.0])
    """
    p = _number(p, "p")

    def call(u, v, uw, vw):
        return AD.wasserstein_1d(u, v, uw, vw, p, n_threads=n_threads)

    names = ("u_values", "v_values", "u_weights", "v_weights")
    return _run(call, names, (u_values, v_values, u_weights, v_weights), (u_values, v_values))


def sliced_wasserstein_distance(X_s, X_t, a=None, b=None, n_projections=50, p=2, projections=None, seed=None, *,
                                n_threads=None):
    """The sliced Wasserstein distance ``SW_p`` (:func:`numbaot.sliced_wasserstein_distance`) with gradients in the
    points and the weights (through each direction's 1D coupling). ``projections`` (d, L) must not require grad.

    Examples
    --------
    >>> import torch, numbaot.torch as nt
    >>> x = torch.tensor([[0.0, 0.0], [1.0, 1.0]], dtype=torch.float64, requires_grad=True)
    >>> sw = nt.sliced_wasserstein_distance(x, x.detach(), n_projections=10, seed=0)
    >>> sw.item()
    0.0
    """
    check_tensor(projections, "projections", differentiable=False)
    if isinstance(projections, torch.Tensor):
        projections = projections.detach().cpu().numpy()

    def call(X_s, X_t, a, b):
        return AD.sliced_wasserstein_distance(X_s, X_t, a, b, n_projections, p, projections, seed,
                                              n_threads=n_threads)

    return _run(call, ("X_s", "X_t", "a", "b"), (X_s, X_t, a, b), (X_s, X_t))


def gromov_wasserstein2(C1, C2, p=None, q=None, *, max_iter=10000, tol_rel=1e-9, tol_abs=1e-9, n_threads=None,
                        warn=True):
    """The square-loss Gromov-Wasserstein value (:func:`numbaot.gromov_wasserstein2`) with gradients in C1, C2
    (at the coupling T found: ``2 (C1 * p p^T - T C2 T^T)``) and the weights (the linearised problem's centred
    potentials, as POT).

    Examples
    --------
    >>> import torch, numbaot.torch as nt
    >>> C = torch.tensor([[0.0, 1.0], [1.0, 0.0]], dtype=torch.float64, requires_grad=True)
    >>> gw = nt.gromov_wasserstein2(C, C.detach())
    >>> gw.backward()
    >>> gw.item(), C.grad.abs().max().item()
    (0.0, 0.0)
    """
    def call(C1, C2, p, q):
        return AD.gromov_wasserstein2(C1, C2, p, q, max_iter=max_iter, tol_rel=tol_rel, tol_abs=tol_abs,
                                      n_threads=n_threads, warn=warn)

    return _run(call, ("C1", "C2", "p", "q"), (C1, C2, p, q), (C1, C2))


def soft_dtw(X, Y, gamma=1.0):
    """soft-DTW between two series (n, d) and (m, d) with the squared Euclidean frame cost
    (:func:`numbaot.timeseries.soft_dtw`), with gradients in both series from the backward recursion (the expected
    alignment; Cuturi and Blondel 2017).

    Examples
    --------
    >>> import torch, numbaot.torch as nt
    >>> x = torch.tensor([1.0], dtype=torch.float64, requires_grad=True)
    >>> d = nt.soft_dtw(x, torch.tensor([3.0], dtype=torch.float64))
    >>> d.backward()
    >>> d.item(), x.grad.tolist()
    (4.0, [-4.0])
    """
    gamma = _number(gamma, "gamma")

    def call(X, Y):
        return AD.soft_dtw(X, Y, gamma)

    return _run(call, ("X", "Y"), (X, Y), (X, Y))


def barycenter(A, M, reg, weights=None, *, debias=False, reg_m=None, method="sinkhorn_log", max_iter=10000,
               tol=None, n_threads=None, warn=True):
    """The entropic Wasserstein barycenter (m,) of the histograms ``A`` (n, K) on a fixed support
    (:func:`numbaot.barycenter`, iterative Bregman projections), with gradients in ``A``, the cost ``M`` and the
    ``weights`` by **implicit differentiation** of the fixed point (not by unrolling the iterations: one linear
    solve however many iterations ran; exact at convergence, so pass a small ``tol`` when the gradient matters): a
    few dense m x m factorisations, O(K (n m^2 + m^3)) time; see :func:`numbaot.autodiff.barycenter`. The weights
    must sum to 1 (parametrise them, e.g. ``torch.softmax(theta, 0)``); their gradient is that of
    ``x(weights / weights.sum())``. CPU tensors.

    ``debias=True`` gives the debiased barycenter (:func:`numbaot.barycenter_debiased`, ``M`` square), ``reg_m``
    (a number) the unbalanced one (:func:`numbaot.barycenter_unbalanced`); their gradients in ``A``, ``M`` and
    ``weights`` are by implicit differentiation of the same iteration's fixed point, one dense system of
    ``(K + 2) m`` unknowns at most. Where that fixed point is not differentiable (a zero entry of an unbalanced
    input: an infinite one-sided derivative; a debiased barycenter of sharp inputs at a small reg: a ConvergenceWarning)
    see :func:`numbaot.autodiff.barycenter`.

    Examples
    --------
    >>> import torch, numbaot.torch as nt
    >>> x = torch.arange(5, dtype=torch.float64)
    >>> M = (x[:, None] - x[None, :]) ** 2
    >>> A = torch.tensor([[0.5, 0.5, 0, 0, 0], [0, 0, 0, 0.5, 0.5]], dtype=torch.float64).T.requires_grad_(True)
    >>> bar = nt.barycenter(A, M, reg=0.5, tol=1e-12)
    >>> bar.sum().backward()  # the barycenter has the inputs' mass: 1/2 of it from each of the two inputs
    >>> int(bar.argmax()), A.grad.round(decimals=6).unique().tolist()
    (2, [0.5])
    """
    from ._bridge import apply_map

    reg = _number(reg, "reg")
    for name, t in (("A", A), ("M", M), ("weights", weights)):
        check_tensor(t, name)

    def call(A, M, weights):
        return AD.barycenter(A, M, reg, weights, debias=debias, reg_m=_number(reg_m, "reg_m"), method=method,
                             max_iter=max_iter, tol=tol, n_threads=n_threads, warn=warn)

    return apply_map(call, ("A", "M", "weights"), (A, M, weights), dtype=_dtype(A, M))


def barycenter_debiased(A, M, reg, weights=None, *, method="sinkhorn_log", max_iter=10000, tol=None,
                        n_threads=None, warn=True):
    """The debiased entropic barycenter (:func:`numbaot.barycenter_debiased`) with gradients in ``A``, ``M`` and
    ``weights``: :func:`barycenter` with ``debias=True``.

    Examples
    --------
    >>> import torch, numbaot.torch as nt
    >>> x = torch.linspace(0, 1, 6, dtype=torch.float64)
    >>> M = (x[:, None] - x[None, :]) ** 2
    >>> A = torch.full((6, 2), 1 / 6, dtype=torch.float64, requires_grad=True)
    >>> bar = nt.barycenter_debiased(A, M, reg=0.1, tol=1e-12)
    >>> bar.sum().backward()  # the mass is the inputs'
    >>> A.grad.round(decimals=6).unique().tolist()
    [0.5]
    """
    return barycenter(A, M, reg, weights, debias=True, method=method, max_iter=max_iter, tol=tol,
                      n_threads=n_threads, warn=warn)


def barycenter_unbalanced(A, M, reg, reg_m, *, weights=None, method="sinkhorn_log", max_iter=10000, tol=None,
                          n_threads=None, warn=True):
    """The entropic barycenter of unbalanced histograms (:func:`numbaot.barycenter_unbalanced`, KL penalties of
    strength ``reg_m``) with gradients in ``A``, ``M`` and ``weights``: :func:`barycenter` with ``reg_m``.
    (``weights`` and ``method`` are keywords: POT's order puts ``method`` fifth, so no position is shared.)

    Examples
    --------
    >>> import torch, numbaot.torch as nt
    >>> x = torch.arange(4, dtype=torch.float64)
    >>> M = (x[:, None] - x[None, :]) ** 2
    >>> A = torch.tensor([[0.5, 0.5, 0, 0], [0, 0, 1.0, 1.0]], dtype=torch.float64).T.requires_grad_(True)
    >>> nt.barycenter_unbalanced(A + 0.01, M, reg=1.0, reg_m=1.0, tol=1e-12).sum().backward()
    >>> bool(torch.isfinite(A.grad).all())
    True
    """
    return barycenter(A, M, reg, weights, reg_m=reg_m, method=method, max_iter=max_iter, tol=tol,
                      n_threads=n_threads, warn=warn)


def barycenter_1d(x_list, a_list=None, weights=None):
    """The Wasserstein-2 barycenter of K measures on the line (:func:`numbaot.barycenter_1d`, free support, closed
    form: the weighted average of the quantile functions), as ``(support (L,), masses (L,))`` tensors; the support
    carries gradients in the points ``x_list`` (each support point is ``sum_k weights_k`` times input k's point at
    its quantile level: the gradient is exact away from ties). ``a_list`` and ``weights`` must not require grad
    (the masses are piecewise constant). CPU tensors.

    Examples
    --------
    >>> import torch, numbaot.torch as nt
    >>> x = torch.tensor([0.0, 1.0], dtype=torch.float64, requires_grad=True)
    >>> support, masses = nt.barycenter_1d([x, torch.tensor([4.0, 5.0], dtype=torch.float64)], weights=[0.25, 0.75])
    >>> support.sum().backward()
    >>> support.tolist(), masses.tolist(), x.grad.tolist()
    ([3.0, 4.0], [0.5, 0.5], [0.25, 0.25])
    """
    from ._bridge import apply_map

    if not isinstance(x_list, (list, tuple)) or len(x_list) == 0:
        raise TypeError("x_list must be a non-empty list of 1-D tensors of support points, one per input measure")
    names = tuple(f"x_list{k}" for k in range(len(x_list)))
    for name, x in zip(names, x_list):
        check_tensor(x, name.replace("x_list", "x_list[") + "]")
    consts = []
    for k, a in enumerate(a_list or ()):
        check_tensor(a, f"a_list[{k}]", differentiable=False)
        consts.append(a.detach().cpu().numpy() if isinstance(a, torch.Tensor) else a)
    a_np = None if a_list is None else consts
    check_tensor(weights, "weights", differentiable=False)
    w_np = weights.detach().cpu().numpy() if isinstance(weights, torch.Tensor) else weights
    kept = {}

    def call(*xs):
        support, masses, vjp = AD.barycenter_1d(list(xs), a_np, w_np)
        kept["masses"] = masses
        return support, vjp

    dtype = _dtype(*x_list)
    support = apply_map(call, names, tuple(x_list), dtype=dtype)
    return support, torch.from_numpy(np.asarray(kept["masses"])).to(dtype)
