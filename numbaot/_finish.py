"""The one place where a dense Sinkhorn-family driver's answer becomes an :class:`OTResult` and warns.

The CPU driver (``entropic._loop.run`` / ``run_scaling`` and ``objective``) and the CUDA driver
(``cuda.sinkhorn.solve_sinkhorn_cuda``) both return a :class:`SinkhornAnswer` with a leading batch axis; a single
problem is the batch of one. :func:`finish` builds the result (an ``OTResult`` for one problem, a
``BatchOTResult`` for a batch) and emits the ConvergenceWarning, with one wording for every family and device.
The point-cloud drivers (online Sinkhorn, the Sinkhorn divergence; CPU and CUDA) return a :class:`CloudsAnswer`,
which :func:`finish_clouds` turns into a result. The exact drivers (network simplex; 1D merge on the host and the
GPU) return an :class:`ExactAnswer` for :func:`finish_exact`.
"""
from __future__ import annotations

from typing import Callable, NamedTuple, Optional

import numpy as np

from ._result import BarycenterResult, BatchOTResult, OTResult
from ._status import OPTIMAL, Status, warn_status


class SinkhornAnswer(NamedTuple):
    """What a dense Sinkhorn driver returns. Arrays have a leading batch axis of length B.

    ``plan`` (B, n, m), ``potential_a`` (B, n), ``potential_b`` (B, m): in the result's dtype, on the caller's
    device and of the caller's kind; ``value``, ``value_linear`` (B,), ``status``, ``n_iter`` (B,) int64,
    ``errors`` (B, L) (the first ``n_errors[k]`` entries of row k are problem k's checks) on the host;
    ``marginals`` None (derived from the plan) or a function returning the (B, n) and (B, m) marginals.
    """

    plan: object
    potential_a: object
    potential_b: object
    value: np.ndarray
    value_linear: np.ndarray
    status: np.ndarray
    n_iter: np.ndarray
    errors: np.ndarray
    n_errors: np.ndarray
    marginals: Optional[Callable] = None


def finish(answer: SinkhornAnswer, *, solver: str, criterion: str, tol: float, warn: bool, batch: bool,
           out_dtype, device: str = "cpu", stacklevel: int = 5):
    """The result of ``answer`` (one problem when ``batch`` is False), after warning unless every problem
    converged: ``solver`` names the call (e.g. ``"sinkhorn_unbalanced (sinkhorn_log)"``), ``criterion`` the
    quantity that ``errors`` records (e.g. ``"marginal error"``)."""
    status = np.asarray(answer.status, dtype=np.int64)
    n_iter = np.asarray(answer.n_iter, dtype=np.int64)
    worst = int(status.max())  # OPTIMAL < MAX_ITER_REACHED < ... < NUMERICAL_ERROR
    if warn and worst != OPTIMAL:
        warn_status(worst, solver, _detail(answer, status, n_iter, criterion, tol, batch),
                    stacklevel=stacklevel)
    if batch:
        n_checks = max(1, int(np.max(answer.n_errors, initial=0)))
        return BatchOTResult(
            value=np.asarray(answer.value).astype(out_dtype),
            value_linear=np.asarray(answer.value_linear).astype(out_dtype),
            plan=answer.plan,
            potential_a=answer.potential_a,
            potential_b=answer.potential_b,
            status=Status(worst),
            n_iter=int(n_iter.max()),
            errors=answer.errors[:, :n_checks],
            device=device,
            marginals=answer.marginals,
            statuses=status,
            n_iters=n_iter,
        )
    marginals = answer.marginals
    return OTResult(
        value=out_dtype.type(answer.value[0]),
        value_linear=out_dtype.type(answer.value_linear[0]),
        plan=answer.plan[0],
        potential_a=answer.potential_a[0],
        potential_b=answer.potential_b[0],
        status=Status(worst),
        n_iter=int(n_iter[0]),
        errors=np.array(answer.errors[0, :int(answer.n_errors[0])], dtype=np.float64),
        device=device,
        marginals=None if marginals is None else (lambda: tuple(x[0] for x in marginals())),
    )


def _detail(answer, status, n_iter, criterion, tol, batch):
    bad = np.flatnonzero(status != OPTIMAL)
    if batch:
        k = int(bad[0])
        return (f"{bad.size} of {status.size} problems did not converge, e.g. problem {k}: "
                f"{Status(int(status[k])).name}")
    n_errors = int(answer.n_errors[0])
    if n_errors:
        return f"{criterion} {answer.errors[0, n_errors - 1]:.3g} > tol {tol:g} after {int(n_iter[0])} iterations"
    return f"{int(n_iter[0])} iterations"


class CloudsAnswer(NamedTuple):
    """What a point-cloud driver returns (online Sinkhorn and the Sinkhorn divergence; the CPU drivers and their
    CUDA twins ``cuda.online.solve_online_cuda``, ``cuda.divergence.solve_divergence_cuda`` alike).

    ``value``, ``value_linear`` (floats), ``status`` and ``n_iter`` (ints) and ``errors`` (the error at each check)
    on the host; ``potential_a``, ``potential_b`` in the result's dtype, on the caller's device and of its kind;
    ``densify`` a function returning the dense plan there; ``plan_operator`` (host runs), ``potential_aa`` and
    ``potential_bb`` (debiased runs) optional."""

    value: float
    value_linear: float
    potential_a: object
    potential_b: object
    status: int
    n_iter: int
    errors: np.ndarray
    densify: Optional[Callable] = None
    plan_operator: object = None
    potential_aa: object = None
    potential_bb: object = None


def finish_clouds(answer: CloudsAnswer, *, shape, out_dtype, solver: str, detail: str, warn: bool,
                  device: str = "cpu", weights=None, points=None, stacklevel: int = 5):
    """The result of a solve between point clouds (online Sinkhorn, Sinkhorn divergence, on the host or the GPU),
    after warning with ``detail`` unless OPTIMAL (``stacklevel`` counted from ``warn_status``'s frame, so that the
    warning names the user's line). ``weights`` and ``points`` (host runs) are kept for the result's derived
    fields."""
    if warn:
        warn_status(answer.status, solver, detail, stacklevel=stacklevel)
    return OTResult(value=out_dtype.type(answer.value), value_linear=out_dtype.type(answer.value_linear),
                    shape=tuple(shape), potential_a=answer.potential_a, potential_b=answer.potential_b,
                    status=Status(int(answer.status)), n_iter=int(answer.n_iter), errors=answer.errors,
                    device=device, plan_operator=answer.plan_operator, densify=answer.densify,
                    potential_aa=answer.potential_aa, potential_bb=answer.potential_bb, weights=weights, points=points)


def clouds_detail(answer: CloudsAnswer, criterion: str, tol, unit: str = "iterations") -> str:
    """The warning's detail for a point-cloud run: the last ``criterion`` against ``tol`` (None: no tolerance,
    no detail)."""
    if tol is None:
        return ""
    if len(answer.errors):
        return f"{criterion} {answer.errors[-1]:.3g} > tol {tol:g} after {answer.n_iter} {unit}"
    return f"{answer.n_iter} {unit}"


class ExactAnswer(NamedTuple):
    """What an exact driver returns: the network simplex, the host 1D merge and its CUDA twin
    (``cuda.solver_1d.solve_1d_cuda``) give the same tuple.

    ``value`` the cost (a float, on the host, in the inputs' units); ``shape`` (n, m); ``n_iter`` pivots or merge
    steps; ``status``; ``plan_coo`` the plan's non-zeros ``(rows, cols, values)`` (values in the result's dtype) or
    None when only the value was asked for; ``potential_a``, ``potential_b`` the centred duals in the result's
    dtype (or None), all on the caller's device and of its kind. ``densify`` and ``marginals`` (device runs: host
    results derive them from the triples) build the dense plan and the marginals where the triples live.
    """

    value: float
    shape: tuple
    n_iter: int
    status: int = OPTIMAL
    plan_coo: Optional[tuple] = None
    potential_a: object = None
    potential_b: object = None
    densify: Optional[Callable] = None
    marginals: Optional[Callable] = None


def finish_exact(answer: ExactAnswer, *, out_dtype, solver: str = "emd", detail: str = "", warn: bool = False,
                 device: str = "cpu", stacklevel: int = 5) -> OTResult:
    """The result of an exact solve (``value`` a numpy scalar of ``out_dtype``), after a ConvergenceWarning with
    ``detail`` when ``warn`` and the status is not OPTIMAL (``stacklevel`` counted from ``warn_status``'s frame,
    so that the warning names the user's line)."""
    if warn:
        warn_status(answer.status, solver, detail, stacklevel=stacklevel)
    return OTResult(value=out_dtype.type(answer.value), plan_coo=answer.plan_coo, shape=tuple(answer.shape),
                    potential_a=answer.potential_a, potential_b=answer.potential_b,
                    status=Status(int(answer.status)), n_iter=int(answer.n_iter), device=device,
                    densify=answer.densify, marginals=answer.marginals)


class BarycenterAnswer(NamedTuple):
    """What an entropic barycenter driver returns (the host loop under the barycentric rule and its CUDA twin
    ``cuda.barycenter.barycenter_cuda`` give the same tuple's first four fields).

    ``barycenter`` in the result's dtype and shape, on the caller's device and of its kind; ``status``, ``n_iter``
    and ``errors`` (the error at each check) on the host; ``plans`` (K arrays), ``value`` and the (K, n), (K, m)
    potentials where the driver builds them (host runs)."""

    barycenter: object
    status: int
    n_iter: int
    errors: np.ndarray
    plans: Optional[list] = None
    value: float = float("nan")
    potential_a: object = None
    potential_b: object = None


def finish_barycenter(answer: BarycenterAnswer, *, solver: str, tol: float, warn: bool, device: str = "cpu",
                      citation: Optional[str] = None, stacklevel: int = 5) -> BarycenterResult:
    """The result of a barycenter solve, after a ConvergenceWarning (the last error against ``tol``) when ``warn``
    and the status is not OPTIMAL (``stacklevel`` counted from ``warn_status``'s frame)."""
    errors = np.asarray(answer.errors, dtype=np.float64)
    if warn and int(answer.status) != OPTIMAL:
        detail = f"{answer.n_iter} iterations" if errors.size == 0 else \
            f"error {errors[-1]:.3g} > tol {tol:g} after {answer.n_iter} iterations"
        warn_status(answer.status, solver, detail, stacklevel=stacklevel)
    return BarycenterResult(barycenter=answer.barycenter, plans=answer.plans, value=answer.value,
                            potential_a=answer.potential_a, potential_b=answer.potential_b,
                            status=Status(int(answer.status)), n_iter=int(answer.n_iter), errors=errors,
                            device=device, citation=citation)


#: The certified stops (``cg``, ``semirelaxed_cg``, ``mm_unbalanced``) judge a duality gap against the objective's
#: magnitude, but never against less than this fraction of the costs' spread times the mass (see
#: :func:`gap_scale_floor`). Small on purpose: two close measures have an optimum far below 1% of the spread (a
#: 1% floor certified an MM run 11% above its optimum), so the floor only stands in where the optimum is ~0.
GAP_FLOOR = 1e-6


def gap_scale_floor(M, mass) -> float:
    """The least scale a duality gap ``F(G) - D`` is judged against: ``certified <=> gap <= tol_gap * max(|F(G)|,
    floor)`` with ``floor = GAP_FLOOR * (max M - min M) * mass`` (finite costs only): with the default ``tol_gap``
    an absolute gap of 1e-9 of the cost of moving the whole mass across the costs' range. Relative to |F| alone, a
    problem whose optimum is ~0 (``a = b`` on a distance matrix) could never be certified; wherever the optimum is
    not within about 1e-6 of that scale, ``|F|`` is the larger and the rule is the relative one."""
    M = np.asarray(M)
    finite = M[np.isfinite(M)]
    if finite.size == 0:
        return 0.0
    return GAP_FLOOR * float(finite.max() - finite.min()) * float(mass)
