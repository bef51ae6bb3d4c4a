"""``OTResult``: the one answer type of every numbaot solver.

Fields that can be derived (the dense plan from a sparse one, the marginals, the plan operator) are computed on first
access and cached. Arrays are of the caller's kind: numpy in, numpy out; CUDA in, CUDA out.
"""
from __future__ import annotations

import warnings

import numpy as np

from . import _device
from ._status import Status


def _np_dtype(dtype):
    """A numpy dtype from a numpy, CuPy or Numba dtype (or a PyTorch one, by name)."""
    try:
        return np.dtype(dtype)
    except TypeError:
        return np.dtype(str(dtype).rsplit(".", 1)[-1])


def _swap_last(x):
    """``x`` with its last two axes exchanged (a transposed view for numpy, CuPy and 2-D Numba device arrays)."""
    if _device.array_kind(x) == "numba":
        if x.ndim != 2:
            raise TypeError("a Numba device array of more than 2 dimensions cannot be transposed; pass a vector per "
                            "problem, or a CuPy array")
        return x.T
    return x.swapaxes(-1, -2)


def _scale(s, x):
    """``s`` (one factor per row of ``x``, leading axes included) times ``x``, broadcast over trailing columns."""
    if _device.array_kind(x) == "numba" or _device.array_kind(s) == "numba":
        raise TypeError("rescale needs arrays with arithmetic (numpy or CuPy); Numba device arrays have none")
    return s.reshape(tuple(s.shape) + (1,) * (x.ndim - s.ndim)) * x


class LinearOperator:
    """A linear operator that applies a transport plan ``P`` without necessarily building it.

    ``op @ v`` and ``op.matvec(v)`` give ``P v``; ``u @ op`` and ``op.rmatvec(u)`` give ``P^T u``; ``op.T`` is the
    operator of ``P^T``. A single plan has ``shape == (n, m)`` and takes ``v`` of shape ``(m,)`` or ``(m, k)``
    (``u``: ``(n,)`` or, for ``u @ op``, ``(k, n)``). A batch of plans has ``shape == (B, n, m)`` and takes one
    vector per problem, ``v`` of shape ``(B, m)`` or ``(B, m, k)`` (``u @ op``: ``(B, n)`` or ``(B, k, n)``).

    Results are of the operator's kind of array: numpy for host plans, CuPy or Numba device arrays for plans on a
    GPU (built by :meth:`from_dense`).

    Parameters
    ----------
    shape : tuple of int
        ``(n, m)``, or ``(B, n, m)`` for a batch.
    dtype : dtype
        The plan's dtype.
    matvec, rmatvec : callable
        ``v -> P v`` and ``u -> P^T u`` on arrays whose shapes have been checked.
    dense : array or callable, optional
        The dense plan (or a function building it) when there is one; :meth:`to_dense` returns it.

    Examples
    --------
    >>> import numpy as np
    >>> from numbaot import LinearOperator
    >>> P = np.array([[0.5, 0.0, 0.0], [0.0, 0.25, 0.25]])
    >>> op = LinearOperator.from_dense(P)
    >>> op
    LinearOperator(shape=(2, 3), dtype=float64)
    >>> op @ np.ones(3), np.ones(2) @ op
    (array([0.5, 0.5]), array([0.5 , 0.25, 0.25]))
    >>> op.T.shape, op.rescale([2.0, 4.0], None).to_dense()
    ((3, 2), array([[1., 0., 0.],
           [0., 1., 1.]]))
    """

    # numpy (and CuPy) hand ``u @ op`` to ``op.__rmatmul__`` instead of treating op as an object scalar
    __array_ufunc__ = None
    __array_priority__ = 1000

    def __init__(self, shape, dtype, matvec, rmatvec, *, dense=None):
        shape = tuple(int(s) for s in shape)
        if len(shape) not in (2, 3):
            raise ValueError(f"a plan operator has shape (n, m) or (B, n, m), got {shape}")
        self.shape = shape
        self.dtype = _np_dtype(dtype)
        self._matvec = matvec
        self._rmatvec = rmatvec
        self._dense = dense

    @property
    def ndim(self) -> int:
        """2 for one plan, 3 for a batch of plans."""
        return len(self.shape)

    def _check(self, x, length):
        if not (isinstance(x, np.ndarray) or _device.is_cuda_array(x) or hasattr(x, "__array_namespace__")):
            x = np.asarray(x)
        shape = tuple(int(s) for s in x.shape)
        if self.ndim == 2:
            ok = len(shape) in (1, 2) and shape[0] == length
            expected = f"a vector or matrix with {length} rows"
        else:
            B = self.shape[0]
            ok = len(shape) in (2, 3) and shape[:2] == (B, length)
            expected = f"an array of shape ({B}, {length}) or ({B}, {length}, k) (one vector per problem)"
        if not ok:
            raise ValueError(f"the plan operator takes {expected}, got shape {shape}")
        return x

    def matvec(self, v):
        """``P v`` for ``v`` of shape ``(m,)`` or ``(m, k)`` (a batch: ``(B, m)`` or ``(B, m, k)``)."""
        return self._matvec(self._check(v, self.shape[-1]))

    def rmatvec(self, u):
        """``P^T u`` for ``u`` of shape ``(n,)`` or ``(n, k)`` (a batch: ``(B, n)`` or ``(B, n, k)``)."""
        return self._rmatvec(self._check(u, self.shape[-2]))

    def __matmul__(self, v):
        if isinstance(v, LinearOperator):
            return NotImplemented
        return self.matvec(v)

    def __rmatmul__(self, u):
        """``u @ op``: ``P^T u`` for a vector ``u`` (one per problem for a batch); ``(P^T U^T)^T`` for rows ``U``."""
        if isinstance(u, LinearOperator):
            return NotImplemented
        if not (isinstance(u, np.ndarray) or _device.is_cuda_array(u) or hasattr(u, "__array_namespace__")):
            u = np.asarray(u)
        if u.ndim == self.ndim - 1:
            return self.rmatvec(u)
        if u.ndim == self.ndim:
            return _swap_last(self.rmatvec(_swap_last(u)))
        raise ValueError(f"u @ op takes u of {self.ndim - 1} or {self.ndim} dimensions for an operator of shape "
                         f"{self.shape}, got shape {tuple(u.shape)}")

    @property
    def T(self) -> LinearOperator:  # noqa: N802 - numpy's name
        """The operator of the transposed plan (see :meth:`transpose`)."""
        return self.transpose()

    def transpose(self) -> LinearOperator:
        """The operator of ``P^T`` (of each plan, for a batch): ``matvec`` and ``rmatvec`` exchanged.

        Examples
        --------
        >>> import numpy as np
        >>> from numbaot import LinearOperator
        >>> op = LinearOperator.from_dense(np.arange(6.0).reshape(2, 3)).transpose()
        >>> op.shape, op @ np.array([1.0, 1.0])
        ((3, 2), array([3., 5., 7.]))
        """
        dense = None if self._dense is None else (lambda: _swap_last(self.to_dense()))
        shape = self.shape[:-2] + (self.shape[-1], self.shape[-2])
        return LinearOperator(shape, self.dtype, self._rmatvec, self._matvec, dense=dense)

    def rescale(self, row_scale=None, col_scale=None) -> LinearOperator:
        """The operator of ``diag(row_scale) P diag(col_scale)``; either factor may be None (no scaling).

        ``row_scale`` has shape ``(n,)`` and ``col_scale`` ``(m,)`` (a batch: ``(B, n)`` and ``(B, m)``). Host and
        CuPy operators only (Numba device arrays have no arithmetic).

        Examples
        --------
        >>> import numpy as np
        >>> from numbaot import LinearOperator
        >>> op = LinearOperator.from_dense(np.ones((2, 2))).rescale([1.0, 2.0], [3.0, 0.0])
        >>> op @ np.ones(2)
        array([3., 6.])
        """
        def check(s, length, name):
            if s is None:
                return None
            if not (isinstance(s, np.ndarray) or _device.is_cuda_array(s)):
                s = np.asarray(s)
            expected = self.shape[:-2] + (length,)
            if tuple(s.shape) != expected:
                raise ValueError(f"{name} must have shape {expected} for an operator of shape {self.shape}, "
                                 f"got {tuple(s.shape)}")
            return s

        r = check(row_scale, self.shape[-2], "row_scale")
        c = check(col_scale, self.shape[-1], "col_scale")

        def matvec(v):
            out = self._matvec(v if c is None else _scale(c, v))
            return out if r is None else _scale(r, out)

        def rmatvec(u):
            out = self._rmatvec(u if r is None else _scale(r, u))
            return out if c is None else _scale(c, out)

        dense = None
        if self._dense is not None:
            def dense():
                P = self.to_dense()
                if c is not None:
                    P = c.reshape(tuple(c.shape[:-1]) + (1, -1)) * P
                return P if r is None else _scale(r, P)

        dtype = np.result_type(self.dtype, *(_np_dtype(s.dtype) for s in (r, c) if s is not None))
        return LinearOperator(self.shape, dtype, matvec, rmatvec, dense=dense)

    def to_dense(self):
        """The dense plan: the one the operator was built from, or the operator applied to the identity (host).

        Examples
        --------
        >>> import numpy as np
        >>> from numbaot import LinearOperator
        >>> LinearOperator.from_coo(np.array([0, 1]), np.array([1, 0]), np.array([0.5, 0.5]), (2, 2)).to_dense()
        array([[0. , 0.5],
               [0.5, 0. ]])
        """
        if self._dense is not None:
            return self._dense() if callable(self._dense) else self._dense
        m = self.shape[-1]
        eye = np.eye(m, dtype=self.dtype)
        if self.ndim == 3:
            eye = np.broadcast_to(eye, (self.shape[0], m, m))
        return np.asarray(self.matvec(eye)).astype(self.dtype, copy=False)

    def __repr__(self) -> str:
        return f"LinearOperator(shape={self.shape}, dtype={self.dtype})"

    @classmethod
    def from_dense(cls, plan) -> LinearOperator:
        """The operator of a dense plan ``(n, m)`` or batch of plans ``(B, n, m)``: numpy, CuPy or a Numba device
        array (whose products run the small kernels of :mod:`numbaot.cuda.plan` and give Numba device arrays).

        Examples
        --------
        >>> import numpy as np
        >>> from numbaot import LinearOperator
        >>> op = LinearOperator.from_dense(np.stack([np.eye(2), 2 * np.eye(2)]))
        >>> op.shape, op @ np.ones((2, 2))
        ((2, 2, 2), array([[1., 1.],
               [2., 2.]]))
        """
        kind = _device.array_kind(plan)
        if kind == "host":
            plan = np.asarray(plan)
        if plan.ndim not in (2, 3):
            raise ValueError(f"a dense plan has shape (n, m) or (B, n, m), got {tuple(plan.shape)}")
        if kind == "numba" or (kind == "cuda" and not hasattr(plan, "__matmul__")):
            from . import _validation as V
            from .cuda.plan import matvec_cuda

            def matvec(v):
                V.check_plan_operand(plan.shape, v, False)
                return matvec_cuda(plan, v, False)

            def rmatvec(u):
                V.check_plan_operand(plan.shape, u, True)
                return matvec_cuda(plan, u, True)
        else:
            plan_t = plan.swapaxes(-1, -2)
            batched = plan.ndim == 3

            def product(A, v):
                if batched and v.ndim == 2:  # one vector per problem
                    return (A @ v[..., None])[..., 0]
                return A @ v

            def matvec(v):
                return product(plan, v)

            def rmatvec(u):
                return product(plan_t, u)

        return cls(plan.shape, plan.dtype, matvec, rmatvec, dense=plan)

    @classmethod
    def from_coo(cls, rows, cols, values, shape) -> LinearOperator:
        """Host COO triples: O(nnz) products with ``np.bincount`` / ``np.add.at`` (duplicates are summed).

        Examples
        --------
        >>> import numpy as np
        >>> from numbaot import LinearOperator
        >>> op = LinearOperator.from_coo(np.array([0, 1]), np.array([2, 0]), np.array([0.5, 0.5]), (2, 3))
        >>> op @ np.array([1.0, 2.0, 3.0])
        array([1.5, 0.5])
        """
        n, m = shape

        def matvec(v):
            v = np.asarray(v)
            if v.ndim == 1:
                return np.bincount(rows, weights=values * v[cols], minlength=n).astype(values.dtype, copy=False)
            out = np.zeros((n,) + v.shape[1:], dtype=np.result_type(values, v))
            np.add.at(out, rows, values[:, None] * v[cols])
            return out

        def rmatvec(u):
            u = np.asarray(u)
            if u.ndim == 1:
                return np.bincount(cols, weights=values * u[rows], minlength=m).astype(values.dtype, copy=False)
            out = np.zeros((m,) + u.shape[1:], dtype=np.result_type(values, u))
            np.add.at(out, cols, values[:, None] * u[rows])
            return out

        return cls(shape, values.dtype, matvec, rmatvec)


def __getattr__(name):
    # PEP 562: the old name still works, with a warning
    if name == "PlanOperator":
        warnings.warn("numbaot._result.PlanOperator is deprecated; use numbaot.LinearOperator", DeprecationWarning,
                      stacklevel=2)
        return LinearOperator
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_set = object.__setattr__

#: The keywords of ``OTResult.__init__`` (``replace`` accepts these, plus a subclass's own).
_FIELDS = ("value", "value_linear", "value_quad", "plan", "plan_coo", "shape", "potential_a", "potential_b",
           "status", "n_iter", "errors", "device", "ran_on", "plan_operator", "densify", "marginals",
           "potential_aa", "potential_bb", "weights", "points", "citation")


def _host_only(result, name):
    if result.device != "cpu":
        raise TypeError(f"{name} is computed for host results only in this version; this result lives on "
                        f"{result.device!r}: copy the plan (and weights, points) to the host and build the result "
                        "there (numbaot never copies between host and GPU silently)")


class OTResult:
    """The answer of an optimal transport solver: immutable, with derived fields computed on first access.

    Assigning an attribute raises ``AttributeError``; :meth:`replace` builds a changed copy.

    Attributes
    ----------
    value : float or array
        The optimal objective, including the regularisation where there is one (``value_linear`` + penalties).
    value_linear : float or array
        The linear part ``<P, M>``.
    value_quad : float or None
        The quadratic part (Gromov-Wasserstein family), else None.
    plan : array of shape (n, m)
        The transport plan, dense. Built on first access from the sparse triples when the solver produced those;
        refused with a ValueError when it would not fit (see ``plan_coo`` and ``plan_operator``).
    plan_coo : tuple of arrays or None
        ``(rows, cols, values)`` of the plan's non-zeros, where the solver produces a sparse plan.
    plan_sparse, sparse_plan : scipy.sparse.coo_array
        The plan as a scipy sparse array (host results only).
    plan_operator, lazy_plan : LinearOperator or None
        Applies the plan without building it: from the solver's own operator, the dense plan (host or GPU) or the
        host COO triples (None for a GPU result with triples only: use ``plan_coo`` there).
    potential_a, potential_b : arrays of shape (n,) and (m,)
        Dual potentials (exact OT: centred so that ``a @ potential_a == b @ potential_b``); ``potentials`` is the
        pair.
    potential_aa, potential_bb : arrays or None
        The potentials of the symmetric problems (a, a) and (b, b), where a debiased Sinkhorn divergence gives them.
    marginal_a, marginal_b : arrays
        The plan's row and column sums.
    weights : tuple of arrays or None
        ``(a, b)``, where the solver records them; ``density`` and ``density_operator`` need them.
    points : tuple of arrays or None
        ``(X_a, X_b)``, the point clouds of a problem between samples; ``a_to_b`` and ``b_to_a`` need them.
    a_to_b, b_to_a : arrays of shape (n, d) and (m, d), or None
        Displacements of the barycentric maps: ``a_to_b[i] = sum_j P_ij X_b[j] / sum_j P_ij - X_a[i]`` (0 for a
        row of zero mass), computed with the plan operator (host results).
    density : array of shape (n, m) or None
        ``P / (a b^T)`` (0 where a weight is 0): the plan's density with respect to the product of the weights.
    density_operator : LinearOperator or None
        The operator of ``density``, without building it.
    status : Status
        How the solver ended; ``converged`` is ``status == Status.OPTIMAL``.
    n_iter : int
        Iterations (or pivots, or merge steps) the solver performed.
    errors : array or None
        The marginal error recorded every few iterations, for iterative solvers.
    device : str
        ``"cpu"`` or ``"cuda"``: where the result's arrays live (the caller's device).
    ran_on : str
        ``"cpu"`` or ``"cuda"``: where the solver's core ran. A CUDA input solved by a host core (the network
        simplex, for now) says ``device="cuda"``, ``ran_on="cpu"``: the copies were made, and are recorded here.
    citation : str or None
        The reference of the method, where the solver gives one.

    Examples
    --------
    >>> import numpy as np
    >>> from numbaot import OTResult
    >>> P = np.array([[0.5, 0.0], [0.0, 0.5]])
    >>> res = OTResult(value=0.0, plan=P, weights=(np.full(2, 0.5), np.full(2, 0.5)),
    ...                points=(np.array([[0.0], [1.0]]), np.array([[2.0], [3.0]])))
    >>> res.a_to_b
    array([[2.],
           [2.]])
    >>> res.density
    array([[2., 0.],
           [0., 2.]])
    >>> res.value = 1.0
    Traceback (most recent call last):
        ...
    AttributeError: OTResult is immutable; build a changed copy with result.replace(field=...) (cannot set 'value')
    >>> res.replace(value=1.0).value
    1.0
    """

    def __init__(
        self,
        *,
        value,
        value_linear=None,
        value_quad=None,
        plan=None,
        plan_coo=None,
        shape=None,
        potential_a=None,
        potential_b=None,
        status=Status.OPTIMAL,
        n_iter=0,
        errors=None,
        device="cpu",
        ran_on=None,
        plan_operator=None,
        densify=None,
        marginals=None,
        potential_aa=None,
        potential_bb=None,
        weights=None,
        points=None,
        citation=None,
    ):
        _set(self, "_fields", dict(
            value=value, value_linear=value_linear, value_quad=value_quad, plan=plan, plan_coo=plan_coo,
            shape=shape, potential_a=potential_a, potential_b=potential_b, status=status, n_iter=n_iter,
            errors=errors, device=device, ran_on=ran_on, plan_operator=plan_operator, densify=densify,
            marginals=marginals, potential_aa=potential_aa, potential_bb=potential_bb, weights=weights,
            points=points, citation=citation,
        ))
        if shape is None and plan is not None:
            shape = plan.shape
        for name, field in (
            ("value", value),
            ("value_linear", value if value_linear is None else value_linear),
            ("value_quad", value_quad),
            ("_plan", plan),
            ("plan_coo", plan_coo),
            ("shape", None if shape is None else tuple(int(s) for s in shape)),
            ("potential_a", potential_a),
            ("potential_b", potential_b),
            ("potential_aa", potential_aa),
            ("potential_bb", potential_bb),
            ("status", Status(int(status))),
            ("n_iter", int(n_iter)),
            ("errors", errors),
            ("device", device),
            ("ran_on", device if ran_on is None else ran_on),
            ("weights", None if weights is None else tuple(weights)),
            ("points", None if points is None else tuple(points)),
            ("citation", citation),
            ("_plan_operator", plan_operator),
            ("_densify", densify),
            ("_marginals_fn", marginals),
            ("_marginals", None),
            ("_cache", {}),
        ):
            _set(self, name, field)

    def __setattr__(self, name, value):
        raise AttributeError(f"{type(self).__name__} is immutable; build a changed copy with "
                             f"result.replace(field=...) (cannot set {name!r})")

    def __delattr__(self, name):
        raise AttributeError(f"{type(self).__name__} is immutable; build a changed copy with "
                             f"result.replace(field=...) (cannot delete {name!r})")

    def replace(self, **changes):
        """A new result of the same class with the given constructor fields changed.

        Every keyword of the constructor is accepted; the others keep the values this result was built with.
        Nothing derived (the dense plan built from triples, the marginals, the operator, the maps) is carried over.

        Examples
        --------
        >>> from numbaot import OTResult
        >>> res = OTResult(value=2.0, n_iter=3)
        >>> new = res.replace(value=1.0, citation="Kantorovich 1942")
        >>> new.value, new.value_linear, new.n_iter, new.citation, res.value
        (1.0, 1.0, 3, 'Kantorovich 1942', 2.0)
        """
        unknown = sorted(set(changes) - set(self._fields))
        if unknown:
            raise TypeError(f"{type(self).__name__}.replace() got unknown field(s) {', '.join(unknown)}; the "
                            f"fields are {', '.join(self._fields)}")
        return type(self)(**{**self._fields, **changes})

    def _cached(self, name, compute):
        if name not in self._cache:
            self._cache[name] = compute()
        return self._cache[name]

    @property
    def converged(self) -> bool:
        return self.status is Status.OPTIMAL

    @property
    def potentials(self):
        """``(potential_a, potential_b)``."""
        return self.potential_a, self.potential_b

    @property
    def plan(self):
        if self._plan is None and (self.plan_coo is not None or self._densify is not None):
            from ._validation import check_dense_size

            # an online result has no triples: its dtype is that of its potentials
            dtype = (self.potential_a if self.plan_coo is None else self.plan_coo[2]).dtype
            check_dense_size(self.shape, np.dtype(dtype).itemsize, what="the dense plan")
            if self._densify is not None:
                _set(self, "_plan", self._densify())
            else:
                rows, cols, values = self.plan_coo
                dense = np.zeros(self.shape, dtype=values.dtype)
                np.add.at(dense, (rows, cols), values)
                _set(self, "_plan", dense)
        return self._plan

    @property
    def plan_sparse(self):
        import scipy.sparse

        if self.device != "cpu":
            raise TypeError("plan_sparse builds a host scipy array; use plan_coo for device results")
        if self.plan_coo is not None:
            rows, cols, values = self.plan_coo
            return scipy.sparse.coo_array((values, (rows, cols)), shape=self.shape)
        if self._plan is not None:
            return scipy.sparse.coo_array(self._plan)
        return None

    @property
    def sparse_plan(self):
        """The same as ``plan_sparse`` (GeomLoss's name)."""
        return self.plan_sparse

    @property
    def plan_operator(self) -> LinearOperator | None:
        if self._plan_operator is None:
            if self._plan is not None:
                _set(self, "_plan_operator", LinearOperator.from_dense(self._plan))
            elif self.plan_coo is not None and self.device == "cpu":
                _set(self, "_plan_operator", LinearOperator.from_coo(*self.plan_coo, self.shape))
        return self._plan_operator

    @property
    def lazy_plan(self) -> LinearOperator | None:
        """The same as ``plan_operator`` (GeomLoss's name)."""
        return self.plan_operator

    def _compute_marginals(self):
        """Row and column sums from the cheapest source: a solver-given function (device reductions), the dense
        plan, the COO triples, or the plan operator applied to vectors of ones."""
        if self._marginals is not None:
            return self._marginals
        if self._marginals_fn is not None:
            marginals = self._marginals_fn()
        elif self._plan is not None:
            marginals = (self._plan.sum(axis=-1), self._plan.sum(axis=-2))
        elif self.plan_coo is not None and self.device == "cpu":
            rows, cols, values = self.plan_coo
            n, m = self.shape
            marginals = (
                np.bincount(rows, weights=values, minlength=n).astype(values.dtype, copy=False),
                np.bincount(cols, weights=values, minlength=m).astype(values.dtype, copy=False),
            )
        elif self._plan_operator is not None:
            op = self._plan_operator
            lead = op.shape[:-2]
            marginals = (op.matvec(np.ones(lead + op.shape[-1:], op.dtype)),
                         op.rmatvec(np.ones(lead + op.shape[-2:-1], op.dtype)))
        elif self.plan_coo is not None:
            plan = self.plan
            marginals = (plan.sum(axis=1), plan.sum(axis=0))
        else:
            marginals = None
        _set(self, "_marginals", marginals)
        return marginals

    @property
    def marginal_a(self):
        marginals = self._compute_marginals()
        return None if marginals is None else marginals[0]

    @property
    def marginal_b(self):
        marginals = self._compute_marginals()
        return None if marginals is None else marginals[1]

    def _barycentric(self, forward):
        name = "a_to_b" if forward else "b_to_a"
        if self.points is None:
            return None
        _host_only(self, name)
        op = self.plan_operator
        if op is None:
            return None
        X_a, X_b = (np.asarray(x) for x in self.points)
        src, dst = (X_a, X_b) if forward else (X_b, X_a)
        lead = op.shape[:-2]
        for label, x, length in (("X_a", X_a, op.shape[-2]), ("X_b", X_b, op.shape[-1])):
            if x.shape[:len(lead) + 1] != lead + (length,) or x.ndim > len(lead) + 2:
                raise ValueError(f"points {label} must have shape {lead + (length,)} or {lead + (length, 'd')} "
                                 f"for a plan of shape {op.shape}, got {x.shape}")
        moved = np.asarray(op.matvec(dst) if forward else op.rmatvec(dst))
        mass = np.asarray(self.marginal_a if forward else self.marginal_b)
        mass = mass.reshape(mass.shape + (1,) * (moved.ndim - mass.ndim))
        dtype = np.result_type(op.dtype, X_a.dtype, X_b.dtype)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.where(mass > 0, moved / np.where(mass > 0, mass, 1) - src, 0)
        return out.astype(dtype, copy=False)

    @property
    def a_to_b(self):
        """``(n, d)`` displacements of the barycentric map from the a-points to the b-points (None without
        ``points``): ``sum_j P_ij X_b[j] / sum_j P_ij - X_a[i]``, 0 for rows of zero mass."""
        return self._cached("a_to_b", lambda: self._barycentric(True))

    @property
    def b_to_a(self):
        """``(m, d)`` displacements of the barycentric map from the b-points to the a-points (None without
        ``points``): ``sum_i P_ij X_a[i] / sum_i P_ij - X_b[j]``, 0 for columns of zero mass."""
        return self._cached("b_to_a", lambda: self._barycentric(False))

    def _inverse_weights(self, dtype):
        a, b = (np.asarray(w) for w in self.weights)
        return tuple(np.divide(1, w, out=np.zeros(w.shape, dtype), where=w > 0) for w in (a, b))

    def _density(self):
        if self.weights is None:
            return None
        _host_only(self, "density")
        P = self.plan
        if P is None:
            return None
        inv_a, inv_b = self._inverse_weights(np.result_type(P.dtype, np.float64))
        dens = inv_a[..., :, None] * P * inv_b[..., None, :]  # 0 where a weight is 0
        return dens.astype(P.dtype, copy=False)

    @property
    def density(self):
        """``P / (a b^T)`` elementwise, 0 where a weight is 0 (None without ``weights``; host results)."""
        return self._cached("density", self._density)

    def _density_operator(self):
        if self.weights is None:
            return None
        _host_only(self, "density_operator")
        op = self.plan_operator
        if op is None:
            return None
        return op.rescale(*self._inverse_weights(op.dtype))

    @property
    def density_operator(self) -> LinearOperator | None:
        """The plan operator rescaled by ``1/a`` and ``1/b`` (0 where a weight is 0): applies ``density``."""
        return self._cached("density_operator", self._density_operator)

    # Tuple-like access for POT users who write ``value, plan = ...`` is deliberately not offered: fields by name.
    def __repr__(self) -> str:
        shape = "?" if self.shape is None else f"{self.shape[0]}x{self.shape[1]}"
        value = self.value
        if np.ndim(value) == 0 and not hasattr(value, "__cuda_array_interface__"):
            value = f"{float(value):.6g}"
        return (
            f"OTResult(value={value}, status={self.status.name}, n_iter={self.n_iter}, shape={shape}, "
            f"device={self.device})"
        )


class BatchOTResult(OTResult):
    """An :class:`OTResult` whose fields carry a leading batch axis of length B.

    ``value``, ``value_linear`` (B,); ``plan`` (B, n, m); ``potential_a`` (B, n), ``potential_b`` (B, m);
    ``marginal_a`` (B, n), ``marginal_b`` (B, m). ``status`` is the worst status over the batch (so
    ``converged`` means every problem converged) and ``n_iter`` the largest iteration count; ``statuses`` (int64
    status codes, ``Status(int(code))`` names one) and ``n_iters`` (int64) give them per problem, and ``errors``
    (B, L) the error at each check, NaN-padded. ``plan_operator`` applies every plan at once (shape (B, n, m)).

    Examples
    --------
    >>> import numpy as np
    >>> from numbaot import BatchOTResult, Status
    >>> res = BatchOTResult(value=np.zeros(2), plan=np.ones((2, 3, 4)) / 12, status=Status.MAX_ITER_REACHED,
    ...                     statuses=[Status.OPTIMAL, Status.MAX_ITER_REACHED], n_iters=[3, 10])
    >>> res.statuses, [Status(int(s)).name for s in res.statuses]
    (array([0, 1]), ['OPTIMAL', 'MAX_ITER_REACHED'])
    >>> res.plan_operator @ np.ones((2, 4))
    array([[0.33333333, 0.33333333, 0.33333333],
           [0.33333333, 0.33333333, 0.33333333]])
    """

    def __init__(self, *, statuses, n_iters, **fields):
        super().__init__(**fields)
        self._fields.update(statuses=statuses, n_iters=n_iters)
        codes = [int(Status(int(s))) for s in np.ravel(np.asarray(statuses, dtype=object))]  # unknown: ValueError
        _set(self, "statuses", np.array(codes, dtype=np.int64))
        _set(self, "n_iters", np.array(n_iters, dtype=np.int64).reshape(-1))

    def __repr__(self) -> str:
        return (f"BatchOTResult(batch={self.shape[0]}, shape={self.shape[1]}x{self.shape[2]}, "
                f"status={self.status.name}, n_iter={self.n_iter}, device={self.device})")


class BarycenterResult(OTResult):
    """The answer of a barycenter solver: an :class:`OTResult` whose ``barycenter`` is the averaged measure.

    Attributes (beyond :class:`OTResult`'s)
    ---------------------------------------
    barycenter : array
        The barycenter's weights: (m,) on a fixed support, (H, W) or (D, H, W) on a grid, (m,) on the free
        support ``support``.
    support : array of shape (m, d) or None
        The barycenter's support points (free-support solvers), else None.
    plans : tuple of K arrays, or None
        ``plans[k]`` couples input k (rows) with the barycenter (columns): row sums the input's weights, column sums
        the barycenter (up to the solver's tolerance). None where they were not built (grids: they would have
        ``(H W)^2`` entries).
    value, value_linear : float
        ``sum_k weights_k <plans[k], M_k>`` (plus the entropic and marginal penalties in ``value`` where the
        solver has them), when the solver computes it; else NaN.
    potential_a, potential_b : arrays of shape (K, n) and (K, m), or None
        The dual potentials of the K problems (entropic solvers).
    status, n_iter, errors
        How the outer iterations ended, how many ran, the error at each check.

    Examples
    --------
    >>> import numpy as np
    >>> from numbaot import BarycenterResult
    >>> res = BarycenterResult(value=0.0, barycenter=np.array([0.5, 0.5]))
    >>> res.barycenter, res.converged
    (array([0.5, 0.5]), True)
    """

    def __init__(self, *, barycenter, support=None, plans=None, **fields):
        super().__init__(**fields)
        self._fields.update(barycenter=barycenter, support=support, plans=plans)
        _set(self, "barycenter", barycenter)
        _set(self, "support", support)
        _set(self, "plans", None if plans is None else tuple(plans))

    def __repr__(self) -> str:
        shape = tuple(np.shape(self.barycenter))
        return (f"BarycenterResult(barycenter={shape}, status={self.status.name}, n_iter={self.n_iter}, "
                f"device={self.device})")
