"""Gaussian optimal transport front-ends: Bures-Wasserstein distances, Monge maps, barycenters (``ot.gaussian``),
and OT between Gaussian mixtures (``ot.gmm``, Delon and Desolneux 2020).

Between ``N(m_s, C_s)`` and ``N(m_t, C_t)`` the 2-Wasserstein distance has the closed form

    W_2^2 = |m_s - m_t|^2 + tr(C_s) + tr(C_t) - 2 tr((C_s^{1/2} C_t C_s^{1/2})^{1/2})

and the Monge map is ``x -> A x + b`` with ``A = C_s^{-1/2} (C_s^{1/2} C_t C_s^{1/2})^{1/2} C_s^{-1/2}`` and
``b = m_t - A m_s``. As in POT, the distances returned are ``W_2`` (not squared) and maps apply to row vectors
as ``x @ A + b`` (A is symmetric). Validation lives here; the cores (``_bures``) compute in float64.
"""
from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from .. import _config, _dispatch, _validation as V
from .._status import MAX_ITER_REACHED, NUMERICAL_ERROR, OPTIMAL, Status, warn_status

_PSD_MODES = ("raise", "project")
_BARYCENTER_METHODS = ("fixed_point", "gradient_descent", "stochastic_gradient_descent",
                       "averaged_stochastic_gradient_descent")
_STOCHASTIC = _BARYCENTER_METHODS[2:]
#: Relative tolerances (to the largest entry / eigenvalue) for symmetry and for eigenvalues below zero.
_SYM_RTOL = 1e-10
_PSD_RTOL = 1e-10
#: Rows per block when forming a covariance: the centred block stays in cache between the two BLAS products.
_COV_BLOCK = 2048


# ------------------------------------------------------------------------------------------------------ validation
def _check_psd_mode(psd):
    if not isinstance(psd, str) or psd not in _PSD_MODES:
        raise ValueError(f"psd must be one of {_PSD_MODES} (refuse, or project onto the PSD cone with a warning), "
                         f"got {psd!r}")
    return psd


def _check_means(m, name):
    m = V.as_float_array(m, name, ndim=(1, 2))
    V.check_finite(m, name)
    return m


def _check_covariances(C, name, psd, n_threads=None):
    """Square symmetric PSD matrices (d, d) or (K, d, d), as float64 C-contiguous.

    Asymmetry beyond float noise and negative eigenvalues beyond float noise raise a ValueError naming the matrix;
    with ``psd='project'`` negative eigenvalues are set to 0 (an ``InputWarning``). Noise-level asymmetry is
    averaged away; noise-level negative eigenvalues are left to the cores, which clip them.
    """
    C = V.as_float_array(C, name, ndim=(2, 3))
    if C.shape[-1] != C.shape[-2]:
        raise ValueError(f"{name} must be square covariance matrices, got shape {C.shape}")
    V.check_finite(C, name)
    C = C.astype(np.float64)  # a copy: symmetrised below without touching the caller's array
    stack = C if C.ndim == 3 else C[None]
    scale = np.max(np.abs(stack), axis=(1, 2))
    asym = np.max(np.abs(stack - np.swapaxes(stack, 1, 2)), axis=(1, 2))
    bad = np.flatnonzero(asym > _SYM_RTOL * np.maximum(scale, np.finfo(float).tiny))
    if bad.size:
        k = int(bad[0])
        where = f"{name}[{k}]" if C.ndim == 3 else name
        i, j = np.unravel_index(np.argmax(np.abs(stack[k] - stack[k].T)), stack[k].shape)
        raise ValueError(f"{where} is not symmetric: entry ({i}, {j}) is {stack[k][i, j]!r} but ({j}, {i}) is "
                         f"{stack[k][j, i]!r}; pass covariance matrices (symmetrise with (C + C.T) / 2)")
    stack[:] = 0.5 * (stack + np.swapaxes(stack, 1, 2))
    from ._bures import clip_negative_eigenvalues, eigenvalue_range

    C = np.ascontiguousarray(C)
    stack = C if C.ndim == 3 else C[None]
    extremes = _run_parallel(eigenvalue_range, _config.n_threads(n_threads), stack)
    floor = -_PSD_RTOL * np.maximum(np.abs(extremes).max(axis=1), np.finfo(float).tiny)
    bad = np.flatnonzero(extremes[:, 0] < floor)
    if bad.size:
        k = int(bad[0])
        where = f"{name}[{k}]" if C.ndim == 3 else name
        if psd == "raise":
            raise ValueError(f"{where} is not positive semi-definite: its smallest eigenvalue is {extremes[k, 0]:.6g}; "
                             "pass covariance matrices, or psd='project' to set negative eigenvalues to 0")
        warnings.warn(f"{where} is not positive semi-definite (smallest eigenvalue {extremes[k, 0]:.6g}); its "
                      "negative eigenvalues are set to 0", V.InputWarning, stacklevel=4)
        for k in bad:
            stack[k] = clip_negative_eigenvalues(stack[k])
    return C, extremes[:, 0]


def _gaussians(m, C, name_m, name_C, psd, n_threads=None):
    """Means (K, d) and covariances (K, d, d) of one side, with ``batched`` telling whether they came as stacks."""
    m = _check_means(m, name_m)
    C, smallest = _check_covariances(C, name_C, psd, n_threads)
    if m.ndim + 1 != C.ndim:
        raise ValueError(f"{name_m} has shape {m.shape} and {name_C} {C.shape}: pass one Gaussian ((d,) and (d, d)) "
                         "or a stack ((K, d) and (K, d, d))")
    if m.shape[-1] != C.shape[-1] or (m.ndim == 2 and m.shape[0] != C.shape[0]):
        raise ValueError(f"{name_m} has shape {m.shape} but {name_C} has shape {C.shape}; they must describe the "
                         "same Gaussians: (d,) with (d, d), or (K, d) with (K, d, d)")
    batched = m.ndim == 2
    return (np.ascontiguousarray(m.reshape(-1, m.shape[-1]), dtype=np.float64),
            C if batched else C[None], smallest, batched)


def _same_dimension(d_s, d_t, names):
    if d_s != d_t:
        raise ValueError(f"{names[0]} lives in dimension {d_s} but {names[1]} in dimension {d_t}; both Gaussians "
                         "must have the same dimension")


def _run_parallel(core, threads, *args):
    import numba

    previous = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        return core(*args)
    finally:
        numba.set_num_threads(previous)


# ------------------------------------------------------------------------------------------- Bures-Wasserstein
def bures_wasserstein_distance(ms, mt, Cs, Ct, paired=False, *, psd="raise", n_threads=None):
    r"""2-Wasserstein distance between Gaussians, in closed form (POT's ``ot.gaussian.bures_wasserstein_distance``).

    .. math:: W_2^2 = \|m_s - m_t\|^2 + \mathrm{tr}(C_s) + \mathrm{tr}(C_t)
              - 2\,\mathrm{tr}\big((C_s^{1/2} C_t C_s^{1/2})^{1/2}\big)

    Parameters
    ----------
    ms, mt : arrays of shape (d,), or (n, d) and (m, d)
        Means: one Gaussian per side, or stacks of them.
    Cs, Ct : arrays of shape (d, d), or (n, d, d) and (m, d, d)
        Covariances: symmetric positive semi-definite.
    paired : bool
        With stacks of equal length: the n distances between the pairs (i, i) instead of all n x m.
    psd : {'raise', 'project'}
        A covariance with a negative eigenvalue (beyond float noise) raises a ValueError, or with 'project' has
        its negative eigenvalues set to 0 (with an InputWarning). Asymmetric matrices always raise.
    n_threads : int, optional
        Threads of the parallel cores (default: Numba's thread count).

    Returns
    -------
    float, or array of shape (n, m) (or (n,) when ``paired``)
        ``W_2`` (not squared), as POT; a CUDA array of the caller's kind (CuPy in, CuPy out) for device stacks.

    Notes
    -----
    Device arrays (CuPy, Numba) run on the GPU, batched over all pairs, in float64. Square roots there are
    coupled Newton-Schulz iterations on ``C / ||C||_F`` (stop when the root changes by at most 1e-12 in Frobenius
    norm, at most 100 iterations, enough for any float64 condition number); one that does not converge gives a
    ``ConvergenceWarning`` naming the status (MAX_ITER_REACHED or NUMERICAL_ERROR), and the value is the last
    iterate's. Values are checked on the device: symmetry as on the host, positive semi-definiteness by a Cholesky
    factorisation of ``C + 1e-10 max|C| I``; ``psd='project'`` needs an eigendecomposition and refuses device
    matrices that are not PSD.

    Examples
    --------
    >>> import numpy as np, numbaot
    >>> float(numbaot.bures_wasserstein_distance(np.zeros(2), np.array([3.0, 4.0]), np.eye(2), np.eye(2)))
    5.0
    >>> round(float(numbaot.bures_wasserstein_distance([0.0], [0.0], [[1.0]], [[4.0]])), 12)  # |sigma_s - sigma_t|
    1.0
    """
    psd = _check_psd_mode(psd)
    paired = V.check_bool(paired, "paired")
    placement = _dispatch.place(ms=ms, mt=mt, Cs=Cs, Ct=Ct)
    if placement.on_gpu:
        from . import _gpu

        return _gpu.distance(placement, ms, mt, Cs, Ct, paired, psd)
    ms_, Cs_, _, batched_s = _gaussians(ms, Cs, "ms", "Cs", psd, n_threads)
    mt_, Ct_, _, batched_t = _gaussians(mt, Ct, "mt", "Ct", psd, n_threads)
    _same_dimension(ms_.shape[1], mt_.shape[1], ("Cs", "Ct"))
    if batched_s != batched_t:
        raise ValueError("pass one Gaussian on both sides or stacks on both sides (ms, Cs with mt, Ct)")
    if paired and batched_s and ms_.shape[0] != mt_.shape[0]:
        raise ValueError(f"paired=True needs stacks of equal length, got {ms_.shape[0]} and {mt_.shape[0]} Gaussians")
    from ._bures import bures_squared_core

    use_pairs = paired and batched_s
    squared = _run_parallel(bures_squared_core, _config.n_threads(n_threads), ms_, mt_, Cs_, Ct_, use_pairs)
    dist = np.sqrt(squared)
    if not batched_s:
        return float(dist[0])
    return dist if use_pairs else dist.reshape(ms_.shape[0], mt_.shape[0])


def _bures_map(ms, mt, Cs, Ct, name):
    """``(A, b)`` for one pair of checked Gaussians; a singular ``Cs`` raises (no unique map)."""
    from ._bures import bures_map_core

    A, smallest = bures_map_core(Cs, Ct)
    largest = float(np.max(np.abs(np.diag(Cs)))) if Cs.size else 0.0
    if not smallest > 1e-12 * max(largest, np.finfo(float).tiny):
        raise ValueError(f"{name} is singular (smallest eigenvalue {smallest:.3g}): the Monge map from a degenerate "
                         "Gaussian is not defined; regularise it (C + reg * I, or reg > 0 in the empirical functions)")
    return A, mt - ms @ A


def bures_wasserstein_mapping(ms, mt, Cs, Ct, *, psd="raise"):
    r"""The optimal (Monge) map between two Gaussians: ``x -> x @ A + b`` (POT's
    ``ot.gaussian.bures_wasserstein_mapping``).

    Parameters
    ----------
    ms, mt : arrays of shape (d,)
        Means.
    Cs, Ct : arrays of shape (d, d)
        Covariances, symmetric; ``Cs`` positive definite (the map from a degenerate Gaussian is not unique: a
        ValueError suggests regularising it).
    psd : {'raise', 'project'}
        As in :func:`bures_wasserstein_distance`.

    Returns
    -------
    A : array of shape (d, d)
        Symmetric positive semi-definite linear part.
    b : array of shape (d,)
        Translation ``mt - ms @ A``.

    Notes
    -----
    Device arrays run on the GPU (see :func:`bures_wasserstein_distance`); ``A`` and ``b`` come back as the caller's
    kind of CUDA array. ``Cs`` counts as singular there when ``Cs - 1e-12 max|Cs| I`` has no Cholesky factor.

    Examples
    --------
    >>> import numpy as np, numbaot
    >>> A, b = numbaot.bures_wasserstein_mapping(np.zeros(2), np.ones(2), np.eye(2), 4 * np.eye(2))
    >>> A, b
    (array([[2., 0.],
           [0., 2.]]), array([1., 1.]))
    """
    psd = _check_psd_mode(psd)
    placement = _dispatch.place(ms=ms, mt=mt, Cs=Cs, Ct=Ct)
    if placement.on_gpu:
        from . import _gpu

        return _gpu.mapping(placement, ms, mt, Cs, Ct, psd)
    ms_, Cs_, _, batched_s = _gaussians(ms, Cs, "ms", "Cs", psd)
    mt_, Ct_, _, batched_t = _gaussians(mt, Ct, "mt", "Ct", psd)
    if batched_s or batched_t:
        raise ValueError("bures_wasserstein_mapping takes one Gaussian per side: ms, mt of shape (d,), Cs, Ct of "
                         "shape (d, d)")
    _same_dimension(ms_.shape[1], mt_.shape[1], ("Cs", "Ct"))
    return _bures_map(ms_[0], mt_[0], Cs_[0], Ct_[0], "Cs")


# -------------------------------------------------------------------------------------------- empirical versions
def _check_reg_nonnegative(reg):
    if isinstance(reg, bool) or not isinstance(reg, numbers.Real):
        raise TypeError(f"reg must be a non-negative real number, got {reg!r}")
    reg = float(reg)
    if not math.isfinite(reg) or reg < 0:
        raise ValueError(f"reg must be a finite number >= 0 (added to the covariances' diagonal), got {reg}")
    return reg


def _sample_weights(w, name, n):
    if w is None:
        return None
    w = V.as_float_array(w, name, ndim=(1, 2))
    if w.ndim == 2:
        if w.shape[1] != 1:
            raise ValueError(f"{name} has shape {w.shape}; it must be ({n},) or ({n}, 1)")
        w = w[:, 0]
    return V.check_weights(np.ascontiguousarray(w), name, n).astype(np.float64, copy=False)


def _moments(x, w, bias, reg):
    """Weighted mean (d,) and covariance (d, d) + reg I of the rows of ``x``, without a centred (n, d) copy.

    Uniform weights: one BLAS product ``x^T x / n - mean mean^T`` when the mean does not dwarf the spread (no
    cancellation beyond ~1e-12); otherwise, and with weights, block by block: each block is centred in a small
    buffer and multiplied by BLAS while it is in cache. ``bias=False`` takes the mean as 0 (POT's convention).
    """
    n, d = x.shape
    total = float(n) if w is None else float(np.sum(w))
    if bias:
        mean = (x.sum(axis=0) if w is None else w @ x) / total
    else:
        mean = np.zeros(d)
    cov = None
    if w is None:
        # One BLAS product of the raw data, corrected by the mean: exact enough unless the mean dwarfs the spread
        # (cancellation), which the test below detects; the blocks then centre first.
        raw = x.T @ x / total
        cov = raw - np.outer(mean, mean)
        spread = np.diag(cov)
        if not np.all(mean * mean <= 1e4 * spread):
            cov = None
    if cov is None:
        cov = np.zeros((d, d))
        for start in range(0, n, _COV_BLOCK):
            block = x[start:start + _COV_BLOCK] - mean
            cov += block.T @ (block if w is None else block * w[start:start + _COV_BLOCK, None])
        cov /= total
    cov = 0.5 * (cov + cov.T)
    cov[np.diag_indices(d)] += reg
    return mean, cov


def _empirical_placement(xs, xt, reg, ws, wt, bias):
    """The scalars checked, and where the samples live."""
    placement = _dispatch.place(xs=xs, xt=xt, ws=ws, wt=wt)
    return placement, _check_reg_nonnegative(reg), V.check_bool(bias, "bias")


def _empirical(xs, xt, reg, ws, wt, bias):
    xs = V.check_points(xs, "xs")
    xt = V.check_points(xt, "xt")
    V.check_same_dimension(xs, xt, ("xs", "xt"))
    reg = _check_reg_nonnegative(reg)
    bias = V.check_bool(bias, "bias")
    ws = _sample_weights(ws, "ws", xs.shape[0])
    wt = _sample_weights(wt, "wt", xt.shape[0])
    ms, Cs = _moments(xs.astype(np.float64, copy=False), ws, bias, reg)
    mt, Ct = _moments(xt.astype(np.float64, copy=False), wt, bias, reg)
    return ms, mt, Cs, Ct


def empirical_bures_wasserstein_distance(xs, xt, reg=1e-6, ws=None, wt=None, bias=True, *, n_threads=None):
    r"""``W_2`` between the Gaussians fitted to two weighted samples (POT's
    ``ot.gaussian.empirical_bures_wasserstein_distance``).

    Parameters
    ----------
    xs, xt : arrays of shape (n, d) and (m, d)
        Samples.
    reg : float >= 0
        Added to the diagonal of both covariances.
    ws, wt : arrays of shape (n,) or (n, 1), and (m,) or (m, 1), optional
        Sample weights (uniform when None), normalised to sum 1 on each side.
    bias : bool
        Estimate the means (True), or take them as 0 (False), as POT.
    n_threads : int, optional
        Threads of the parallel cores.

    Returns
    -------
    float

    Notes
    -----
    Device samples (and weights) run on the GPU: moments by blocked reductions, then the square roots of
    :func:`bures_wasserstein_distance`'s GPU path; only the value comes back to the host.

    Examples
    --------
    >>> import numpy as np, numbaot
    >>> x = np.random.default_rng(0).normal(size=(1000, 2))
    >>> round(float(numbaot.empirical_bures_wasserstein_distance(x, x + [3.0, 4.0])), 10)
    5.0
    """
    placement, reg, bias = _empirical_placement(xs, xt, reg, ws, wt, bias)
    if placement.on_gpu:
        from . import _gpu

        return _gpu.empirical_distance(placement, xs, xt, reg, ws, wt, bias)
    ms, mt, Cs, Ct = _empirical(xs, xt, reg, ws, wt, bias)
    from ._bures import bures_squared_core

    squared = _run_parallel(bures_squared_core, _config.n_threads(n_threads), ms[None], mt[None], Cs[None], Ct[None],
                            False)
    return float(np.sqrt(squared[0]))


def empirical_bures_wasserstein_mapping(xs, xt, reg=1e-6, ws=None, wt=None, bias=True):
    r"""The Monge map ``x -> x @ A + b`` between the Gaussians fitted to two weighted samples (POT's
    ``ot.gaussian.empirical_bures_wasserstein_mapping``); parameters as in
    :func:`empirical_bures_wasserstein_distance`. A singular source covariance (``reg = 0`` with fewer samples
    than dimensions, say) raises a ValueError suggesting ``reg > 0``.

    Returns
    -------
    A : array of shape (d, d)
    b : array of shape (d,)
        With device samples: computed on the GPU, returned as the caller's kind of CUDA array.

    Examples
    --------
    >>> import numpy as np, numbaot
    >>> x = np.random.default_rng(0).normal(size=(500, 2))
    >>> A, b = numbaot.empirical_bures_wasserstein_mapping(x, 2 * x + 1, reg=0.0)
    >>> bool(np.allclose(x @ A + b, 2 * x + 1))
    True
    """
    placement, reg, bias = _empirical_placement(xs, xt, reg, ws, wt, bias)
    if placement.on_gpu:
        from . import _gpu

        return _gpu.empirical_mapping(placement, xs, xt, reg, ws, wt, bias)
    ms, mt, Cs, Ct = _empirical(xs, xt, reg, ws, wt, bias)
    return _bures_map(ms, mt, Cs, Ct, "the covariance of xs")


# ---------------------------------------------------------------------------------------------------- barycenter
def bures_wasserstein_barycenter(m, C, weights=None, method="fixed_point", *, max_iter=1000, tol=1e-7,
                                 step_size=1.0, batch_size=None, seed=None, psd="raise", n_threads=None):
    r"""Wasserstein barycenter ``N(m_b, C_b)`` of K Gaussians (POT's ``ot.gaussian.bures_wasserstein_barycenter``).

    The mean is ``sum_k w_k m_k``; the covariance is the fixed point of

    .. math:: C \mapsto C^{-1/2} \Big(\sum_k w_k (C^{1/2} C_k C^{1/2})^{1/2}\Big)^2 C^{-1/2}

    (Alvarez-Esteban et al. 2016), from ``sum_k w_k C_k``, with the K square roots computed in parallel.
    ``method='stochastic_gradient_descent'`` draws ``batch_size`` of the Gaussians per step (with replacement, with
    probabilities ``weights``), steps along the mean of their maps with the decreasing step
    ``2 / (0.7 (t + 2 / 0.7 + 1))`` and stops when the mean change over the last 100 steps falls to ``tol`` (as
    POT; the change only decays like 1/t, so expect the cap and its warning); the ``averaged_`` variant returns
    the running Bures-Wasserstein (Polyak-type) average of the iterates, the t-th entering by a step of 1/t along
    the geodesic from the average so far (cf. Backhoff-Veraguas et al. 2022): less noisy than the last iterate.
    With ``batch_size >= K`` they are plain gradient descent. Host arrays only.
    ``method='gradient_descent'`` takes Riemannian gradient steps of size ``step_size`` instead (Chewi et al.
    2020); a step of 1 is the fixed-point iteration.

    Parameters
    ----------
    m : array of shape (K, d)
        Means.
    C : array of shape (K, d, d)
        Covariances (symmetric PSD, with no common null space: their weighted mean must be positive definite).
    weights : array of shape (K,), optional
        Non-negative barycentric weights summing to 1 (uniform when None).
    method : {'fixed_point', 'gradient_descent', 'stochastic_gradient_descent', 'averaged_stochastic_gradient_descent'}
    max_iter : int >= 1
        Maximum number of iterations; reaching it emits a ConvergenceWarning.
    tol : float >= 0
        Stop when the Frobenius norm of the covariance's change falls to ``tol`` (POT's ``eps``).
    step_size : float in (0, 2)
        'gradient_descent' only (and the stochastic methods when ``batch_size >= K``).
    batch_size : int >= 1, optional
        Gaussians drawn per step of the stochastic methods (default 1).
    seed : int or numpy Generator, optional
        Random draws of the stochastic methods.
    psd : {'raise', 'project'}
        As in :func:`bures_wasserstein_distance`.
    n_threads : int, optional
        Threads of the parallel cores.

    Returns
    -------
    mb : array of shape (d,)
    Cb : array of shape (d, d)
        With device ``m`` and ``C`` (and weights on the device or None): computed on the GPU with Newton-Schulz
        square roots (see :func:`bures_wasserstein_distance`), returned as the caller's kind of CUDA array; only
        the change per iteration comes back to the host.

    Examples
    --------
    >>> import numpy as np, numbaot
    >>> mb, Cb = numbaot.bures_wasserstein_barycenter(np.array([[0.0], [2.0]]), np.array([[[1.0]], [[9.0]]]))
    >>> float(mb[0]), round(float(Cb[0, 0]), 10)                      # 1D: the mean of the standard deviations
    (1.0, 4.0)
    """
    if not isinstance(method, str) or method not in _BARYCENTER_METHODS:
        raise ValueError(f"method must be one of {_BARYCENTER_METHODS}, got {method!r}")
    max_iter = V.check_max_iter(max_iter)
    tol = V.check_tol(tol)
    if isinstance(step_size, bool) or not isinstance(step_size, numbers.Real):
        raise TypeError(f"step_size must be a real number in (0, 2), got {step_size!r}")
    step = float(step_size) if method != "fixed_point" else 1.0
    if not 0 < step < 2:
        raise ValueError(f"step_size must lie in (0, 2) (the step of the Riemannian gradient descent), got {step}")
    stochastic = method in _STOCHASTIC
    if batch_size is not None or stochastic:
        batch_size = V.check_max_iter(1 if batch_size is None else batch_size, "batch_size")
        if not stochastic:
            raise ValueError(f"batch_size is for the stochastic methods {_STOCHASTIC}, not method={method!r}")
    if seed is not None and not isinstance(seed, np.random.Generator):
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
            raise TypeError(f"seed must be None, a non-negative int or a numpy Generator, got {seed!r}")
        if seed < 0:
            raise ValueError(f"seed must be a non-negative int (numpy's seeds are), got {seed}")
    psd = _check_psd_mode(psd)
    placement = _dispatch.place(m=m, C=C, weights=weights)
    if stochastic:
        _dispatch.require_host(placement, f"bures_wasserstein_barycenter(method={method!r})",
                               "pass numpy arrays, or use method='fixed_point' or 'gradient_descent' on the GPU")
    if placement.on_gpu:
        from . import _gpu

        return _gpu.barycenter(placement, m, C, weights, step, max_iter, tol, psd, _barycenter_weights)
    means, covs, _, batched = _gaussians(m, C, "m", "C", psd, n_threads)
    if not batched:
        raise ValueError(f"m must be a stack of means (K, d) and C of covariances (K, d, d), got {np.shape(m)} and "
                         f"{np.shape(C)}")
    K = means.shape[0]
    w = _barycenter_weights(weights, K)
    mb = w @ means
    start = np.einsum("k,kij->ij", w, covs)
    from ._bures import bures_barycenter_core, eigenvalue_range

    smallest = float(eigenvalue_range(start[None])[0, 0])
    if not smallest > 1e-12 * max(float(np.max(np.abs(start))), np.finfo(float).tiny):
        raise ValueError("the covariances share a null space (their weighted mean is singular, smallest eigenvalue "
                         f"{smallest:.3g}): the barycenter is degenerate; regularise them (C + reg * I)")
    threads = _config.n_threads(n_threads)
    if stochastic and batch_size < K:
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        Cb, status, n_iter, change = _run_parallel(_stochastic_barycenter, threads, covs, w, start, batch_size,
                                                   method == _STOCHASTIC[1], max_iter, tol, rng, min(threads, K))
    else:
        Cb, status, n_iter, change = _run_parallel(bures_barycenter_core, threads, covs, w, start, step, max_iter,
                                                   tol, min(threads, K))
    status = Status(int(status))
    if status == Status.NUMERICAL_ERROR:
        raise FloatingPointError("bures_wasserstein_barycenter: the iterate lost positive definiteness or became "
                                 "non-finite; the covariances are too ill-conditioned: regularise them (C + reg * I)")
    warn_status(status, "bures_wasserstein_barycenter", f"{n_iter} iterations, last change {change:.3g} > tol={tol:g}")
    return mb, Cb


def _stochastic_barycenter(covs, w, S, batch, averaged, max_iter, tol, rng, chunks):
    """Stochastic (and averaged) Riemannian gradient descent for the Bures barycenter's covariance, from ``S``:
    each step maps S to ``G S G`` with ``G = (1 - eta) I + eta T`` and T the mean of the Monge maps from N(0, S) to
    ``batch`` Gaussians drawn with probabilities ``w``. If ``averaged``, returns instead the running
    Bures-Wasserstein mean of the iterates ``S_1 .. S_t`` (step t moves it 1/t of the way along the geodesic to
    ``S_t``). Returns ``(S, status, n_iter, mean recent change)``."""
    from ._bures import _weighted_root_sum, sqrtm_and_inverse, sqrtm_sym

    K, d = covs.shape[0], covs.shape[1]
    eye = np.eye(d)
    uniform = np.full(batch, 1.0 / batch)
    S_avg = S.copy()
    changes = []
    for it in range(max_iter):
        root, inv, smallest = sqrtm_and_inverse(S)
        if not smallest > 0.0:
            return (S_avg if averaged else S), NUMERICAL_ERROR, it, np.inf
        drawn = np.ascontiguousarray(covs[rng.choice(K, size=batch, replace=True, p=w)])
        T = inv @ _weighted_root_sum(root, drawn, uniform, min(chunks, batch)) @ inv
        eta = 2.0 / (0.7 * (it + 2.0 / 0.7 + 1.0))
        G = eta * 0.5 * (T + T.T) + (1.0 - eta) * eye
        S_new = G @ S @ G
        S_new = 0.5 * (S_new + S_new.T)
        if averaged:
            r_avg, i_avg, small_avg = sqrtm_and_inverse(S_avg)
            if not small_avg > 0.0:
                return S_avg, NUMERICAL_ERROR, it, np.inf
            # running Bures-Wasserstein (Polyak) mean of the iterates S_1 .. S_{it+1}: a step of 1 / (it + 1) along
            # the geodesic from the mean so far to the newest iterate (its map M: H = (1 - s) I + s M)
            middle = r_avg @ S_new @ r_avg
            M = i_avg @ sqrtm_sym(np.ascontiguousarray(0.5 * (middle + middle.T))) @ i_avg
            s_new = 1.0 / (it + 1.0)
            H = eye * (1.0 - s_new) + 0.5 * (M + M.T) * s_new
            S_avg = H @ S_avg @ H
            S_avg = 0.5 * (S_avg + S_avg.T)
        changes.append(float(np.linalg.norm(S_new - S)))
        S = S_new
        recent = float(np.mean(changes[-100:]))
        if not np.isfinite(recent):
            return (S_avg if averaged else S), NUMERICAL_ERROR, it + 1, recent
        if recent <= tol:
            return (S_avg if averaged else S), OPTIMAL, it + 1, recent
    return (S_avg if averaged else S), MAX_ITER_REACHED, max_iter, float(np.mean(changes[-100:]))


def _barycenter_weights(weights, K):
    if weights is None:
        return np.full(K, 1.0 / K)
    w = V.check_weights(weights, "weights", K).astype(np.float64, copy=False)
    total = float(np.sum(w))
    if abs(total - 1.0) > 1e-9:
        raise ValueError(f"weights must sum to 1 (barycentric weights), got sum {total:.17g}; pass weights / "
                         "weights.sum()")
    return np.ascontiguousarray(w / total)


# ------------------------------------------------------------------------------------- Gaussian Gromov-Wasserstein
def _sorted_eigen(C):
    """Eigenvalues (decreasing, negative rounding clipped to 0) and the matching eigenvectors of a symmetric C."""
    w, U = np.linalg.eigh(C)
    order = np.argsort(w)[::-1]
    return np.maximum(w[order], 0.0), U[:, order]


def _single_covariance(C, name):
    C, _ = _check_covariances(C, name, "raise")
    if C.ndim != 2:
        raise ValueError(f"{name} must be one covariance matrix (d, d), got shape {C.shape}")
    return C


def gaussian_gromov_wasserstein_distance(Cov_s, Cov_t):
    r"""Gromov-Wasserstein distance (squared Euclidean inner costs) between two centred Gaussians, in the closed form
    of the Gaussian-restricted problem (Delon, Desolneux and Salmona 2022; POT's
    ``ot.gaussian.gaussian_gromov_wasserstein_distance``).

    With the eigenvalues ``d_s`` (m of them) and ``d_t`` (n <= m) sorted decreasingly:

    .. math:: GGW^2 = 4 (\sum d_s - \sum d_t)^2 + 8 \sum_{k \le n} (d_{s,k} - d_{t,k})^2 + 8 \sum_{k > n} d_{s,k}^2

    The two Gaussians may live in spaces of different dimensions (the larger one plays the role of the source).

    Parameters
    ----------
    Cov_s, Cov_t : arrays of shape (m, m) and (n, n)
        Covariances (symmetric PSD).

    Returns
    -------
    float
        ``GGW`` (the square root of the expression above), as POT.

    Examples
    --------
    >>> import numpy as np, numbaot
    >>> R = np.array([[0.0, -1.0], [1.0, 0.0]])             # a rotation: GW is invariant to isometries
    >>> C = np.diag([3.0, 1.0])
    >>> float(numbaot.gaussian_gromov_wasserstein_distance(C, R @ C @ R.T))
    0.0
    """
    d_s, _ = _sorted_eigen(_single_covariance(Cov_s, "Cov_s"))
    d_t, _ = _sorted_eigen(_single_covariance(Cov_t, "Cov_t"))
    if d_s.shape[0] < d_t.shape[0]:
        d_s, d_t = d_t, d_s
    n = d_t.shape[0]
    squared = (4 * (d_s.sum() - d_t.sum()) ** 2 + 8 * np.sum((d_s[:n] - d_t) ** 2) + 8 * np.sum(d_s[n:] ** 2))
    return float(np.sqrt(max(squared, 0.0)))


def gaussian_gromov_wasserstein_mapping(mu_s, mu_t, Cov_s, Cov_t, sign_eigs=None):
    r"""An optimal affine map ``x -> x @ A + b`` of the Gaussian Gromov-Wasserstein problem between ``N(mu_s, Cov_s)``
    in R^m and ``N(mu_t, Cov_t)`` in R^n (POT's ``ot.gaussian.gaussian_gromov_wasserstein_mapping``).

    ``A = U_s D U_t^T`` with ``U_s``, ``U_t`` the eigenvectors (eigenvalues decreasing) and D (m, n) diagonal with
    entries ``sign_eigs_k sqrt(d_t,k / d_s,k)``: it sends the source's principal axes onto the target's. The map is
    not unique (any signs, and any eigenbasis of a repeated eigenvalue, are optimal as well).

    Parameters
    ----------
    mu_s, mu_t : arrays of shape (m,) and (n,)
    Cov_s, Cov_t : arrays of shape (m, m) and (n, n)
        Covariances; the first min(m, n) eigenvalues of ``Cov_s`` must be positive.
    sign_eigs : array of min(m, n) entries +1 or -1, optional
        The signs (all +1 when None).

    Returns
    -------
    A : array of shape (m, n)
    b : array of shape (n,)

    Examples
    --------
    >>> import numpy as np, numbaot
    >>> A, b = numbaot.gaussian_gromov_wasserstein_mapping(np.zeros(2), np.ones(1), np.diag([4.0, 1.0]), [[1.0]])
    >>> A.shape, float(abs(A[0, 0])), b.shape
    ((2, 1), 0.5, (1,))
    """
    Cs = _single_covariance(Cov_s, "Cov_s")
    Ct = _single_covariance(Cov_t, "Cov_t")
    mu_s = _check_means(mu_s, "mu_s")
    mu_t = _check_means(mu_t, "mu_t")
    if mu_s.shape != (Cs.shape[0],) or mu_t.shape != (Ct.shape[0],):
        raise ValueError(f"mu_s has shape {mu_s.shape} for Cov_s {Cs.shape} and mu_t {mu_t.shape} for Cov_t "
                         f"{Ct.shape}; each mean needs one entry per row of its covariance")
    m, n = Cs.shape[0], Ct.shape[0]
    k = min(m, n)
    if sign_eigs is None:
        signs = np.ones(k)
    else:
        signs = V.as_float_array(sign_eigs, "sign_eigs", ndim=1)
        if signs.shape != (k,) or not np.all(np.abs(signs) == 1):
            raise ValueError(f"sign_eigs must hold {k} entries, each +1 or -1, got {np.asarray(sign_eigs)!r}")
    d_s, U_s = _sorted_eigen(Cs)
    d_t, U_t = _sorted_eigen(Ct)
    if not d_s[k - 1] > 1e-12 * max(d_s[0], np.finfo(float).tiny):
        raise ValueError(f"Cov_s has a zero eigenvalue among its {k} largest: no map sends its degenerate axis onto "
                         "the target's; regularise it (Cov_s + reg * I)")
    D = np.zeros((m, n))
    D[np.arange(k), np.arange(k)] = signs * np.sqrt(d_t[:k] / d_s[:k])
    A = U_s @ D @ U_t.T
    return A, mu_t - mu_s @ A


def empirical_gaussian_gromov_wasserstein_distance(xs, xt, ws=None, wt=None):
    r"""Gaussian Gromov-Wasserstein distance between the Gaussians fitted to two weighted samples, which may live in
    spaces of different dimensions (POT's ``ot.gaussian.empirical_gaussian_gromov_wasserstein_distance``).

    Parameters
    ----------
    xs, xt : arrays of shape (n, d_s) and (m, d_t)
    ws, wt : arrays of shape (n,) or (n, 1), and (m,) or (m, 1), optional
        Sample weights (uniform when None).

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np, numbaot
    >>> x = np.random.default_rng(0).normal(size=(100, 3))
    >>> round(float(numbaot.empirical_gaussian_gromov_wasserstein_distance(x, -x[:, ::-1] + 5)), 10)
    0.0
    """
    xs = V.check_points(xs, "xs")
    xt = V.check_points(xt, "xt")
    _, Cs = _moments(xs.astype(np.float64, copy=False), _sample_weights(ws, "ws", xs.shape[0]), True, 0.0)
    _, Ct = _moments(xt.astype(np.float64, copy=False), _sample_weights(wt, "wt", xt.shape[0]), True, 0.0)
    return gaussian_gromov_wasserstein_distance(Cs, Ct)


def empirical_gaussian_gromov_wasserstein_mapping(xs, xt, ws=None, wt=None, sign_eigs=None):
    r"""The Gaussian Gromov-Wasserstein map ``x -> x @ A + b`` between the Gaussians fitted to two weighted samples
    (POT's ``ot.gaussian.empirical_gaussian_gromov_wasserstein_mapping``); parameters as in
    :func:`empirical_gaussian_gromov_wasserstein_distance` and :func:`gaussian_gromov_wasserstein_mapping`.

    Returns
    -------
    A : array of shape (d_s, d_t)
    b : array of shape (d_t,)

    Examples
    --------
    >>> import numpy as np, numbaot
    >>> x = np.random.default_rng(0).normal(size=(200, 2)) * [2.0, 0.5]
    >>> A, b = numbaot.empirical_gaussian_gromov_wasserstein_mapping(x, 3 * x[:, :1])
    >>> A.shape, b.shape
    ((2, 1), (1,))
    """
    xs = V.check_points(xs, "xs")
    xt = V.check_points(xt, "xt")
    ms, Cs = _moments(xs.astype(np.float64, copy=False), _sample_weights(ws, "ws", xs.shape[0]), True, 0.0)
    mt, Ct = _moments(xt.astype(np.float64, copy=False), _sample_weights(wt, "wt", xt.shape[0]), True, 0.0)
    return gaussian_gromov_wasserstein_mapping(ms, mt, Cs, Ct, sign_eigs)
