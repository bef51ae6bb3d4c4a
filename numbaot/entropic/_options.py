"""The options objects of the entropic drivers: validated and built once by a front-end, then handed down unchanged
(immutable NamedTuples; ``_replace`` makes a variant) to the CPU driver and its CUDA twin, which read the fields
they need. Defaults live in ``numbaot._defaults``.
"""
from __future__ import annotations

import math
from typing import NamedTuple, Optional

from .._defaults import CHECK_EVERY, MAX_ITER, TOL


class SinkhornOptions(NamedTuple):
    """The scalars of a dense Sinkhorn solve, validated and built once by the front-end and handed down unchanged
    (immutable; ``_replace`` makes a variant, e.g. an annealing stage) to the CPU driver ``_loop.solve_dense`` and
    the CUDA driver ``numbaot.cuda.sinkhorn.solve_sinkhorn_cuda``: ``reg`` (eps), the marginal penalties
    ``rho_a``, ``rho_b`` (inf: exact), ``method`` (one of ``_loop.METHODS``), ``reg_type`` ('kl' or 'entropy'),
    ``max_iter``, ``tol`` and ``check_every``."""

    reg: float
    rho_a: float = math.inf
    rho_b: float = math.inf
    method: str = "sinkhorn_log"
    reg_type: str = "kl"
    max_iter: int = MAX_ITER
    tol: float = TOL
    check_every: int = CHECK_EVERY

    @property
    def balanced(self) -> bool:
        return math.isinf(self.rho_a) and math.isinf(self.rho_b)


class OnlineOptions(NamedTuple):
    """The scalars of an online (point-cloud) Sinkhorn solve: ``reg`` (eps), the ``metric`` and its exponent
    ``p``, ``max_iter``, ``tol``, ``check_every`` and the marginal penalties ``rho_a``, ``rho_b`` (inf: exact).
    Read by ``entropic.online`` and ``cuda.online.solve_online_cuda``."""

    reg: float
    metric: str = "sqeuclidean"
    p: float = 2.0
    max_iter: int = MAX_ITER
    tol: float = TOL
    check_every: int = CHECK_EVERY
    rho_a: float = math.inf
    rho_b: float = math.inf

    @property
    def balanced(self) -> bool:
        return math.isinf(self.rho_a) and math.isinf(self.rho_b)


class DivergenceOptions(NamedTuple):
    """The scalars of a Sinkhorn divergence solve (``entropic.divergence``, ``cuda.divergence``): ``reg``, the
    marginal penalty ``rho`` (None: balanced), ``metric``, ``p``, the annealing ratio ``scaling``, ``debias``,
    ``max_iter``, ``tol`` (None: the schedule only) and ``eps_list`` (None: the annealing schedule)."""

    reg: float
    rho: Optional[float] = None
    metric: str = "sqeuclidean"
    p: float = 2.0
    scaling: float = 0.5
    debias: bool = True
    max_iter: int = MAX_ITER
    tol: Optional[float] = TOL
    eps_list: Optional[object] = None
