"""Every user-facing check of numbaot: the only module that raises for bad input.

Each check runs in Python before any jitted code, names the argument, the offending index or value, and says how to
fix it. Host arrays come out float64 or float32, C-contiguous, writeable (one Numba specialization per dtype, never a
readonly or strided one) and never aliased for writing: cores do not mutate their inputs. The item numbers refer to
``shared/bad-inputs.md``.

CUDA arrays are checked with the same rules from a few scalars reduced on the device (``WeightStats``), so the host
and the GPU paths raise the same messages without copying the arrays back.
"""
from __future__ import annotations

import math
import numbers
import warnings
from typing import NamedTuple

import numpy as np

from . import _config

#: Relative tolerance on ``sum(a) == sum(b)`` (item 3); below it b is rescaled silently (item 4).
MASS_RTOL = {np.dtype(np.float64): 1e-9, np.dtype(np.float32): 1e-6}
#: Negative weights no larger than this times the total mass are float noise, clipped with a warning (item 2).
NEGATIVE_NOISE_RTOL = 1e-12
#: The metrics of ``utils.dist`` and of the 1D solvers.
METRICS = ("sqeuclidean", "euclidean", "cityblock", "minkowski", "cosine")


class InputWarning(UserWarning):
    """Input was accepted after a repair (noise clipped, dtype upcast, precision lost)."""


# ---------------------------------------------------------------------------------------------------------- arrays
def as_float_array(x, name: str, ndim=None, *, allow_cuda: bool = False, min_size: int = 1):
    """Turn ``x`` into a float64/float32 numpy array that Numba compiles once per dtype.

    Lists and tuples become float64 (item 27); bools and integers float64 (item 25); float16 and extended
    precision are upcast to float64 with a warning (item 24); complex, object and string arrays raise
    TypeError (item 26). Fortran-ordered, strided and readonly arrays are copied once (items 28, 29).
    """
    if allow_cuda:
        from ._device import is_cuda_array

        if is_cuda_array(x):
            return _check_cuda_array(x, name, ndim, min_size)
    if x is None:
        raise TypeError(f"{name} must be an array, got None")
    if isinstance(x, (str, bytes)):
        raise TypeError(f"{name} must be a numeric array, got a {type(x).__name__}")
    if hasattr(x, "__cuda_array_interface__"):
        raise ValueError(f"{name} is a GPU array but this function runs on the host only; pass a numpy array")
    try:
        arr = np.asarray(x)
    except (ValueError, TypeError) as exc:  # ragged nested lists
        raise TypeError(f"{name} must be a rectangular numeric array: {exc}") from exc
    arr = _as_float_dtype(arr, name)
    _check_ndim(arr.shape, name, ndim)
    if arr.size < min_size or (arr.ndim >= 1 and arr.shape[0] == 0):
        raise ValueError(
            f"{name} is empty (shape {arr.shape}): an empty distribution has no transport plan; pass at least one "
            "point (an empty list never means uniform weights; use None for that)"
        )
    if not (arr.flags.c_contiguous and arr.flags.writeable and arr.flags.aligned):
        arr = np.array(arr, order="C", copy=True)
    return arr


def _as_float_dtype(arr, name):
    kind = arr.dtype.kind
    if kind in "biu":
        return arr.astype(np.float64)
    if kind == "f":
        if arr.dtype in (np.float64, np.float32):
            return arr
        warnings.warn(
            f"{name} has dtype {arr.dtype}; upcasting to float64 (numbaot computes in float32 or float64)",
            InputWarning,
            stacklevel=4,
        )
        return arr.astype(np.float64)
    if kind == "c":
        raise TypeError(f"{name} has complex dtype {arr.dtype}; optimal transport needs real weights and costs")
    raise TypeError(f"{name} has dtype {arr.dtype}, which is not numeric; pass a float, int or bool array")


def _check_ndim(shape, name, ndim):
    if ndim is None:
        return
    allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
    if len(shape) not in allowed:
        want = " or ".join(f"{d}-D" for d in allowed)
        raise ValueError(f"{name} must be {want}, got an array of shape {tuple(shape)}")


def _check_cuda_array(x, name, ndim, min_size):
    shape = tuple(x.shape)
    dtype = np.dtype(x.dtype)
    if dtype not in (np.float64, np.float32):
        raise TypeError(
            f"{name} is a GPU array of dtype {dtype}; numbaot's CUDA path takes float32 or float64 (cast it on the "
            "device first, e.g. x.astype('float64'))"
        )
    _check_ndim(shape, name, ndim)
    if int(np.prod(shape)) < min_size or (len(shape) >= 1 and shape[0] == 0):
        raise ValueError(f"{name} is empty (shape {shape}): an empty distribution has no transport plan")
    return x


def result_dtype(*arrays) -> np.dtype:
    """float32 when every given array is float32, else float64 (item 30)."""
    dtypes = {np.dtype(a.dtype) for a in arrays if a is not None}
    return np.dtype(np.float32) if dtypes == {np.dtype(np.float32)} else np.dtype(np.float64)


def check_finite(x, name: str) -> None:
    """Raise a ValueError naming the first NaN or infinite entry of a host array (items 5, 36)."""
    if x.size and not np.isfinite(x).all():
        bad = np.argwhere(~np.isfinite(x))[0]
        index = int(bad[0]) if len(bad) == 1 else tuple(int(i) for i in bad)
        raise ValueError(f"{name}[{index}] is {x[tuple(bad)]}; {name} must be finite (no NaN or inf)")


# --------------------------------------------------------------------------------------------------------- weights
class WeightStats(NamedTuple):
    """The scalars the weight checks need; computed by numpy on the host or by a reduction on the GPU."""

    n_nonfinite: int
    first_nonfinite: int
    min_value: float
    argmin: int
    total: float
    abs_total: float


def weight_stats(w) -> WeightStats:
    """``WeightStats`` of a host vector: two passes (sum and min) in the common case of valid weights."""
    total = float(np.sum(w, dtype=np.float64))
    low = float(np.min(w))
    if math.isfinite(total) and low >= 0:
        return WeightStats(0, -1, low, -1, total, total)
    finite = np.isfinite(w)
    n_bad = int(w.size - np.count_nonzero(finite))
    first_bad = int(np.argmin(finite)) if n_bad else -1
    argmin = int(np.argmin(np.where(finite, w, np.inf))) if n_bad < w.size else 0
    return WeightStats(
        n_bad, first_bad, float(w[argmin]), argmin, total, float(np.sum(np.abs(w), dtype=np.float64)),
    )


def judge_weights(stats: WeightStats, name: str, first_bad_value=None) -> bool:
    """Apply items 1, 2, 5 and 16 to the statistics of one weight vector.

    Returns True when float-noise negatives must be clipped to zero (a warning has been emitted).
    """
    if stats.n_nonfinite:
        value = "" if first_bad_value is None else f" is {first_bad_value}"
        raise ValueError(
            f"{name}[{stats.first_nonfinite}]{value}: {name} must be finite; {stats.n_nonfinite} entries are NaN "
            "or inf"
        )
    clip = False
    if stats.min_value < 0:
        if stats.min_value >= -NEGATIVE_NOISE_RTOL * stats.abs_total:
            warnings.warn(
                f"{name} has negative entries down to {stats.min_value:.3g} (at index {stats.argmin}), within "
                "float noise of zero; they are treated as 0",
                InputWarning,
                stacklevel=4,
            )
            clip = True
        else:
            raise ValueError(
                f"{name}[{stats.argmin}] = {stats.min_value:.17g} is negative; weights must be >= 0 (a measure "
                "has no negative mass)"
            )
    if stats.total <= 0:
        raise ValueError(f"{name} has zero total mass (all entries are 0); give at least one positive weight")
    if not math.isfinite(stats.total):
        raise ValueError(f"the entries of {name} are finite but their sum overflows; rescale {name}")
    return clip


def check_weights(w, name: str, n: int, dtype=None):
    """Validate one host weight vector of length ``n`` (None means uniform ``1/n``).

    Returns a float array whose negatives within float noise have been clipped to zero.
    """
    if w is None:
        return np.full(n, 1.0 / n, dtype=dtype or np.float64)
    w = as_float_array(w, name, ndim=1)
    if w.shape[0] != n:
        raise ValueError(f"{name} has {w.shape[0]} entries but there are {n} points (or rows of M) for it")
    stats = weight_stats(w)
    bad_value = w[stats.first_nonfinite] if stats.n_nonfinite else None
    if judge_weights(stats, name, bad_value):
        w = np.maximum(w, 0)
    return w


def check_mass(sum_a: float, sum_b: float, dtype) -> float:
    """Items 3 and 4: return the factor that rescales b to the mass of a, or raise when they differ too much."""
    rtol = MASS_RTOL.get(np.dtype(dtype), 1e-9)
    if abs(sum_a - sum_b) > rtol * max(abs(sum_a), abs(sum_b)):
        raise ValueError(
            f"a and b must have the same total mass, got sum(a) = {sum_a:.17g} and sum(b) = {sum_b:.17g} "
            f"(relative difference {abs(sum_a - sum_b) / max(sum_a, sum_b):.3g} > {rtol:g}); normalize both "
            "(a / a.sum(), b / b.sum()) or use unbalanced OT"
        )
    return sum_a / sum_b


def mass_dtype(*given) -> np.dtype:
    """The dtype whose tolerance ``check_mass`` applies: float32 when any weight the caller passed is float32 (a
    float32 softmax next to float64 or uniform weights is only accurate to float32), else float64."""
    dtypes = {np.dtype(w.dtype) for w in given if w is not None and hasattr(w, "dtype")}
    return np.dtype(np.float32) if np.dtype(np.float32) in dtypes else np.dtype(np.float64)


def check_balanced_weights(a, b, n: int, m: int, dtype=None):
    """Weights for balanced OT: validated, with b rescaled to the mass of a when they agree within tolerance."""
    given = (a is not None, b is not None)
    a = check_weights(a, "a", n, dtype)
    b = check_weights(b, "b", m, dtype)
    tol_dtype = mass_dtype(a if given[0] else None, b if given[1] else None)
    scale = check_mass(float(np.sum(a, dtype=np.float64)), float(np.sum(b, dtype=np.float64)), tol_dtype)
    if scale != 1.0:
        b = b.astype(np.float64) * scale  # in float64: float32 rounding would undo the rescaling
    return a, b


# ------------------------------------------------------------------------------------------------------------ costs
def check_cost_matrix(M, a=None, b=None, name: str = "M"):
    """Items 6-8, 11, 12: a finite-or-+inf real matrix whose shape matches the weights.

    ``+inf`` entries are forbidden arcs: every row with positive weight in ``a`` (column with positive weight in
    ``b``) must keep at least one finite cost.
    """
    M = as_float_array(M, name, ndim=2)
    n, m = M.shape
    len_a = n if a is None else len(a)
    len_b = m if b is None else len(b)
    if (len_a, len_b) != (n, m):
        raise ValueError(f"{name} has shape {M.shape} but a has {len_a} and b has {len_b} entries")
    finite = np.isfinite(M)
    if finite.all():  # the common case costs one pass over M
        return M
    nan = np.isnan(M)
    if nan.any():
        i, j = (int(k) for k in np.argwhere(nan)[0])
        raise ValueError(f"{name}[{i}, {j}] is NaN; costs must be real numbers (+inf marks a forbidden arc)")
    neg_inf = np.isneginf(M)
    if neg_inf.any():
        i, j = (int(k) for k in np.argwhere(neg_inf)[0])
        raise ValueError(f"{name}[{i}, {j}] is -inf: the transport cost would be unbounded below")
    # only +inf entries remain: forbidden arcs
    rows_ok = finite.any(axis=1)
    cols_ok = finite.any(axis=0)
    for weights, ok, axis, label in ((a, rows_ok, "row", "a"), (b, cols_ok, "column", "b")):
        need = ok if weights is None else (ok | (np.asarray(weights) <= 0))
        if not need.all():
            k = int(np.argmin(need))
            raise ValueError(
                f"{axis} {k} of {name} has no finite cost but {label}[{k}] has mass to move; the problem is "
                "infeasible (+inf marks a forbidden arc)"
            )
    return M


# ----------------------------------------------------------------------------------------------------------- points
def check_points(X, name: str, *, allow_cuda: bool = False):
    """Point clouds: shape (n,) or (n, d), finite. Returns (n, d) for host arrays."""
    X = as_float_array(X, name, ndim=(1, 2), allow_cuda=allow_cuda)
    from ._device import is_cuda_array

    if is_cuda_array(X):
        return X
    check_finite(X, name)
    return X if X.ndim == 2 else X.reshape(-1, 1)


def check_metric(metric: str, p=None):
    """Return ``(metric, p)`` with p validated for 'minkowski' (p >= 1, finite)."""
    if not isinstance(metric, str):
        raise TypeError(f"metric must be a string, one of {METRICS}, got {metric!r}")
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
    if metric == "minkowski":
        p = check_p(2.0 if p is None else p)
    return metric, p


def check_p(p, name: str = "p") -> float:
    if isinstance(p, bool) or not isinstance(p, numbers.Real):
        raise TypeError(f"{name} must be a real number >= 1, got {p!r}")
    p = float(p)
    if not math.isfinite(p) or p < 1:
        raise ValueError(f"{name} must be a finite number >= 1 (the cost |x - y|^p is then convex), got {p}")
    return p


# ------------------------------------------------------------------------------------------------------ parameters
def check_reg(reg, name: str = "reg") -> float:
    """Items 19 and 20: a finite positive entropic regularisation."""
    if isinstance(reg, bool) or not isinstance(reg, numbers.Real):
        raise TypeError(f"{name} must be a positive real number, got {reg!r}")
    reg = float(reg)
    if reg == 0:
        raise ValueError(f"{name} = 0 means unregularised OT; call numbaot.emd (or solve with reg=None) instead")
    if not math.isfinite(reg) or reg < 0:
        raise ValueError(f"{name} must be a finite positive number, got {reg}")
    return reg


def check_max_iter(max_iter, name: str = "max_iter") -> int:
    """Item 22: a positive Python or numpy integer."""
    if isinstance(max_iter, bool) or not isinstance(max_iter, numbers.Integral):
        raise TypeError(f"{name} must be a positive integer, got {max_iter!r} of type {type(max_iter).__name__}")
    if max_iter <= 0:
        raise ValueError(f"{name} must be >= 1, got {max_iter}")
    return int(max_iter)


def check_tol(tol, name: str = "tol") -> float:
    """Item 22: a finite non-negative tolerance."""
    if isinstance(tol, bool) or not isinstance(tol, numbers.Real):
        raise TypeError(f"{name} must be a non-negative real number, got {tol!r}")
    tol = float(tol)
    if not math.isfinite(tol) or tol < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {tol}")
    return tol


def check_bool(value, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def check_dense_size(shape, itemsize: int, what: str = "the dense result") -> None:
    """Item 31: refuse a dense allocation that cannot fit, before allocating, with the bytes and a way out."""
    n_bytes = itemsize
    for s in shape:
        n_bytes *= int(s)  # Python ints: no overflow (item 32)
    if n_bytes > _config.MAX_DENSE_BYTES:
        raise ValueError(
            f"{what} of shape {tuple(int(s) for s in shape)} needs {n_bytes / 2**30:.1f} GiB, over the "
            f"{_config.MAX_DENSE_BYTES / 2**30:.1f} GiB limit (NUMBAOT_MAX_DENSE_BYTES); ask for a sparse plan "
            "(dense=False), a lazy solver (lazy=True) or an online one from the points"
        )


# ------------------------------------------------------------------------------------------- Gromov-Wasserstein
#: Gromov-Wasserstein losses (``numbaot.gromov``).
GW_LOSSES = ("square_loss", "kl_loss")
#: Symmetry tolerance of structure matrices, in units of the dtype's epsilon times max |C| (item 35).
SYMMETRY_EPS_FACTOR = 64


def check_square(C, name: str, *, allow_cuda: bool = False):
    """Item 33: a real (n, n) array (``as_float_array``'s rules, then square); with ``allow_cuda`` a device array
    passes unread, its values checked on the device (``cuda._checks``)."""
    C = as_float_array(C, name, ndim=2, allow_cuda=allow_cuda)
    if C.shape[0] != C.shape[1]:
        raise ValueError(
            f"{name} must be square (a matrix of distances or similarities within one space), got shape "
            f"{tuple(C.shape)}"
        )
    return C


def check_structure_matrix(C, name: str):
    """Items 33 and 36: a square, finite, real (n, n) structure matrix (distances, similarities, adjacency)."""
    C = check_square(C, name)
    check_finite(C, name)
    return C


def check_pair_shape(X, name: str, n: int, m: int, names=("C1", "C2")) -> None:
    """A matrix between the n points of ``names[0]`` and the m of ``names[1]`` (fused GW's M, a plan) has shape
    (n, m)."""
    if tuple(X.shape) != (n, m):
        raise ValueError(f"{name} has shape {tuple(X.shape)} but {names[0]} is {n}x{n} and {names[1]} is {m}x{m}; "
                         f"{name} must be ({n}, {m})")


def check_gw_weights(w, name: str, C_name: str, n: int, dtype=None):
    """Item 34: weights of length n for the n points of the structure matrix ``C_name``."""
    if w is not None and np.ndim(w) == 1 and len(w) != n:
        raise ValueError(f"{name} has {len(w)} entries but {C_name} is {n}x{n}; give one weight per point of "
                         f"{C_name} (or None for uniform)")
    return check_weights(w, name, n, dtype)


def symmetry_tolerance(C) -> float:
    """The largest |C - C^T| taken for rounding: a few hundred ulps of the matrix's scale, per its dtype."""
    scale = float(np.max(np.abs(C))) if C.size else 0.0
    return SYMMETRY_EPS_FACTOR * float(np.finfo(C.dtype).eps) * scale


def check_symmetric(C, name: str, symmetric) -> bool:
    """Item 35: ``symmetric=None`` detects symmetry with a dtype-aware tolerance; ``True`` is verified (a
    ValueError for a matrix that is not symmetric, since the solver would then follow a wrong gradient)."""
    # exact symmetry (distance matrices) costs one comparison pass; otherwise the gap against the tolerance
    is_symmetric = bool(np.array_equal(C, C.T)) or float(np.max(np.abs(C - C.T))) <= symmetry_tolerance(C)
    if symmetric is None:
        return is_symmetric
    symmetric = check_bool(symmetric, "symmetric")
    if symmetric and not is_symmetric:
        i, j = np.unravel_index(int(np.argmax(np.abs(C - C.T))), C.shape)
        raise ValueError(
            f"symmetric=True but {name} is not symmetric: {name}[{i}, {j}] = {float(C[i, j])!r} while {name}[{j}, "
            f"{i}] = {float(C[j, i])!r}; pass symmetric=None (detect) or symmetric=False (asymmetric solver)"
        )
    return symmetric


def check_gw_loss_name(loss, name: str = "loss_fun") -> str:
    """A GW loss name: a string, one of ``GW_LOSSES``; ``name`` is the argument as the caller's verb calls it."""
    if not isinstance(loss, str):
        raise TypeError(f"{name} must be a string, one of {GW_LOSSES}, got {loss!r}")
    if loss not in GW_LOSSES:
        raise ValueError(f"{name} must be one of {GW_LOSSES}, got {loss!r}")
    return loss


def judge_negative_structure(name: str, index, value: float) -> None:
    """Refuse a structure matrix with a negative entry under 'kl_loss' (its smallest, first in C order, at
    ``index``), found on the host or reduced on a GPU: ``check_gw_loss``'s message."""
    i, j = index
    raise ValueError(f"{name}[{i}, {j}] = {float(value)!r} is negative; kl_loss needs non-negative matrices (use "
                     "square_loss for signed ones)")


def check_gw_loss(loss, C1, C2, names=("loss_fun", "C1", "C2")):
    """The loss name, and for 'kl_loss' non-negative structure matrices (its logarithms need them); ``names``: the
    loss's and the matrices' arguments as the caller's verb calls them."""
    loss = check_gw_loss_name(loss, names[0])
    if loss == "kl_loss":
        for name, C in zip(names[1:], (C1, C2)):
            if np.min(C) < 0:
                judge_negative_structure(name, np.unravel_index(int(np.argmin(C)), C.shape), C.min())
    return loss


def check_alpha(alpha, name: str = "alpha") -> float:
    """The trade-off of fused GW: a real number in [0, 1]."""
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real):
        raise TypeError(f"{name} must be a real number in [0, 1], got {alpha!r}")
    alpha = float(alpha)
    if not (0.0 <= alpha <= 1.0):
        raise ValueError(f"{name} must lie in [0, 1] (0: Wasserstein on M only, 1: Gromov-Wasserstein only), got "
                         f"{alpha}")
    return alpha


def check_initial_plan(G0, p, q, name: str = "G0", m=None, names=("p", "q", "C1", "C2")):
    """A given starting plan: shape (n, m), finite, >= 0, with marginals p and q (relative tolerance 1e-8).

    ``q=None`` (semi-relaxed problems) checks the row sums only, against a plan of ``m`` columns. ``names``: the
    arguments p, q and the two spaces as the caller's verb calls them.
    """
    n = len(p)
    m = len(q) if q is not None else m
    G0 = as_float_array(G0, name, ndim=2)
    if G0.shape != (n, m):
        raise ValueError(f"{name} has shape {G0.shape}; it must be ({n}, {m}) (the sizes of {names[2]} and "
                         f"{names[3]})")
    check_finite(G0, name)
    if np.min(G0) < 0:
        raise ValueError(f"{name} has negative entries; a transport plan is non-negative")
    mass = float(np.sum(p))
    for axis, target, label in ((1, p, "row sums"), (0, q, "column sums")):
        if target is None:
            continue
        err = float(np.max(np.abs(G0.sum(axis=axis, dtype=np.float64) - target)))
        if err > 1e-8 * mass:
            raise ValueError(f"the {label} of {name} differ from {names[1 - axis]} by up to {err:.3g}; "
                             f"{name} must be a transport plan between {names[0]} and {names[1]}")
    return G0


def check_gw_mass(p, q, names=("p", "q")):
    """Items 3 and 4 for the weights of two structure matrices: returns q rescaled to the mass of p; ``names``: p
    and q as the caller's verb calls them."""
    a, b = names
    sum_p = float(np.sum(p, dtype=np.float64))
    sum_q = float(np.sum(q, dtype=np.float64))
    rtol = MASS_RTOL.get(mass_dtype(p, q), 1e-9)
    if abs(sum_p - sum_q) > rtol * max(sum_p, sum_q):
        raise ValueError(
            f"{a} and {b} must have the same total mass, got sum({a}) = {sum_p:.17g} and sum({b}) = {sum_q:.17g}; "
            f"normalize both ({a} / {a}.sum(), {b} / {b}.sum())"
        )
    return q if sum_p == sum_q else q.astype(np.float64) * (sum_p / sum_q)


def check_n_init(n_init) -> int:
    """Item 37: the number of starts of a non-convex solver (the first from the product plan)."""
    return check_max_iter(n_init, "n_init")

# ------------------------------------------------------------------------------------------------- unbalanced OT
def check_reg_m(reg_m, name: str = "reg_m") -> tuple[float, float]:
    """Marginal penalties of unbalanced OT: one number for both marginals, or a pair ``(rho_a, rho_b)``.

    Each must be positive; ``inf`` keeps that marginal exact. NaN, 0 and negative values raise a ValueError.
    """
    if isinstance(reg_m, (bool, np.bool_)) or isinstance(reg_m, (str, bytes)):
        raise TypeError(f"{name} must be a positive number or a pair of them, got {reg_m!r}")
    if isinstance(reg_m, numbers.Real):
        pair = (reg_m, reg_m)
    else:
        try:
            values = np.asarray(reg_m)
        except (ValueError, TypeError) as exc:
            raise TypeError(f"{name} must be a positive number or a pair of them, got {reg_m!r}") from exc
        if hasattr(reg_m, "__cuda_array_interface__") or values.dtype.kind not in "iuf" or values.ndim > 1 \
                or values.size not in (1, 2):
            raise TypeError(f"{name} must be a positive number or a pair (rho_a, rho_b) of them, got {reg_m!r}")
        flat = values.reshape(-1).tolist()
        pair = (flat[0], flat[0]) if len(flat) == 1 else (flat[0], flat[1])
    out = []
    for label, rho in zip(("first", "second"), pair):
        if isinstance(rho, bool) or not isinstance(rho, numbers.Real):
            raise TypeError(f"{name} must be a positive number or a pair of them, got {reg_m!r}")
        rho = float(rho)
        if math.isnan(rho) or rho <= 0:
            raise ValueError(
                f"{name} ({label} marginal) must be > 0 (inf keeps that marginal exact), got {rho}; a penalty of 0 "
                "would let the plan drop all mass"
            )
        out.append(rho)
    return out[0], out[1]


def check_batch_mass(a, b) -> np.ndarray:
    """Items 3 and 4 for each problem of a batch (rows of ``a`` (B, n), ``b`` (B, m)): return the factors (B,)
    that rescale each row of b to the mass of a; the error names the problem."""
    return check_batch_sums(np.sum(a, axis=1, dtype=np.float64), np.sum(b, axis=1, dtype=np.float64),
                            mass_dtype(a, b))


def check_batch_sums(sums_a, sums_b, dtype) -> np.ndarray:
    """``check_batch_mass`` from the masses (B,) of each problem (reduced on a GPU, say)."""
    scales = np.empty(len(sums_a))
    for k in range(len(sums_a)):
        try:
            scales[k] = check_mass(float(sums_a[k]), float(sums_b[k]), dtype)
        except ValueError as exc:
            raise ValueError(f"problem {k} of the batch: {exc}") from None
    return scales


def check_plan_operand(plan_shape, v, transpose: bool) -> None:
    """The vector or matrix a dense device plan of shape (n, m) or (B, n, m) is applied to: a CUDA array (numbaot
    never copies between host and GPU silently) of shape (m,) or (m, k) (batched: (B, m) or (B, m, k); n rows
    instead of m when ``transpose``)."""
    from . import _device

    if not _device.is_cuda_array(v):
        raise TypeError(f"a plan on the GPU applies to CUDA arrays, got {type(v).__name__}; move it to the device "
                        "first (numbaot never copies between host and GPU silently)")
    plan_shape = tuple(int(s) for s in plan_shape)  # (the simulator's shapes take no negative indices)
    lead, (n, m) = plan_shape[:-2], plan_shape[-2:]
    inner = n if transpose else m
    shape = tuple(int(s) for s in v.shape)
    if len(shape) not in (len(lead) + 1, len(lead) + 2) or shape[:len(lead) + 1] != lead + (inner,):
        raise ValueError(f"the plan operator{' (transposed)' if transpose else ''} of a plan of shape "
                         f"{plan_shape} takes {lead + (inner,)} or {lead + (inner, 'k')}, got shape {shape}")


def check_weight_length(w, name: str, n: int) -> None:
    """A 1-D weight vector (host or CUDA, read from its metadata) must have one entry per point."""
    if w is None:
        return
    shape = getattr(w, "shape", None)  # CUDA arrays: metadata only (np.shape would copy them to the host)
    shape = np.shape(w) if shape is None else tuple(shape)
    if len(shape) == 1 and shape[0] != n:
        raise ValueError(f"{name} has {shape[0]} entries but there are {n} points (or rows of M) for it")


def check_online_gpu_metric(metric) -> None:
    """The online Sinkhorn's CUDA twin computes every metric but 'cosine' from the points."""
    if metric == "cosine":
        raise ValueError("the online Sinkhorn on the GPU takes every metric but 'cosine'; build the cost matrix "
                         "(numbaot.dist) or solve on the host")


def judge_zero_row(name: str, row: int) -> None:
    """Refuse a zero row under the cosine metric (found on the device): ``cosine_norms``'s message."""
    raise ValueError(f"row {row} of {name} is zero: the cosine distance is undefined for it")


def judge_unsorted(name: str) -> None:
    """Refuse values promised sorted (``require_sort=False``) that are not (found on the device)."""
    raise ValueError(f"{name} is not sorted ascending along axis 0; pass require_sort=True")


def judge_nonfinite_entry(name: str, index, value) -> None:
    """Refuse an array with a NaN or inf found (on the device) at ``index``: ``check_finite``'s message."""
    raise ValueError(f"{name}[{index}] is {value}; {name} must be finite (no NaN or inf)")


def judge_cost_rows(name: str, first_nan, first_neginf, rows_empty, cols_empty) -> None:
    """``check_cost_matrix``'s errors (items 6-8), in its order, from per-row statistics reduced on a GPU.

    ``first_nan[i]``, ``first_neginf[i]``: the first column of row i holding NaN, -inf (-1 for none);
    ``rows_empty[i]`` (``cols_empty[j]``): the row (column) has weight but no finite cost.
    """
    for values, what in ((first_nan, "is NaN; costs must be real numbers (+inf marks a forbidden arc)"),
                         (first_neginf, "is -inf: the transport cost would be unbounded below")):
        rows = np.flatnonzero(np.asarray(values) >= 0)
        if rows.size:
            i = int(rows[0])
            raise ValueError(f"{name}[{i}, {int(values[i])}] {what}")
    for empty, axis, label in ((rows_empty, "row", "a"), (cols_empty, "column", "b")):
        bad = np.flatnonzero(np.asarray(empty))
        if bad.size:
            k = int(bad[0])
            raise ValueError(
                f"{axis} {k} of {name} has no finite cost but {label}[{k}] has mass to move; the problem is "
                "infeasible (+inf marks a forbidden arc)"
            )



def check_batch_weights(w, name: str, B: int, n: int):
    """Weights of a batch as a (B, n) array: None means uniform, a (n,) vector is shared by every problem, a
    (B, n) array gives one row per problem; each row is checked as ``check_weights`` does, named ``name[k]``."""
    if n == 0:
        raise ValueError(f"the costs have 0 columns or rows for {name}: an empty distribution has no transport plan")
    if w is None:
        return np.full((B, n), 1.0 / n)
    w = as_float_array(w, name, ndim=(1, 2))
    if w.ndim == 1:
        return np.broadcast_to(check_weights(w, name, n), (B, n))
    if w.shape != (B, n):
        raise ValueError(f"{name} has shape {w.shape} but the costs M need ({B}, {n}) (one row per problem) or ({n},) "
                         "(shared by every problem)")
    return np.stack([check_weights(w[k], f"{name}[{k}]", n) for k in range(B)])

def check_reg_type(reg_type) -> str:
    """The entropic regulariser: 'kl' (KL(P | a b^T), the default) or 'entropy' (sum P log P); any case."""
    choices = ("kl", "entropy")
    if not isinstance(reg_type, str):
        raise TypeError(f"reg_type must be a string, one of {choices}, got {reg_type!r}")
    if reg_type.lower() not in choices:
        raise ValueError(f"reg_type must be one of {choices} (KL(P | a b^T) or sum P log P), got {reg_type!r}")
    return reg_type.lower()


# --------------------------------------------------------------------------------- point clouds and online solvers
def check_same_dimension(X_a, X_b, names=("X_a", "X_b")) -> None:
    """Two (n, d) and (m, d) clouds must live in the same space."""
    if X_a.shape[1] != X_b.shape[1]:
        raise ValueError(
            f"{names[0]} has points of dimension {X_a.shape[1]} but {names[1]} of dimension {X_b.shape[1]}; both "
            "clouds must have the same number of coordinates per point"
        )


def check_potentials_init(potentials_init, shape_f, shape_g):
    """A warm start ``(f, g)`` of the given shapes (ints for 1-D), finite; float64 copies (zeros when None)."""
    shape_f = (shape_f,) if isinstance(shape_f, int) else tuple(shape_f)
    shape_g = (shape_g,) if isinstance(shape_g, int) else tuple(shape_g)
    if potentials_init is None:
        return np.zeros(shape_f), np.zeros(shape_g)
    if not isinstance(potentials_init, (tuple, list)) or len(potentials_init) != 2:
        raise TypeError(f"potentials_init must be a pair (f, g) of arrays of shapes {shape_f} and {shape_g}")
    f = as_float_array(potentials_init[0], "potentials_init[0]").astype(np.float64)
    g = as_float_array(potentials_init[1], "potentials_init[1]").astype(np.float64)
    if f.shape != shape_f or g.shape != shape_g:
        raise ValueError(f"potentials_init has shapes {f.shape} and {g.shape}; they must be {shape_f} and {shape_g}")
    check_finite(f, "potentials_init[0]")
    check_finite(g, "potentials_init[1]")
    return f, g


def check_device_dense_shapes(M, a, b, potentials_init, batch):
    """The shape rules of the dense Sinkhorn family for CUDA inputs, read from the arrays' metadata only (no
    device work): ``M`` (n, m) or, with ``batch``, (B, n, m); weights (n,) / (m,) or, batched, (B, n) / (B, m);
    ``potentials_init`` a pair of CUDA arrays of the potentials' shapes. The values (NaN, signs, masses) are
    reduced on the device by the front-end's dispatch steps (``cuda._checks``) and judged by this module's
    ``judge_*`` rules, before the driver."""
    from . import _device

    M = as_float_array(M, "M", ndim=3 if batch else 2, allow_cuda=True)
    if batch:
        B, n, m = (int(s) for s in M.shape)
    else:
        B, (n, m) = 1, (int(s) for s in M.shape)
    for w, name, lines in ((a, "a", n), (b, "b", m)):
        if w is None:
            continue
        w = as_float_array(w, name, ndim=(1, 2) if batch else 1, allow_cuda=True)
        if w.ndim == 1 and w.shape[0] != lines:
            raise ValueError(f"{name} has {w.shape[0]} entries but there are {lines} points (or rows of M) for it")
        if w.ndim == 2 and tuple(w.shape) != (B, lines):
            raise ValueError(f"{name} has shape {tuple(w.shape)} but the costs M need ({B}, {lines}) (one row per "
                             f"problem) or ({lines},) (shared by every problem)")
    if potentials_init is None:
        return
    if not isinstance(potentials_init, (tuple, list)) or len(potentials_init) != 2:
        raise TypeError("potentials_init must be a pair (f, g) of CUDA arrays")
    for t, (x, lines) in enumerate(zip(potentials_init, (n, m))):
        label = f"potentials_init[{t}]"
        want = (B, lines) if batch else (lines,)
        if not _device.is_cuda_array(x):
            raise ValueError(f"{label} is a host array but the costs live on the GPU; pass a CUDA array")
        x = as_float_array(x, label, allow_cuda=True)
        if tuple(x.shape) != want:
            raise ValueError(f"{label} has shape {tuple(x.shape)}; it must be {want}")


def check_open_unit(value, name: str) -> float:
    """A real number strictly between 0 and 1 (an annealing ratio)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number in (0, 1), got {value!r}")
    value = float(value)
    if not 0 < value < 1:
        raise ValueError(f"{name} must lie strictly between 0 and 1, got {value}")
    return value


def check_reg_m_single(reg_m, name: str = "reg_m"):
    """One KL marginal penalty for both marginals (the divergences): a positive number, or None / inf for
    balanced OT. Returns None (balanced) or the float."""
    if reg_m is None:
        return None
    rho_a, rho_b = check_reg_m(reg_m, name)
    if rho_a != rho_b:
        raise ValueError(f"{name} must be one number here (the same penalty on both marginals), got {reg_m!r}")
    return None if math.isinf(rho_a) else rho_a


GW_ACCELERATIONS = ("momentum", "anderson", None)


def check_accelerate(accelerate):
    """Entropic GW's outer acceleration: 'momentum', 'anderson', or None / False for the plain iteration."""
    if accelerate is None or accelerate is False:
        return None
    if not isinstance(accelerate, str):
        raise TypeError(f"accelerate must be one of {GW_ACCELERATIONS} (or False), got {accelerate!r}")
    if accelerate not in GW_ACCELERATIONS:
        raise ValueError(f"accelerate must be one of {GW_ACCELERATIONS} (or False), got {accelerate!r}")
    return accelerate


# ------------------------------------------------------------------------------------------------------ barycenters
def check_histograms(A, name: str, axis: int, balanced: bool = True) -> np.ndarray:
    """Item 38 and items 1-5, 15, 16 for a stack of K histograms along ``axis`` of ``A`` (each histogram the
    rest of the array): returns a float64 (K, N) array, one histogram per row, float noise clipped; with
    ``balanced``, the histograms must carry the same mass (within the dtype's tolerance; rescaled to the first's)."""
    arr = as_float_array(A, name)
    if arr.ndim < 2:
        raise ValueError(f"{name} must hold several histograms, got shape {arr.shape}")
    K = arr.shape[axis]
    H = np.ascontiguousarray(np.moveaxis(arr, axis, 0).reshape(K, -1), dtype=np.float64)
    if H.shape[1] == 0:
        raise ValueError(f"{name} has empty histograms (shape {arr.shape})")
    for k in range(K):
        stats = weight_stats(H[k])
        label = f"{name}[:, {k}]" if axis in (1, -1) and arr.ndim == 2 else f"{name}[{k}]"
        if judge_weights(stats, label, H[k][stats.first_nonfinite] if stats.n_nonfinite else None):
            H[k] = np.maximum(H[k], 0)
    if balanced:
        H[1:] *= check_histogram_masses(H.sum(axis=1), name, arr.dtype)[1:, None]
    return H


def check_histogram_masses(sums, name: str, dtype) -> np.ndarray:
    """Item 38: K histograms of equal mass (within the dtype's tolerance); returns the factors (K,) that rescale
    each to the first one's mass."""
    sums = np.asarray(sums, dtype=np.float64)
    rtol = MASS_RTOL.get(np.dtype(dtype), 1e-9)
    bad = np.flatnonzero(np.abs(sums - sums[0]) > rtol * np.maximum(np.abs(sums), abs(sums[0])))
    if bad.size:
        k = int(bad[0])
        raise ValueError(
            f"the histograms of {name} must have the same total mass, got {sums[0]:.17g} for histogram 0 and "
            f"{sums[k]:.17g} for histogram {k}; normalize them (divide each by its sum) or use an unbalanced "
            "barycenter (reg_m)"
        )
    return sums[0] / sums


def check_barycenter_weights(weights, K: int) -> np.ndarray:
    """Item 38: K non-negative finite weights summing to 1 (None: uniform), to 1e-9 K (1e-6 K for float32);
    returned as float64, renormalised."""
    if weights is None:
        return np.full(K, 1.0 / K)
    given = as_float_array(weights, "weights", ndim=1)
    # float32 weights (torch's default, a float32 softmax) miss 1 by a few 1e-8: judged at their own precision
    tol = (1e-6 if given.dtype == np.float32 else 1e-9) * K
    w = given.astype(np.float64)
    if w.shape[0] != K:
        raise ValueError(f"weights has {w.shape[0]} entries but there are {K} input measures; give one per input")
    if not np.all(np.isfinite(w)):
        raise ValueError(f"weights[{int(np.argmin(np.isfinite(w)))}] is not finite; weights must be finite")
    if np.any(w < 0):
        k = int(np.argmin(w))
        raise ValueError(f"weights[{k}] = {w[k]:.17g} is negative; barycentric weights must be >= 0")
    if abs(w.sum() - 1.0) > tol:
        raise ValueError(f"weights must sum to 1, got sum {w.sum():.17g}; pass weights / weights.sum()")
    return w / w.sum()


def check_choice(value, name: str, choices) -> str:
    """A string among ``choices`` (a TypeError for a non-string, a ValueError naming the choices otherwise)."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, one of {', '.join(map(repr, choices))}; got {value!r}")
    if value not in choices:
        raise ValueError(f"unknown {name} {value!r}; choose one of {', '.join(map(repr, choices))}")
    return value


# ------------------------------------------------------------------------------------- partial and unbalanced OT
def check_transported_mass(m, sum_a: float, sum_b: float, name: str = "m") -> float:
    """The mass that partial OT moves: None means all it can, ``min(sum a, sum b)``; otherwise a real number with
    ``0 < m <= min(sum a, sum b)`` (values above it by float noise, 1e-12 relative, are taken as the minimum)."""
    top = min(sum_a, sum_b)
    if m is None:
        return top
    if isinstance(m, bool) or not isinstance(m, numbers.Real):
        raise TypeError(f"{name} (the mass to transport) must be a real number, got {m!r}")
    m = float(m)
    if math.isnan(m) or m <= 0:
        raise ValueError(f"{name} (the mass to transport) must be > 0, got {m}; it ranges over (0, min(sum(a), "
                         f"sum(b))] = (0, {top:.17g}]")
    if m > top * (1 + 1e-12):
        raise ValueError(f"{name} = {m:.17g} exceeds min(sum(a), sum(b)) = {top:.17g}: partial OT cannot move more "
                         "mass than the lighter measure has; lower m (or None for all of it)")
    return min(m, top)


def check_nonnegative(value, name: str) -> float:
    """A finite real number >= 0 (e.g. a regularisation that may be switched off with 0)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number >= 0, got {value!r}")
    value = float(value)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value}")
    return value


def check_finite_reg_m(reg_m, name: str = "reg_m") -> tuple[float, float]:
    """Marginal penalties that must be finite (solvers that iterate on the penalised objective itself)."""
    rho_a, rho_b = check_reg_m(reg_m, name)
    if math.isinf(rho_a) or math.isinf(rho_b):
        raise ValueError(f"{name} must be finite here, got {reg_m!r}; for an exact marginal use numbaot.emd (both "
                         "exact) or numbaot.sinkhorn_unbalanced with reg_m=(inf, rho)")
    return rho_a, rho_b


# ------------------------------------------------------------------------------------------- domain adaptation
#: Cost normalisations of POT's ``cost_normalization`` (numbaot.da).
COST_NORMS = (None, "median", "max", "log", "loglog")


def check_labels(y, name: str, n: int, *, what: str = "samples") -> np.ndarray:
    """A 1-D host array of ``n`` class labels: integers, strings, or finite floats (-1 marks a missing label where
    the caller allows it)."""
    if y is None:
        raise TypeError(f"{name} is required: pass an array of {n} labels")
    if hasattr(y, "__cuda_array_interface__"):
        raise ValueError(f"{name} is a GPU array; pass host (numpy) labels")
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of labels, got shape {y.shape}")
    if y.shape[0] != n:
        raise ValueError(f"{name} has {y.shape[0]} labels but there are {n} {what}; pass one label per sample")
    if y.dtype.kind not in "biuUSO" and not (y.dtype.kind == "f" and np.all(np.isfinite(y))):
        raise ValueError(f"{name} must hold integer (or string) class labels, got dtype {y.dtype}")
    return y


def check_cost_norm(norm):
    """A cost normalisation: None, 'median', 'max', 'log' or 'loglog'."""
    if norm is not None and not isinstance(norm, str):
        raise TypeError(f"norm must be None or one of {COST_NORMS[1:]}, got {norm!r}")
    if norm not in COST_NORMS:
        raise ValueError(f"norm must be None or one of {COST_NORMS[1:]} (the cost normalisation), got {norm!r}")
    return norm


def check_positive(value, name: str, *, allow_inf: bool = False, allow_zero: bool = False) -> float:
    """A real number > 0 (>= 0 with ``allow_zero``), finite unless ``allow_inf``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a positive real number, got {value!r}")
    value = float(value)
    ok = (value >= 0 if allow_zero else value > 0) and (math.isfinite(value) or (allow_inf and value > 0))
    if not ok:
        raise ValueError(f"{name} must be a {'non-negative' if allow_zero else 'positive'} "
                         f"{'number (inf allowed)' if allow_inf else 'finite number'}, got {value}")
    return value


def check_batch_size(batch_size) -> int:
    """A positive integer number of points per block."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    return int(batch_size)


def check_mass_pairs(mass_a, mass_b, dtype, names=("a", "b")) -> None:
    """:func:`check_mass` on each problem's pair of masses (a batch of problems), the message naming the weights
    ``names`` (e.g. ``("u_weights", "v_weights")``)."""
    first, second = names
    for t in range(len(mass_a)):
        try:
            check_mass(float(mass_a[t]), float(mass_b[t]), dtype)
        except ValueError as exc:
            raise ValueError(str(exc).replace("sum(a)", f"sum({first})").replace("sum(b)", f"sum({second})")
                             .replace("a and b", f"{first} and {second}")) from None


class UnsupportedOption(ValueError, NotImplementedError):
    """An option, or a request, that the compatibility layers (``numbaot.pot``, ``numbaot.geomloss``) cannot serve:
    a ValueError naming the argument, as every numbaot front-end raises for bad input, that is also the
    NotImplementedError POT and GeomLoss raise in the same place (code written for them keeps working)."""


def check_frame_masses(*masses, dtype=np.float64, names=("X", "Y")):
    """Item 38 for series of measures (``timeseries.sta``): refuse frames of unequal mass, naming the first.

    ``masses`` are the masses of each series' frames (arrays; the series named by ``names``), judged at the
    precision of the frames' ``dtype`` (:data:`MASS_RTOL`: 1e-9 for float64, 1e-6 for float32, whose normalised
    frames miss 1 by a few 1e-8). Returns, per series, the factors that rescale each frame to the first frame's mass
    (ones where the masses are equal)."""
    flat = np.concatenate([np.asarray(m, dtype=np.float64) for m in masses])
    rtol = MASS_RTOL.get(np.dtype(dtype), 1e-9)
    bad = np.flatnonzero(np.abs(flat - flat[0]) > rtol * np.maximum(np.abs(flat), abs(flat[0])))
    if bad.size:
        k = int(bad[0])
        s = 0
        while k >= len(masses[s]):
            k -= len(masses[s])
            s += 1
        raise ValueError(f"{names[s]}[{k}] has mass {flat[int(bad[0])]:.17g} but {names[0]}[0] has {flat[0]:.17g}: "
                         "the Sinkhorn divergence between frames needs frames of equal mass (normalise each frame)")
    factors = flat[0] / flat
    out, start = [], 0
    for m in masses:
        out.append(factors[start:start + len(m)])
        start += len(m)
    return tuple(out)
