"""Exact OT (network simplex) for CUDA inputs: the core runs on the host, and the result says so.

The network simplex is a sequential pivot loop; a GPU version would need a pricing kernel that bench/ shows to
win, which does not exist yet. Until then, CUDA inputs are copied to the host once (explicitly, and recorded in
``OTResult.ran_on``), solved there, and the answer (plan triples, potentials) is copied back to the device as
the caller's kind of array; the dense plan and the marginals are then built on the device.
"""
from __future__ import annotations

from numba import cuda

from .. import _device
from .._result import OTResult
from . import _launch
from .plan import densify_cuda, marginals_cuda


def solve_exact_via_host(solve_host, M, a, b):
    """Run ``solve_host(M, a, b)`` (the host front-end, returning OTResults) on host copies; move answers back."""
    kind = _launch.caller_kind(M, a, b)
    stream = _launch.stream_of(M, a, b)
    host = [None if x is None else _device.to_host(x) for x in (M, a, b)]
    out = []
    for res in solve_host(*host):
        coo = tuple(_launch.to_caller(cuda.to_device(x, stream=stream), kind) for x in res.plan_coo)
        potentials = [_launch.to_caller(cuda.to_device(x, stream=stream), kind)
                      for x in (res.potential_a, res.potential_b)]
        out.append(OTResult(
            value=res.value,
            plan_coo=coo,
            shape=res.shape,
            potential_a=potentials[0],
            potential_b=potentials[1],
            status=res.status,
            n_iter=res.n_iter,
            device="cuda",
            ran_on="cpu",
            densify=densify_cuda(coo, res.shape, stream, kind),
            marginals=marginals_cuda(coo, res.shape, stream, kind),
        ))
    return out
