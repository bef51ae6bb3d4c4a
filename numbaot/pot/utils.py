"""``ot.utils`` over numbaot: cost matrices (every scipy ``cdist`` metric), weights, normalisations, projections.

``dist`` runs numbaot's compiled :func:`numbaot.dist` for the metrics it has ('sqeuclidean', 'euclidean',
'cityblock', 'minkowski', 'cosine') and scipy's ``cdist`` for the others and for weighted metrics (``w=``).
"""
from __future__ import annotations

import functools
import time
import warnings

import numpy as np

from . import _common as C
from .lp import check_number_threads

__all__ = ["dist", "dist0", "euclidean_distances", "unif", "clean_zeros", "cost_normalization", "dots",
           "is_all_finite", "label_normalization", "labels_to_masks", "laplacian", "kernel", "list_to_array",
           "proj_simplex", "proj_SDP", "check_random_state", "get_parameter_pair", "check_params", "tic", "toc",
           "toq", "deprecated", "parmap", "get_coordinate_circle", "UndefinedParameter", "OTResult", "BaryResult",
           "BaseEstimator", "check_number_threads"]

_COMPILED = {"sqeuclidean", "euclidean", "cityblock", "minkowski", "cosine"}
_SCIPY = {"braycurtis", "canberra", "chebyshev", "cityblock", "correlation", "cosine", "dice", "euclidean",
          "hamming", "jaccard", "jensenshannon", "kulczynski1", "mahalanobis", "matching", "minkowski",
          "rogerstanimoto", "russellrao", "seuclidean", "sokalmichener", "sokalsneath", "sqeuclidean", "yule"}


def dist(x1, x2=None, metric="sqeuclidean", p=2, w=None, backend="auto", nx=None, use_tensor=False):
    """Cost matrix between two point clouds (POT's ``ot.dist``).

    Parameters
    ----------
    x1 : array of shape (n, d)
    x2 : array of shape (m, d), optional
        Defaults to ``x1``.
    metric : str or callable
        'sqeuclidean' (the default), 'euclidean', 'cityblock', 'minkowski' (exponent ``p``) and 'cosine' are
        computed by numbaot's compiled :func:`numbaot.dist`; every other metric of ``scipy.spatial.distance.cdist``
        (and a callable) by scipy.
    p : float
        Exponent of 'minkowski'.
    w : array of shape (d,), optional
        Weights of the coordinates (scipy's weighted metrics: 'minkowski', 'euclidean', 'sqeuclidean',
        'cityblock', ...).
    backend, nx, use_tensor :
        Accepted for compatibility (numbaot works on numpy and CUDA arrays).

    Examples
    --------
    >>> import numbaot.pot as ot
    >>> ot.dist([[0.0, 0.0]], [[3.0, 4.0]], metric="euclidean")
    array([[5.]])
    >>> ot.dist([[0.0, 0.0]], [[3.0, 4.0]], metric="chebyshev")
    array([[4.]])
    """
    import numbaot

    if not callable(metric) and (not isinstance(metric, str) or metric not in _SCIPY):
        raise ValueError(f"Unknown metric {metric!r}: use one of scipy's cdist metrics ({', '.join(sorted(_SCIPY))})"
                         " or a callable")
    if isinstance(metric, str) and metric in _COMPILED and w is None:
        return numbaot.dist(C.as_array(x1), None if x2 is None else C.as_array(x2), metric=metric, p=p)
    from scipy.spatial.distance import cdist

    x1 = np.asarray(x1, dtype=np.float64)
    x2 = x1 if x2 is None else np.asarray(x2, dtype=np.float64)
    x1, x2 = (x.reshape(-1, 1) if x.ndim == 1 else x for x in (x1, x2))
    kwargs = {} if w is None else {"w": np.asarray(w, dtype=np.float64)}
    if metric == "minkowski":
        kwargs["p"] = p
    return cdist(x1, x2, metric=metric, **kwargs)


def dist0(n, method="lin_square"):
    """Squared distances ``(i - j)^2`` between the points ``0, ..., n - 1`` of a regular grid.

    Examples
    --------
    >>> from numbaot.pot.utils import dist0
    >>> dist0(3)
    array([[0., 1., 4.],
           [1., 0., 1.],
           [4., 1., 0.]])
    """
    if method != "lin_square":
        raise ValueError(f"Unknown method {method!r}: only 'lin_square'")
    x = np.arange(n, dtype=np.float64)
    return (x[:, None] - x[None, :]) ** 2


def euclidean_distances(X, Y, squared=False, nx=None):
    """Euclidean (or squared) distances between the rows of ``X`` and ``Y``."""
    return dist(X, Y, "sqeuclidean" if squared else "euclidean")


def unif(n, type_as=None):
    """Uniform weights ``1/n`` (:func:`numbaot.unif`).

    Examples
    --------
    >>> import numbaot.pot as ot
    >>> ot.unif(2)
    array([0.5, 0.5])
    """
    import numbaot

    return numbaot.unif(n, type_as)


def clean_zeros(a, b, M):
    """Drop the zero entries of ``a`` and ``b`` and the matching rows and columns of ``M``."""
    a, b, M = np.asarray(a), np.asarray(b), np.asarray(M)
    return a[a > 0], b[b > 0], M[a > 0, :][:, b > 0]


def cost_normalization(C, norm=None, return_value=False, value=None):
    """``C`` divided by its median or max, or ``log(1 + C)``, or ``log(1 + log(1 + C))``.

    Examples
    --------
    >>> import numpy as np
    >>> from numbaot.pot.utils import cost_normalization
    >>> cost_normalization(np.array([[0.0, 2.0], [4.0, 0.0]]), "max")
    array([[0. , 0.5],
           [1. , 0. ]])
    """
    C = np.asarray(C)
    if norm is None:
        out, v = C, None
    elif norm == "median":
        v = np.median(C) if value is None else value
        out = C / v
    elif norm == "max":
        v = np.max(C) if value is None else value
        out = C / v
    elif norm == "log":
        out, v = np.log1p(C), None
    elif norm == "loglog":
        out, v = np.log1p(np.log1p(C)), None
    else:
        raise ValueError(f"Norm {norm!r} is not a valid option: use None, 'median', 'max', 'log' or 'loglog'")
    return (out, v) if return_value else out


def dots(*args):
    """The matrix product of all the arguments, left to right.

    Examples
    --------
    >>> import numpy as np
    >>> from numbaot.pot.utils import dots
    >>> dots(np.eye(2), 2 * np.eye(2), np.ones(2))
    array([2., 2.])
    """
    return functools.reduce(np.dot, args)


def is_all_finite(*args):
    """True when every argument holds finite numbers only."""
    return all(np.all(np.isfinite(np.asarray(a))) for a in args)


def label_normalization(y, start=0, nx=None):
    """Labels shifted so that the smallest is ``start``."""
    y = np.asarray(y)
    return y - y.min() + start


def labels_to_masks(y, type_as=None, nx=None):
    """One-hot masks of shape (n, k) of integer labels ``0 .. k-1``."""
    y = np.asarray(y)
    classes = np.unique(y)
    dtype = np.float64 if type_as is None else np.asarray(type_as).dtype
    return (y[:, None] == classes[None, :]).astype(dtype)


def laplacian(x):
    """Graph Laplacian ``diag(x 1) - x`` of a similarity matrix."""
    x = np.asarray(x, dtype=np.float64)
    return np.diag(x.sum(axis=1)) - x


def kernel(x1, x2, method="gaussian", sigma=1, **kwargs):
    """Gaussian kernel ``exp(-|x1 - x2|^2 / (2 sigma^2))``.

    Examples
    --------
    >>> from numbaot.pot.utils import kernel
    >>> kernel([[0.0]], [[0.0]])
    array([[1.]])
    """
    if method.lower() not in ("gaussian", "gauss", "rbf"):
        raise ValueError(f"Unknown kernel {method!r}: only 'gaussian'")
    return np.exp(-dist(x1, x2) / (2 * sigma ** 2))


def list_to_array(*lst, nx=None):
    """Lists (and tuples) as numpy arrays; one argument gives one array, several a list."""
    out = [np.array(a) if isinstance(a, (list, tuple)) else a for a in lst]
    return out[0] if len(out) == 1 else out


def proj_simplex(v, z=1):
    """Euclidean projection of ``v`` (or of each column of a 2D ``v``) onto the simplex of total mass ``z``.

    Examples
    --------
    >>> from numbaot.pot.utils import proj_simplex
    >>> proj_simplex([2.0, 0.0])
    array([1., 0.])
    """
    v = np.asarray(v, dtype=np.float64)
    vector = v.ndim == 1
    V = v[:, None] if vector else v
    n = V.shape[0]
    s = -np.sort(-V, axis=0)
    css = np.cumsum(s, axis=0) - z
    k = np.arange(1, n + 1)[:, None]
    ok = s - css / k > 0
    rho = n - 1 - np.argmax(ok[::-1], axis=0)
    theta = css[rho, np.arange(V.shape[1])] / (rho + 1)
    out = np.maximum(V - theta[None, :], 0)
    return out[:, 0] if vector else out


def proj_SDP(S, nx=None, vmin=0.0):  # noqa: N802 - POT's name
    """Projection of a symmetric matrix (or a stack of them) onto those with eigenvalues >= ``vmin``."""
    S = np.asarray(S, dtype=np.float64)
    w, V = np.linalg.eigh(S)
    w = np.maximum(w, vmin)
    return (V * w[..., None, :]) @ np.swapaxes(V, -1, -2)


def check_random_state(seed):
    """A ``numpy.random.RandomState`` from None, an int or a RandomState."""
    if seed is None or seed is np.random:
        return np.random.mtrand._rand
    if isinstance(seed, (int, np.integer)):
        return np.random.RandomState(seed)
    if isinstance(seed, np.random.RandomState):
        return seed
    raise ValueError(f"{seed!r} cannot be used to seed a numpy.random.RandomState instance")


def get_parameter_pair(parameter):
    """``(p, p)`` for a number, the pair itself for a pair."""
    if isinstance(parameter, (float, int, np.number)) or np.ndim(parameter) == 0:
        return parameter, parameter
    if len(parameter) != 2:
        raise ValueError(f"expected a number or a pair of numbers, got {parameter!r}")
    return parameter[0], parameter[1]


def check_params(**kwargs):
    """True when no keyword argument is None."""
    return all(v is not None for v in kwargs.values())


_TIC = [time.perf_counter()]


def tic():
    """Start the timer of :func:`toc` and :func:`toq`."""
    _TIC[0] = time.perf_counter()


def toc(message="Elapsed time : {} s"):
    """The seconds since :func:`tic`; ``message.format(seconds)`` is the line POT prints, here an INFO record of
    the ``numbaot.pot`` logger (on stdout where logging is not configured)."""
    t = time.perf_counter() - _TIC[0]
    C.say(message.format(t))
    return t


def toq():
    """The seconds since :func:`tic`."""
    return time.perf_counter() - _TIC[0]


def deprecated(extra=""):
    """Decorator that emits a DeprecationWarning when the function is called (or the class instantiated)."""
    def decorate(obj):
        msg = f"{obj.__name__} is deprecated" + (f"; {extra}" if extra else "")
        if isinstance(obj, type):
            init = obj.__init__

            @functools.wraps(init)
            def new_init(self, *args, **kwargs):
                warnings.warn(msg, DeprecationWarning, stacklevel=2)
                init(self, *args, **kwargs)
            obj.__init__ = new_init
            return obj

        @functools.wraps(obj)
        def wrapper(*args, **kwargs):
            warnings.warn(msg, DeprecationWarning, stacklevel=2)
            return obj(*args, **kwargs)
        return wrapper
    if callable(extra) and not isinstance(extra, str):
        obj, extra = extra, ""
        return decorate(obj)
    return decorate


def parmap(f, X, nprocs="default"):
    """``list(map(f, X))`` (POT's parallel map; numbaot's solvers are multithreaded themselves)."""
    return list(map(f, X))


def get_coordinate_circle(x):
    """The coordinate in [0, 1) of points ``x`` of shape (n, 2) on the unit circle."""
    x = np.asarray(x, dtype=np.float64)
    return (np.arctan2(-x[:, 1], -x[:, 0]) + np.pi) / (2 * np.pi)


_POT_CITATION = ("numbaot: optimal transport in pure Python compiled by Numba, through numbaot.pot (POT's API). "
                 "POT: Flamary et al., POT: Python Optimal Transport, JMLR 22(78):1-8, 2021.")


class OTResult:
    """POT's ``OTResult``: a numbaot result seen through POT's attribute names.

    Built by :meth:`from_numbaot` around a :class:`numbaot.OTResult` (every numbaot attribute, such as ``n_iter``,
    ``converged`` or ``errors``, stays reachable), or from POT's constructor arguments. Adds POT's ``marginals``,
    ``log`` and ``_backend`` (always None: numbaot has no backend objects).

    Examples
    --------
    >>> import numbaot.pot as ot
    >>> res = ot.solve([[0.0, 1.0], [1.0, 0.0]])
    >>> float(res.value), [m.tolist() for m in res.marginals], res.n_iter >= 0
    (0.0, [[0.5, 0.5], [0.5, 0.5]], True)
    """

    _backend = None

    def __init__(self, potentials=None, value=None, value_linear=None, value_quad=None, plan=None, log=None,
                 backend=None, sparse_plan=None, lazy_plan=None, status=None, batch_size=100):
        self._fields = dict(potentials=potentials, value=value, value_linear=value_linear, value_quad=value_quad,
                            plan=plan, sparse_plan=sparse_plan, lazy_plan=lazy_plan, status=status)
        self._log = log
        self._result = None

    @classmethod
    def from_numbaot(cls, result, log=None, potentials=None):
        """POT's view of numbaot's ``result`` (``potentials`` replaces its pair when given)."""
        out = cls(log=log)
        out._result = result
        if potentials is not None:
            out._fields["potentials"] = potentials
        return out

    def _get(self, name):
        if name == "potentials" and self._fields["potentials"] is not None:
            return self._fields["potentials"]
        if self._result is not None:
            return getattr(self._result, name)
        return self._fields.get(name)

    def __getattr__(self, name):
        if name.startswith("__") or name in ("_result", "_fields", "_log"):
            raise AttributeError(name)
        if self._result is None:
            raise AttributeError(f"this OTResult has no {name!r}")
        return getattr(self._result, name)

    potentials = property(lambda self: self._get("potentials"), doc="Dual potentials (a pair).")
    value = property(lambda self: self._get("value"), doc="The objective, regularisation included.")
    value_linear = property(lambda self: self._get("value_linear"), doc="``<P, M>``.")
    value_quad = property(lambda self: self._get("value_quad"), doc="The quadratic part (GW).")
    plan = property(lambda self: self._get("plan"), doc="The transport plan.")
    sparse_plan = property(lambda self: self._get("sparse_plan"), doc="The plan as a scipy sparse array.")
    @property
    def lazy_plan(self):
        """The plan as an operator; ``lazy_plan[:]`` (POT's LazyTensor indexing) gives the dense plan's entries."""
        op = self._get("lazy_plan")
        return None if op is None else _Indexable(op)
    status = property(lambda self: self._get("status"), doc="How the solver ended.")
    log = property(lambda self: self._log, doc="POT's log dict, where one was built.")

    @property
    def potential_a(self):
        p = self.potentials
        return None if p is None else p[0]

    @property
    def potential_b(self):
        p = self.potentials
        return None if p is None else p[1]

    @property
    def marginal_a(self):
        return None if self._result is None and self.plan is None else (
            self._result.marginal_a if self._result is not None else np.sum(self.plan, axis=1))

    @property
    def marginal_b(self):
        return None if self._result is None and self.plan is None else (
            self._result.marginal_b if self._result is not None else np.sum(self.plan, axis=0))

    @property
    def marginals(self):
        a = self.marginal_a
        return None if a is None else (a, self.marginal_b)

    @property
    def a_to_b(self):
        if self._result is None or getattr(self._result, "points", None) is None:
            raise C.UnsupportedOption("a_to_b needs the point clouds: use solve_sample")
        return self._result.a_to_b

    @property
    def b_to_a(self):
        if self._result is None or getattr(self._result, "points", None) is None:
            raise C.UnsupportedOption("b_to_a needs the point clouds: use solve_sample")
        return self._result.b_to_a

    @property
    def citation(self):
        return _POT_CITATION if self._result is None or self._result.citation is None else self._result.citation

    def __repr__(self):
        return "OTResult(numbaot.pot)" if self._result is None else f"{self._result!r} (through numbaot.pot)"


class _Indexable:
    """A plan operator that also answers POT's LazyTensor indexing (``T[:]``, ``T[i, j]``) from its dense plan."""

    def __init__(self, op):
        self._op = op

    def __getitem__(self, key):
        return self._op.to_dense()[key]

    def __getattr__(self, name):
        if name == "_op":
            raise AttributeError(name)
        return getattr(self._op, name)

    def __matmul__(self, v):
        return self._op @ v

    def __rmatmul__(self, u):
        return u @ self._op


class BaryResult:
    """POT's ``BaryResult`` around a :class:`numbaot.BarycenterResult` (``X`` the support, ``b`` the weights)."""

    _backend = None

    def __init__(self, X=None, C=None, b=None, value=None, value_linear=None, value_quad=None, log=None,
                 list_res=None, status=None, backend=None, *, result=None):
        self.X, self.C, self.b = X, C, b
        self.value, self.value_linear, self.value_quad = value, value_linear, value_quad
        self.log, self.list_res, self.status = log, list_res, status
        self._result = result

    @classmethod
    def from_numbaot(cls, result):
        plans = getattr(result, "plans", None)
        return cls(X=result.support, b=result.barycenter, value=result.value, value_linear=result.value_linear,
                   status=result.status, log={"n_iter": result.n_iter},
                   list_res=None if plans is None else [OTResult(plan=P) for P in plans], result=result)

    def __getattr__(self, name):
        if name.startswith("__") or name == "_result" or self._result is None:
            raise AttributeError(name)
        return getattr(self._result, name)

    @property
    def citation(self):
        return _POT_CITATION


class UndefinedParameter(Exception):
    """A parameter that should have been set (POT's exception)."""


class BaseEstimator:
    """sklearn-style ``get_params``/``set_params`` over the constructor's arguments."""

    @classmethod
    def _get_param_names(cls):
        import inspect

        init = cls.__init__
        if init is object.__init__:
            return []
        return sorted(p.name for p in inspect.signature(init).parameters.values()
                      if p.name != "self" and p.kind != p.VAR_KEYWORD)

    def get_params(self, deep=True):
        return {key: getattr(self, key, None) for key in self._get_param_names()}

    def set_params(self, **params):
        valid = self._get_param_names()
        for key, value in params.items():
            if key not in valid:
                raise ValueError(f"Invalid parameter {key} for estimator {type(self).__name__}")
            setattr(self, key, value)
        return self


#: POT's names in this module that numbaot does not implement -> numbaot's closest function (None: no
#: equivalent); reaching one raises PotNameError, an AttributeError.
_MISSING = {
    "LazyTensor": "numbaot.LinearOperator",
    "reduce_lazytensor": "numbaot.LinearOperator",
    "get_lowrank_lazytensor": "numbaot.LinearOperator",
    "DataScaler": None,
    "apply_scaler": None,
    "exp_bures": "numbaot.bures_wasserstein_mapping",
    "fun_to_numpy": None,
    "projection_sparse_simplex": "numbaot.pot.utils.proj_simplex",
    "sparse_ot_dist": "numbaot.dist",
    "split_sample_ratio": None,
}
__getattr__ = C.missing_getattr(__name__, _MISSING)
