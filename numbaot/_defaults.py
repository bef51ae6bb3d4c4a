"""The defaults of every iterative solver, in one place: the front-ends' signatures read them from here.

Changing one changes it for every verb that shares it (the Sinkhorn family, its unbalanced, batched, online and
divergence variants, entropic GW's outer and inner loops; the conditional gradient of GW and FGW has its own).
"""
from __future__ import annotations

#: Sinkhorn-family iterations (each a row and a column half-step).
MAX_ITER = 1000
#: Sinkhorn-family tolerance: the L1 error of the marginals (balanced) or the largest change of a potential / eps
#: (unbalanced), checked every CHECK_EVERY iterations.
TOL = 1e-9
CHECK_EVERY = 10
#: Conditional gradient (GW, FGW, semi-relaxed): iterations and the relative and absolute tolerances on the loss.
CG_MAX_ITER = 10000
CG_TOL = 1e-9
