"""``OTResult``: the one answer type of every numbaot solver.

Fields that can be derived (the dense plan from a sparse one, the marginals, the plan operator) are computed on first
access and cached. Arrays are of the caller's kind: numpy in, numpy out; CUDA in, CUDA out.
"""
from __future__ import annotations

import numpy as np

from ._status import Status


class PlanOperator:
    """A linear operator that applies a transport plan ``P`` (shape ``(n, m)``) without necessarily building it.

    ``op @ v`` or ``op.matvec(v)`` gives ``P v`` (length n); ``op.rmatvec(u)`` gives ``P^T u`` (length m).
    ``v`` may also be a matrix of shape ``(m, k)``.
    """

    def __init__(self, shape, dtype, matvec, rmatvec):
        self.shape = tuple(int(s) for s in shape)
        self.dtype = np.dtype(dtype)
        self._matvec = matvec
        self._rmatvec = rmatvec

    def matvec(self, v):
        return self._matvec(v)

    def rmatvec(self, u):
        return self._rmatvec(u)

    def __matmul__(self, v):
        return self._matvec(v)

    def __repr__(self) -> str:
        return f"PlanOperator(shape={self.shape}, dtype={self.dtype})"

    @classmethod
    def from_dense(cls, plan):
        return cls(plan.shape, plan.dtype, lambda v: plan @ v, lambda u: plan.T @ u)

    @classmethod
    def from_coo(cls, rows, cols, values, shape):
        """Host COO triples: O(nnz) products with ``np.bincount`` / ``np.add.at``."""
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


class OTResult:
    """The answer of an optimal transport solver.

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
    plan_sparse : scipy.sparse.coo_array
        The plan as a scipy sparse array (host results only).
    plan_operator : PlanOperator or None
        Applies the plan without building it (host results; None for results on a GPU in this version: use
        ``plan_coo`` there).
    potential_a, potential_b : arrays of shape (n,) and (m,)
        Dual potentials (exact OT: centred so that ``a @ potential_a == b @ potential_b``).
    marginal_a, marginal_b : arrays
        The plan's row and column sums.
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
    ):
        self.value = value
        self.value_linear = value if value_linear is None else value_linear
        self.value_quad = value_quad
        self._plan = plan
        self.plan_coo = plan_coo
        if shape is None and plan is not None:
            shape = plan.shape
        self.shape = None if shape is None else tuple(int(s) for s in shape)
        self.potential_a = potential_a
        self.potential_b = potential_b
        self.status = Status(int(status))
        self.n_iter = int(n_iter)
        self.errors = errors
        self.device = device
        self.ran_on = device if ran_on is None else ran_on
        self._plan_operator = plan_operator
        self._densify = densify
        self._marginals_fn = marginals
        self._marginals = None

    @property
    def converged(self) -> bool:
        return self.status is Status.OPTIMAL

    @property
    def plan(self):
        if self._plan is None and (self.plan_coo is not None or self._densify is not None):
            from ._validation import check_dense_size

            # an online result has no triples: its dtype is that of its potentials
            dtype = (self.potential_a if self.plan_coo is None else self.plan_coo[2]).dtype
            check_dense_size(self.shape, np.dtype(dtype).itemsize, what="the dense plan")
            if self._densify is not None:
                self._plan = self._densify()
            else:
                rows, cols, values = self.plan_coo
                dense = np.zeros(self.shape, dtype=values.dtype)
                np.add.at(dense, (rows, cols), values)
                self._plan = dense
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
    def plan_operator(self) -> PlanOperator | None:
        if self._plan_operator is None and self.device == "cpu":
            if self._plan is not None:
                self._plan_operator = PlanOperator.from_dense(self._plan)
            elif self.plan_coo is not None and self.device == "cpu":
                self._plan_operator = PlanOperator.from_coo(*self.plan_coo, self.shape)
        return self._plan_operator

    def _compute_marginals(self):
        """Row and column sums from the cheapest source: a solver-given function (device reductions), the dense
        plan, the COO triples, or the plan operator applied to vectors of ones."""
        if self._marginals is not None:
            return self._marginals
        if self._marginals_fn is not None:
            self._marginals = self._marginals_fn()
        elif self._plan is not None:
            self._marginals = (self._plan.sum(axis=1), self._plan.sum(axis=0))
        elif self.plan_coo is not None and self.device == "cpu":
            rows, cols, values = self.plan_coo
            n, m = self.shape
            self._marginals = (
                np.bincount(rows, weights=values, minlength=n).astype(values.dtype, copy=False),
                np.bincount(cols, weights=values, minlength=m).astype(values.dtype, copy=False),
            )
        elif self._plan_operator is not None:
            op = self._plan_operator
            self._marginals = (op.matvec(np.ones(op.shape[1], op.dtype)), op.rmatvec(np.ones(op.shape[0], op.dtype)))
        elif self.plan_coo is not None:
            plan = self.plan
            self._marginals = (plan.sum(axis=1), plan.sum(axis=0))
        return self._marginals

    @property
    def marginal_a(self):
        marginals = self._compute_marginals()
        return None if marginals is None else marginals[0]

    @property
    def marginal_b(self):
        marginals = self._compute_marginals()
        return None if marginals is None else marginals[1]

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
