"""Where a call runs: the one place that picks a solver family's CPU or CUDA driver.

Every public verb validates its scalars, then asks :func:`place` where its arrays live and :func:`driver` for the
family's driver there. A family without a GPU driver either refuses device arrays (:func:`require_host`, a clear
error before any copy) or solves them on host copies through :func:`solve_on_host`, the one helper that copies,
solves and hands the answer back on the caller's device with ``ran_on="cpu"`` (never a silent round trip).

Nothing here imports ``numba.cuda``: the CUDA modules are imported by name, on the first device call.
Under ``NUMBA_ENABLE_CUDASIM=1`` simulator arrays count as device arrays, so CI's simulator pass takes the branches
a real GPU takes.
"""
from __future__ import annotations

import importlib
from typing import NamedTuple

import numpy as np

from . import _device
from ._device import CPU, CUDA


class Placement(NamedTuple):
    """Where a call's arrays live: ``device`` ("cpu" or "cuda"), the caller's ``kind`` of array (see
    ``_device.array_kind``) and the ``stream`` the caller's arrays name (None on the host)."""

    device: str
    kind: str = "host"
    stream: object = None

    @property
    def on_gpu(self) -> bool:
        return self.device == CUDA


HOST = Placement(CPU)


def place(**arrays) -> Placement:
    """The placement of the named arrays (None and Python scalars ignored).

    Raises a ValueError naming which argument lives where when host and device arrays are mixed (see
    ``_device.where``), and a RuntimeError saying what to install when device arrays meet no usable CUDA target.
    """
    if _device.where(**arrays) == CPU:
        return HOST
    from .cuda import _launch

    given = [x for x in arrays.values() if x is not None and _device.is_cuda_array(x)]
    return Placement(CUDA, _launch.caller_kind(*given), _launch.stream_of(*given))


#: (family, device) -> (module, function) of the driver. The CPU drivers are the families' host front-ends'
#: cores (called directly by them); this table names the device drivers, imported on first use.
_DRIVERS = {
    # dist's device input checks (a float64 copy of each cloud, NaN and inf refused; the cosine norms, judged in
    # the front-end)
    ("dist.points", CUDA): ("numbaot.cuda._checks", "series_cuda"),
    ("dist.norms", CUDA): ("numbaot.cuda._checks", "row_norms_cuda"),
    ("dist", CUDA): ("numbaot.cuda.cost", "dist_cuda"),
    ("unif", CUDA): ("numbaot.cuda.cost", "unif_cuda"),
    ("solve_1d", CUDA): ("numbaot.cuda.solver_1d", "solve_1d_cuda"),
    ("wasserstein_1d", CUDA): ("numbaot.cuda.solver_1d", "wasserstein_1d_cuda"),
    # device input checks that run before a driver (reductions on the device; the front-end judges the masses)
    ("1d.points", CUDA): ("numbaot.cuda.solver_1d", "points_1d_cuda"),
    ("1d.inputs", CUDA): ("numbaot.cuda.solver_1d", "inputs_1d_cuda"),
    ("barycenter.histograms", CUDA): ("numbaot.cuda.barycenter", "histograms_cuda"),
    ("barycenter.costs", CUDA): ("numbaot.cuda.barycenter", "costs_cuda"),
    # dense Sinkhorn's device input checks (float64 weights and the costs' layouts; the front-end judges them)
    ("sinkhorn.weights", CUDA): ("numbaot.cuda._checks", "batch_weights_cuda"),
    ("sinkhorn.costs", CUDA): ("numbaot.cuda._checks", "dense_costs_cuda"),
    ("sinkhorn.potentials", CUDA): ("numbaot.cuda._checks", "series_cuda"),
    ("sinkhorn", CUDA): ("numbaot.cuda.sinkhorn", "solve_sinkhorn_cuda"),
    # the online family's device input checks (float64 copies of the clouds and weights; the front-ends judge the
    # dimensions and masses): the online solve's and the divergence's
    ("online.points", CUDA): ("numbaot.cuda._checks", "series_cuda"),
    ("online.weights", CUDA): ("numbaot.cuda._checks", "weights_cuda"),
    ("online", CUDA): ("numbaot.cuda.online", "solve_online_cuda"),
    ("divergence", CUDA): ("numbaot.cuda.divergence", "solve_divergence_cuda"),
    ("barycenter", CUDA): ("numbaot.cuda.barycenter", "barycenter_cuda"),
    # soft-DTW's device input checks (float64 copies, NaN and inf refused on the device with the host's messages)
    ("timeseries.series", CUDA): ("numbaot.cuda._checks", "series_cuda"),
    ("timeseries.collection", CUDA): ("numbaot.cuda._checks", "clouds_cuda"),
    ("soft_dtw", CUDA): ("numbaot.cuda.timeseries", "soft_dtw_cuda"),
    ("cdist_soft_dtw", CUDA): ("numbaot.cuda.timeseries", "cdist_soft_dtw_cuda"),
    ("cdist_dtw", CUDA): ("numbaot.cuda.timeseries", "cdist_dtw_cuda"),
    # the STA family's device input checks (float64 copies checked on the device; the front-end judges the masses)
    ("sta.frames", CUDA): ("numbaot.cuda._checks", "frames_cuda"),
    ("sta.clouds.points", CUDA): ("numbaot.cuda._checks", "clouds_cuda"),
    ("sta", CUDA): ("numbaot.cuda.sta", "sta_cuda"),
    ("sta.clouds", CUDA): ("numbaot.cuda.sta_clouds", "sta_clouds_cuda"),
    ("sta_barycenter", CUDA): ("numbaot.cuda.sta", "sta_barycenter_cuda"),
    ("sliced.projections", CUDA): ("numbaot.cuda.sliced", "projections_cuda"),
    ("sliced", CUDA): ("numbaot.cuda.sliced", "sliced_values_cuda"),
    # the GW tensor product's device input checks (float64 copies of C1, C2 and T, NaN and inf refused on the device
    # with the host's messages; the smallest entry of C1 and C2 under 'kl_loss', judged in the front-end)
    ("gromov.matrix", CUDA): ("numbaot.cuda._checks", "series_cuda"),
    ("gromov.minimum", CUDA): ("numbaot.cuda._checks", "minimum_cuda"),
    ("tensor_product", CUDA): ("numbaot.cuda.gromov", "tensor_product_cuda"),
    # entropic partial's device input checks (float64 copies and the statistics the front-end judges)
    ("entropic_partial.weights", CUDA): ("numbaot.cuda._checks", "weights_cuda"),
    ("entropic_partial.costs", CUDA): ("numbaot.cuda._checks", "cost_lines_cuda"),
    ("entropic_partial", CUDA): ("numbaot.cuda.partial", "entropic_partial_cuda"),
}


def has_driver(family: str, device: str) -> bool:
    return (family, device) in _DRIVERS


def driver(family: str, placement: Placement):
    """The driver of ``family`` for ``placement``'s device (a ValueError when the family has none there)."""
    entry = _DRIVERS.get((family, placement.device))
    if entry is None:
        raise ValueError(f"{family} has no {placement.device} driver in this version")
    module, name = entry
    return getattr(importlib.import_module(module), name)


def require_host(placement: Placement, what: str, hint: str) -> None:
    """Refuse device arrays for a path that runs on the host only, before any copy: ``hint`` says what to do."""
    if placement.on_gpu:
        raise ValueError(f"{what} runs on the host only in this version; {hint}")


def host_copies(*arrays):
    """Host (numpy) copies of device arrays; host arrays, None and pairs of them pass through element-wise."""
    out = []
    for x in arrays:
        if isinstance(x, (tuple, list)):
            out.append(type(x)(host_copies(*x)))
        else:
            out.append(None if x is None else _device.to_host(x))
    return out


def to_caller(x, placement: Placement):
    """A host array copied to the caller's device, as the caller's kind of array, on the caller's stream."""
    if x is None or not placement.on_gpu:
        return x
    from numba import cuda

    return _device.to_caller(cuda.to_device(np.ascontiguousarray(x), stream=placement.stream), placement.kind)


def solve_on_host(placement: Placement, solve, *arrays):
    """Run ``solve(*host copies of arrays)`` (a host front-end returning an OTResult or a list of them) and hand the
    answer back on the caller's device: plan (dense or COO triples), potentials and marginals as the caller's kind,
    ``device="cuda"``, ``ran_on="cpu"``. On the host it is just ``solve(*arrays)``."""
    if not placement.on_gpu:
        return solve(*arrays)
    answer = solve(*host_copies(*arrays))
    if isinstance(answer, list):
        return [result_to_caller(r, placement) for r in answer]
    return result_to_caller(answer, placement)


def back_to_caller(placement: Placement, result):
    """``result`` of a host solve of device inputs, on the caller's device (``ran_on="cpu"``); on the host, as is."""
    return result_to_caller(result, placement) if placement.on_gpu else result


def result_to_caller(result, placement: Placement):
    from .cuda.plan import densify_cuda, marginals_cuda

    changes = dict(potential_a=to_caller(result.potential_a, placement),
                   potential_b=to_caller(result.potential_b, placement), device=CUDA, ran_on=CPU)
    if result.plan_coo is not None:
        coo = tuple(to_caller(x, placement) for x in result.plan_coo)
        changes.update(plan_coo=coo, plan=None, densify=densify_cuda(coo, result.shape, placement.stream,
                                                                      placement.kind),
                       marginals=marginals_cuda(coo, result.shape, placement.stream, placement.kind),
                       plan_operator=None)
    else:
        changes.update(plan=to_caller(result.plan, placement), plan_operator=None, densify=None, marginals=None)
    return result.replace(**changes)
