"""The estimator layer of domain adaptation: scikit-learn's conventions without scikit-learn.

:class:`BaseEstimator` gives ``get_params``/``set_params`` from the ``__init__`` signature (so that
``sklearn.base.clone`` works when scikit-learn is installed), :class:`BaseTransport` the shared ``fit`` (cost,
semi-supervised label costs, weights), the barycentric and out-of-sample ``transform``/``inverse_transform`` and the
label propagation through the plan. Parameters are stored unchanged by ``__init__`` and validated by ``fit``;
everything ``fit`` learns ends in ``_`` (POT's ``mu_s``/``mu_t`` keep POT's names).

Device arrays (CuPy, Numba device arrays, the CUDA simulator's): an estimator fitted on them keeps a host twin
fitted on host copies (weights, normalised or label-corrected costs, projections and out-of-sample maps are host
computations) and runs its solve on the GPU where numbaot's solver has a CUDA driver: the entropic estimators with
``method='sinkhorn_log'`` (a plain cost is built on the device by ``numbaot.dist``, other costs are copied there, and
the solve is dispatched there) and LinearTransport's Gaussian map; the other solves run on the host copies. The
attribute ``ran_on_`` ("cuda" or "cpu") records where the solve ran (never a silent fallback). Fitted attributes and
the outputs of ``transform``, ``inverse_transform``, ``transform_labels`` and ``inverse_transform_labels`` are then
of the caller's kind of array, and those methods take device arrays only (host arrays get a ValueError naming them,
as do device arrays given to an estimator fitted on host arrays). The module-level functions run on host arrays.
"""
from __future__ import annotations

import functools
import inspect
import math

import numpy as np

from .. import _device, _dispatch, _validation as V

#: Label of an unlabelled target sample (POT's convention): -1 cannot be a class.
MISSING_LABEL = -1


class NotFittedError(ValueError, AttributeError):
    """An estimator was used before ``fit`` (a ValueError and an AttributeError, as scikit-learn's)."""


def distribution_estimation_uniform(X):
    """Uniform weights ``1 / n`` on the ``n`` rows of ``X`` (the default ``distribution_estimation``).

    Examples
    --------
    >>> from numbaot.da import distribution_estimation_uniform
    >>> distribution_estimation_uniform([[0.0], [1.0]])
    array([0.5, 0.5])
    """
    n = np.shape(X)[0]
    return np.full(n, 1.0 / n)


# ---------------------------------------------------------------------------------------------------- validation
def host_points(X, name):
    """(n, d) finite float host points; a CUDA array gets a clear error (the estimators run on the host)."""
    if _device.is_cuda_array(X):
        raise ValueError(f"{name} is a GPU array: numbaot.da's functions run on host (numpy) arrays in this version "
                         "(its estimators take GPU arrays); copy it to the host (e.g. cupy.asnumpy), or call "
                         "numbaot.solve / numbaot.sinkhorn directly on device arrays")
    if X is None:
        raise TypeError(f"{name} is required: pass an array of shape (n_samples, n_features)")
    X = V.as_float_array(X, name, ndim=2)
    V.check_finite(X, name)
    return X


def target_points(Xs, Xt):
    """The ``Xt`` of ``inverse_transform(Xs=None, ys=None, Xt=None, ...)`` (POT's signature), with a clear error
    for the tempting ``inverse_transform(Xt_array)``, which binds the array to ``Xs``."""
    if Xt is None and Xs is not None:
        raise TypeError("inverse_transform takes the target samples by keyword, inverse_transform(Xt=...): its "
                        "first positional parameter is Xs, as in POT")
    return host_points(Xt, "Xt")


check_labels = V.check_labels
check_norm = V.check_cost_norm
check_positive = V.check_positive
check_batch_size = V.check_batch_size


def check_metric(metric):
    return V.check_metric(metric)[0]


def check_out_of_sample_map(value, choices):
    return V.check_choice(value, "out_of_sample_map", choices)


def normalize_cost(C, norm, value=None):
    """POT's ``cost_normalization``: ``C / median(C)``, ``C / max(C)``, ``log(1 + C)``, ``log(1 + log(1 + C))``.
    Returns ``(C, value)`` (the divisor, None for the log forms); ``value`` reuses a fitted divisor."""
    if norm is None:
        return C, value
    if norm in ("median", "max"):
        if value is None:
            value = float(np.median(C) if norm == "median" else np.max(C))
            if not value > 0:
                raise ValueError(f"norm={norm!r} divides the cost by its {norm}, which is {value}: the points "
                                 "coincide; use norm=None")
        return C / value, value
    if norm == "log":
        return np.log1p(C), value
    return np.log1p(np.log1p(C)), value


def estimate_weights(estimator, X, name):
    """``distribution_estimation(X)`` checked: n non-negative finite weights of positive mass, as float64."""
    fn = estimator.distribution_estimation
    if not callable(fn):
        raise TypeError(f"distribution_estimation must be a callable X -> weights, got {fn!r}")
    w = V.as_float_array(fn(X), f"distribution_estimation({name})", ndim=1)
    return np.array(V.check_weights(w, f"distribution_estimation({name})", X.shape[0]), dtype=np.float64)  # a copy


def check_fitted(estimator, attributes):
    missing = [a for a in attributes if not hasattr(estimator, a)]
    if missing:
        raise NotFittedError(f"This {type(estimator).__name__} instance is not fitted yet; call fit(Xs, ys, Xt, yt) "
                             "before using it")


def check_features(X, d, name, fitted_name):
    if X.shape[1] != d:
        raise ValueError(f"{name} has {X.shape[1]} features but the estimator was fitted on {fitted_name} with {d}; "
                         "pass points of the same dimension")


def _frames_inside():
    """How many frames, from the caller's, run numbaot's code before the user's."""
    import os
    import sys

    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
    frame, inside = sys._getframe(2), 0
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(package):
        frame, inside = frame.f_back, inside + 1
    return inside


def warn_status(status, solver, detail=""):
    """A ConvergenceWarning (unless ``status`` is OPTIMAL) that names the caller's line, outside numbaot."""
    from .._status import warn_status as _warn

    return _warn(status, solver, detail, stacklevel=_frames_inside() + 3)


def warn_convergence(message):
    """A ConvergenceWarning naming the caller's line, outside numbaot."""
    import warnings

    from .._status import ConvergenceWarning

    warnings.warn(message, ConvergenceWarning, stacklevel=_frames_inside() + 2)


# ---------------------------------------------------------------------------------------------- plan operations
def ferradans(X, fitted, projection, batch_size):
    """Out-of-sample map of Ferradans et al. (2014): each row of ``X`` goes to the ``projection`` of its nearest
    row of ``fitted`` plus its displacement from that row, ``batch_size`` rows of ``X`` at a time (float64)."""
    from ..utils import dist

    out = np.empty((X.shape[0], projection.shape[1]))
    for start in range(0, X.shape[0], batch_size):
        block = X[start:start + batch_size]
        nearest = np.argmin(dist(block, fitted), axis=1)
        out[start:start + batch_size] = projection[nearest] + block - fitted[nearest]
    return out


def barycentric_mapping(plan, x):
    """Barycentric projection of a plan: row ``i`` goes to ``sum_j P_ij x_j / sum_j P_ij``.

    Rows of zero mass are sent to 0 (POT's convention).

    Parameters
    ----------
    plan : array of shape (n, m)
    x : array of shape (m, d)
        The points the plan's columns sit on.

    Returns
    -------
    array of shape (n, d)

    Examples
    --------
    >>> import numpy as np
    >>> from numbaot.da import barycentric_mapping
    >>> barycentric_mapping(np.array([[0.25, 0.25], [0.0, 0.5]]), np.array([[0.0], [2.0]]))
    array([[1.],
           [2.]])
    """
    plan = V.as_float_array(plan, "plan", ndim=2)
    x = V.as_float_array(x, "x", ndim=2)
    if plan.shape[1] != x.shape[0]:
        raise ValueError(f"plan has {plan.shape[1]} columns but x has {x.shape[0]} points")
    return row_average(plan, x)


def row_average(plan, x):
    """``diag(1 / P 1) P x`` (rows of zero mass give 0), without an (n, m) temporary: one BLAS product."""
    rows = plan.sum(axis=1)
    out = np.asarray(plan @ x, dtype=np.float64)
    ok = rows > 0
    out[ok] /= rows[ok, None]
    out[~ok] = 0.0
    return out


def propagate_labels(plan, y):
    """Soft labels of the plan's columns from the labels of its rows (Redko et al. 2019): column ``j`` gets the
    share of its incoming mass that comes from each class.

    Parameters
    ----------
    plan : array of shape (n, m)
    y : array of shape (n,)
        Labels of the rows.

    Returns
    -------
    soft : array of shape (m, n_classes)
        Columns in the order of ``numpy.unique(y)``; each row sums to 1 (0 for a column without mass).

    Examples
    --------
    >>> import numpy as np
    >>> from numbaot.da import propagate_labels
    >>> propagate_labels(np.array([[0.25, 0.0], [0.25, 0.5]]), [3, 7])
    array([[0.5, 0.5],
           [0. , 1. ]])
    """
    plan = V.as_float_array(plan, "plan", ndim=2)
    y = check_labels(y, "y", plan.shape[0], what="rows in the plan")
    _, index = np.unique(y, return_inverse=True)
    masks = np.eye(index.max() + 1)[index.reshape(-1)]  # (n, n_classes)
    return row_average(plan.T, masks)


# ------------------------------------------------------------------------------------------------- device arrays
#: The estimator methods that take device arrays (wrapped by :func:`device_aware` in every estimator class).
DEVICE_METHODS = ("fit", "transform", "inverse_transform", "transform_labels", "inverse_transform_labels")


def _named_arrays(arguments):
    """The arguments of a call by name, lists of arrays (JCPOT's domains) flattened to ``name[k]`` (a nested list of
    numbers stays one host argument)."""
    out = {}
    for name, value in arguments.items():
        if isinstance(value, (list, tuple)) and any(hasattr(v, "shape") or _device.is_cuda_array(v) for v in value):
            out.update((f"{name}[{k}]", v) for k, v in enumerate(value))
        else:
            out[name] = value
    return out


def _host_copy(value):
    """A host copy of a device array (lists element-wise); anything else as is."""
    return _dispatch.host_copies(value)[0]


def to_caller_kind(value, placement):
    """Host arrays (inside lists, tuples and dicts too) copied to the caller's device as its kind of array; scalars,
    strings and None as they are."""
    if isinstance(value, np.ndarray) and value.ndim >= 1 and value.dtype.kind in "biuf":
        return _dispatch.to_caller(value, placement)
    if isinstance(value, list):
        return [to_caller_kind(v, placement) for v in value]
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        return tuple(to_caller_kind(v, placement) for v in value)
    if isinstance(value, dict):
        return {k: to_caller_kind(v, placement) for k, v in value.items()}
    return value


def _is_public_fitted(key):
    return key in ("mu_s", "mu_t") or (key.endswith("_") and not key.startswith("_"))


def _is_fitted(estimator):
    return any(_is_public_fitted(k) for k in vars(estimator))


def device_aware(method):
    """Wrap an estimator method so that it takes device arrays (see the module's docstring).

    ``fit`` on device arrays fits a host twin (``type(self)(**get_params())``) on host copies, its solve dispatched
    to the caller's device through ``_solve_on`` where the estimator can (see ``_sinkhorn_plan``), and publishes the
    twin's fitted attributes in the caller's kind of array with ``ran_on_``. The other methods of an estimator fitted
    on device arrays run the twin's on host copies and hand the answer back in the caller's kind. Host calls on a
    host-fitted estimator go straight to ``method``.
    """
    signature = inspect.signature(method)
    name = method.__name__

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        bound = signature.bind(self, *args, **kwargs)
        arguments = {k: v for k, v in bound.arguments.items() if k != "self"}
        named = _named_arrays(arguments)
        placement = _dispatch.place(**named)
        if name == "fit":
            self._forget_fit()
            if not placement.on_gpu:
                return method(self, *args, **kwargs)
            return self._fit_on_device(placement, arguments)
        twin = self.__dict__.get("_host")
        given = [k for k, v in named.items() if v is not None and not _device._is_scalar(v)]
        if twin is None:
            if placement.on_gpu and _is_fitted(self):
                raise ValueError(f"this {type(self).__name__} was fitted on host arrays but {', '.join(given)} "
                                 f"{'lives' if len(given) == 1 else 'live'} on the GPU: pass host arrays, or fit it "
                                 "on GPU arrays")
            return method(self, *args, **kwargs)
        if given and not placement.on_gpu:
            raise ValueError(f"this {type(self).__name__} was fitted on GPU arrays but {', '.join(given)} "
                             f"{'is a host array' if len(given) == 1 else 'are host arrays'}: pass GPU arrays (e.g. "
                             "cupy.asarray(x) or numba.cuda.to_device(x)), or fit it on host arrays")
        answer = getattr(twin, name)(**{k: _host_copy(v) for k, v in arguments.items()})
        return to_caller_kind(answer, self._placement)

    wrapper._device_aware = True
    return wrapper


# ---------------------------------------------------------------------------------------------------- estimators
class BaseEstimator:
    """``get_params``/``set_params`` read from the ``__init__`` signature (scikit-learn's rules: every parameter
    an explicit keyword of ``__init__``, stored unchanged under its own name)."""

    @classmethod
    def _get_param_names(cls):
        init = cls.__init__
        if init is object.__init__:
            return []
        params = [p for p in inspect.signature(init).parameters.values() if p.name != "self"]
        for p in params:
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                raise RuntimeError(f"{cls.__name__}.__init__ must list its parameters explicitly (no *args/**kwargs)")
        return sorted(p.name for p in params)

    def get_params(self, deep=True):
        """The estimator's parameters as a dict (``deep``: with those of nested estimators as ``name__param``)."""
        out = {}
        for key in self._get_param_names():
            value = getattr(self, key)
            if deep and hasattr(value, "get_params") and not isinstance(value, type):
                out.update((f"{key}__{k}", v) for k, v in value.get_params().items())
            out[key] = value
        return out

    def set_params(self, **params):
        """Set parameters (``name__param`` for a nested estimator's); returns self. Unknown names raise a
        ValueError listing the valid ones."""
        valid = self.get_params(deep=True)
        nested = {}
        for key, value in params.items():
            key, sep, sub = key.partition("__")
            if key not in valid:
                raise ValueError(f"invalid parameter {key!r} for {type(self).__name__}; valid parameters are "
                                 f"{sorted(self._get_param_names())}")
            if sep:
                nested.setdefault(key, {})[sub] = value
            else:
                setattr(self, key, value)
                valid[key] = value
        for key, sub_params in nested.items():
            valid[key].set_params(**sub_params)
        return self

    #: What fit learns besides the attributes ending in ``_`` (POT's names, caches, the host twin of a device fit).
    _FITTED_EXTRA = ("mu_s", "mu_t", "_fitted", "_bary_s", "_bary_t", "_projections", "_labelled_cost", "_log_u",
                     "_log_v", "_host", "_placement")

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for name in DEVICE_METHODS:
            method = cls.__dict__.get(name)
            if method is not None and not getattr(method, "_device_aware", False):
                setattr(cls, name, device_aware(method))

    def _fit_on_device(self, placement, arguments):
        """``fit`` of device arrays: a host twin fitted on host copies (its solve on the GPU where it can), its
        fitted attributes published in the caller's kind of array, ``ran_on_`` where the solve ran."""
        twin = type(self)(**self.get_params(deep=False))
        twin._solve_on = placement
        twin.fit(**{k: _host_copy(v) for k, v in arguments.items()})
        ready = twin.__dict__.pop("_on_device", {})  # arrays the solve left on the caller's device
        for key, value in vars(twin).items():
            if _is_public_fitted(key):
                setattr(self, key, ready[key] if key in ready else to_caller_kind(value, placement))
        twin.__dict__.pop("cost_", None)  # only fit reads the cost: the twin does not keep a host copy
        self.ran_on_ = twin.__dict__.get("ran_on_", _device.CPU)
        self._host = twin
        self._placement = placement
        return self

    def _forget_fit(self):
        """Drop what a previous fit learned, so that a fit that fails leaves the estimator unfitted rather than
        half-refitted (a new ``xs_`` beside the old ``coupling_``)."""
        for key in [k for k in vars(self) if (k.endswith("_") and not k.startswith("__")) or k in self._FITTED_EXTRA]:
            del self.__dict__[key]

    def __repr__(self):
        defaults = {p.name: p.default for p in inspect.signature(type(self).__init__).parameters.values()}
        changed = []
        for k, v in self.get_params(deep=False).items():
            default = defaults.get(k, inspect.Parameter.empty)
            try:
                same = v is default or bool(v == default)
            except Exception:  # arrays and other values without a plain ==
                same = False
            if not same:
                changed.append(f"{k}={v!r}")
        return f"{type(self).__name__}({', '.join(changed)})"


class BaseTransport(BaseEstimator):
    """Shared behaviour of the plan-based estimators (POT's ``ot.da.BaseTransport``).

    ``fit`` computes the cost ``cost_`` between ``Xs`` and ``Xt`` (``metric``, normalised by ``norm``), raises it
    to ``limit_max`` (times the largest cost; ``inf`` forbids the pair) between labelled samples of different
    classes when both ``ys`` and ``yt`` are given (``yt = -1`` marks an unlabelled target), estimates the weights
    ``mu_s``, ``mu_t`` with ``distribution_estimation`` and keeps the samples in ``xs_``, ``xt_``; the subclass then
    solves for ``coupling_``. ``transform`` sends the fitted source points to their barycentric projections and any
    other point to the projection of its nearest fitted source point plus its displacement from that point
    (Ferradans et al. 2014; "ferradans"), in batches of ``batch_size`` points.

    Device arrays: ``fit`` on CuPy or Numba device arrays (labels too) keeps a host twin fitted on host copies; the
    solve runs on the GPU where numbaot's solver has a CUDA driver (:class:`SinkhornTransport` and
    :class:`UnbalancedSinkhornTransport` with ``method='sinkhorn_log'``, :class:`LinearTransport`) and on the host
    copies otherwise (the network simplex, the class-regularised and Laplacian solvers, the joint maps, the Gaussian
    GW map, JCPOT), ``ran_on_`` ("cuda" or "cpu")
    saying which. The fitted attributes, and what ``transform``, ``inverse_transform``, ``transform_labels`` and
    ``inverse_transform_labels`` return, are then of the caller's kind of array; those methods compute on host
    copies of their inputs. Host and device arrays are not mixed: a host array given to an estimator fitted on
    device arrays, or the other way round, gets a ValueError naming it.
    """

    _OUT_OF_SAMPLE = ("ferradans",)

    # ---- fit
    def fit(self, Xs=None, ys=None, Xt=None, yt=None):
        """Fit the transport from source samples ``(Xs, ys)`` to target samples ``(Xt, yt)``; returns self.

        Parameters
        ----------
        Xs : array of shape (n_source_samples, n_features)
        ys : array of shape (n_source_samples,), optional
            Source labels: with ``yt`` they make the cost semi-supervised (see ``limit_max``); some estimators
            require them.
        Xt : array of shape (n_target_samples, n_features)
        yt : array of shape (n_target_samples,), optional
            Target labels, -1 for an unlabelled sample.

        Returns
        -------
        self
        """
        if type(self)._solve is BaseTransport._solve:
            raise TypeError(f"{type(self).__name__} has no solver of its own: fit one of the estimators built on it "
                            "(EMDTransport, SinkhornTransport, ...)")
        self._fit_cost(Xs, ys, Xt, yt)
        self._solve()
        return self

    def _check_common(self):
        metric = check_metric(self.metric)
        norm = check_norm(self.norm)
        check_out_of_sample_map(self.out_of_sample_map, self._OUT_OF_SAMPLE)
        return metric, norm

    def _fit_cost(self, Xs, ys, Xt, yt, *, need_ys=False):
        from ..utils import dist

        self._forget_fit()
        metric, norm = self._check_common()
        Xs = host_points(Xs, "Xs")
        Xt = host_points(Xt, "Xt")
        V.check_same_dimension(Xs, Xt, ("Xs", "Xt"))
        ns, nt = Xs.shape[0], Xt.shape[0]
        if need_ys and ys is None:
            raise TypeError(f"{type(self).__name__} needs the source labels: call fit(Xs, ys, Xt)")
        ys = None if ys is None else check_labels(ys, "ys", ns, what="source samples (rows of Xs)")
        yt = None if yt is None else check_labels(yt, "yt", nt, what="target samples (rows of Xt)")
        limit_max = getattr(self, "limit_max", np.inf)
        if ys is not None and yt is not None:
            limit_max = check_positive(limit_max, "limit_max", allow_inf=True)
        mu_s = estimate_weights(self, Xs, "Xs")
        mu_t = estimate_weights(self, Xt, "Xt")
        labelled = ys is not None and yt is not None
        limit = norm_value = None
        placement = self.__dict__.get("_solve_on")
        if placement is not None and norm is None and not labelled and self._solves_on_gpu():
            # the host twin of a device fit whose solve runs on the GPU: the plain cost is built there (float64,
            # as on the host) and stays there; normalised and label-corrected costs are built on the host
            from .._dispatch import to_caller

            cost = dist(*(to_caller(x.astype(np.float64, copy=False), placement) for x in (Xs, Xt)), metric=metric)
        else:
            cost = dist(Xs, Xt, metric=metric).astype(np.float64, copy=False)
            cost, norm_value = normalize_cost(cost, norm)
        if labelled:
            _check_label_classes(ys, yt)
            limit = limit_max * float(np.max(cost)) if math.isfinite(limit_max) else np.inf
            known = (ys != MISSING_LABEL)[:, None] & (yt != MISSING_LABEL)[None, :]
            mismatch = known & (ys[:, None] != yt[None, :])
            cost = np.where(mismatch, np.maximum(cost, limit), cost)
        self.cost_ = cost
        self.norm_cost_ = norm_value
        # the settings transform uses, frozen at fit (set_params after fit does not change the fitted model)
        self._fitted = {"metric": metric, "norm": norm, "out_of_sample_map": self.out_of_sample_map}
        self.limit_max_ = limit
        self.mu_s = mu_s
        self.mu_t = mu_t
        self.xs_ = Xs
        self.xt_ = Xt
        self._labelled_cost = limit is not None
        return ys, yt

    def _solves_on_gpu(self):
        """Whether the solve of a fit on device arrays runs on the GPU (then the plain cost is built there)."""
        return False

    def _solve(self):
        """Compute ``coupling_`` (and the estimator's other fitted attributes) from ``cost_``, ``mu_s``, ``mu_t``;
        every estimator defines it (``fit`` refuses a class that does not)."""

    def fit_transform(self, Xs=None, ys=None, Xt=None, yt=None):
        """``fit(Xs, ys, Xt, yt)`` then ``transform(Xs)``: the source samples transported onto the target."""
        return self.fit(Xs, ys, Xt, yt).transform(Xs)

    # ---- transport of samples
    def _projection(self, which):
        """The fitted source (``'s'``) or target (``'t'``) points' barycentric projections, computed once."""
        key = "_bary_" + which
        cached = self.__dict__.get(key)
        if cached is None:
            plan = self.coupling_ if which == "s" else self.coupling_.T
            cached = row_average(plan, self.xt_ if which == "s" else self.xs_)
            self.__dict__[key] = cached
        return cached

    def _out_of_sample(self, X, side, batch_size):
        """``X`` (not the fitted points of ``side``) mapped by the out-of-sample rule; subclasses add theirs."""
        fitted = self.xs_ if side == "s" else self.xt_
        return ferradans(X, fitted, self._projection(side), batch_size)

    def _projects_fitted_points(self):
        """Whether the fitted points themselves go to their barycentric projections (else to the out-of-sample
        map)."""
        return True

    def _transport(self, X, side, batch_size):
        """The fitted points of ``side`` ('s' or 't') to their barycentric projections, others out of sample;
        returned in the dtype of ``X`` (float32 stays float32)."""
        fitted = self.xs_ if side == "s" else self.xt_
        name = "Xs" if side == "s" else "Xt"
        check_features(X, fitted.shape[1], name, name)
        if self._projects_fitted_points() and X.shape == fitted.shape and np.array_equal(X, fitted):
            out = self._projection(side).copy()
        else:
            out = self._out_of_sample(X, side, batch_size)
        return out.astype(X.dtype, copy=False)

    def transform(self, Xs=None, ys=None, Xt=None, yt=None, batch_size=128):
        """Transport source samples onto the target domain.

        Parameters
        ----------
        Xs : array of shape (n, n_features)
            Source samples: the fitted ones go to their barycentric projections, others are mapped out of sample
            (see ``out_of_sample_map``).
        ys, Xt, yt : ignored
            Accepted for POT's signature.
        batch_size : int
            Points mapped out of sample per block (bounds the memory of their distance matrix).

        Returns
        -------
        array of shape (n, n_features)
            In the dtype of ``Xs`` (float32 or float64).
        """
        check_fitted(self, ("coupling_", "xs_", "xt_"))
        batch_size = check_batch_size(batch_size)
        return self._transport(host_points(Xs, "Xs"), "s", batch_size)

    def inverse_transform(self, Xs=None, ys=None, Xt=None, yt=None, batch_size=128):
        """Transport target samples ``Xt`` back onto the source domain (as :meth:`transform`, the other way;
        pass ``Xt`` by keyword, as in POT)."""
        check_fitted(self, ("coupling_", "xs_", "xt_"))
        batch_size = check_batch_size(batch_size)
        return self._transport(target_points(Xs, Xt), "t", batch_size)

    # ---- transport of labels
    def transform_labels(self, ys=None):
        """Propagate the source labels through the plan (Redko et al. 2019).

        Parameters
        ----------
        ys : array of shape (n_source_samples,)

        Returns
        -------
        array of shape (n_target_samples, n_classes)
            Soft target labels, columns in the order of ``numpy.unique(ys)``: every distinct value is a class, -1
            included (as in POT, an unlabelled source sample is not skipped). A target sample that receives no
            mass gets a row of zeros.

        Examples
        --------
        >>> import numpy as np
        >>> from numbaot.da import EMDTransport
        >>> est = EMDTransport().fit(Xs=np.array([[0.0], [1.0]]), Xt=np.array([[1.1], [0.1]]))
        >>> est.transform_labels(np.array([3, 7]))
        array([[0., 1.],
               [1., 0.]])
        """
        check_fitted(self, ("coupling_",))
        ys = check_labels(ys, "ys", self.coupling_.shape[0], what="fitted source samples")
        return propagate_labels(self.coupling_, ys)

    def inverse_transform_labels(self, yt=None):
        """Propagate the target labels back through the plan.

        Parameters
        ----------
        yt : array of shape (n_target_samples,)

        Returns
        -------
        array of shape (n_source_samples, n_classes)
            Soft source labels, columns in the order of ``numpy.unique(yt)``.
        """
        check_fitted(self, ("coupling_",))
        yt = check_labels(yt, "yt", self.coupling_.shape[1], what="fitted target samples")
        return propagate_labels(self.coupling_.T, yt)


def _check_label_classes(ys, yt):
    """Semi-supervised costs: every labelled source class must have somewhere to go in the target."""
    if np.any(yt == MISSING_LABEL):
        return
    absent = np.setdiff1d(np.unique(ys[ys != MISSING_LABEL]), np.unique(yt))
    if absent.size:
        raise ValueError(f"ys has classes {absent.tolist()} that no target sample has (yt holds "
                         f"{np.unique(yt).tolist()}): those source samples could only be sent across classes. Check "
                         "that both label sets use the same encoding, or mark unknown target labels with -1")
