"""The defaults of every iterative solver, in one place: the front-ends' signatures read them from here.

Changing one changes it for every verb that shares it (the Sinkhorn family, its unbalanced, batched, online and
divergence variants, entropic GW's outer and inner loops; the conditional gradient of GW and FGW, the
barycenters and the free-support barycenters have their own).
"""
from __future__ import annotations

#: Sinkhorn-family iterations (each a row and a column half-step).
MAX_ITER = 1000
#: Sinkhorn-family tolerance: the L1 error of the marginals (balanced) or the largest change of a potential / eps
#: (unbalanced), checked every CHECK_EVERY iterations.
TOL = 1e-9
CHECK_EVERY = 10
#: The smallest tolerance of a log-domain Sinkhorn iterated in float32 (float32 costs): float32 exponentials leave
#: an L1 marginal error of 1e-8 to 2e-7 (measured at n = 10 to 3000, reg 0.1 and 0.01), so the default TOL would run
#: every float32 solve to max_iter (1000 iterations and a ConvergenceWarning, where float64 stops after 40 to 400).
FLOAT32_TOL = 1e-6
#: Conditional gradient (GW, FGW, semi-relaxed): iterations and the relative and absolute tolerances on the loss.
CG_MAX_ITER = 10000
CG_TOL = 1e-9
#: Entropic barycenters (POT's default for its Bregman barycenters): iterations and the tolerance on the joint error
#: (the spread of the K plans' column marginals plus the barycenter's L1 change between checks); the debiased
#: iteration converges linearly and slowly (its debiasing potential moves the barycenter on its own): a looser stop.
BARYCENTER_MAX_ITER = 10000
BARYCENTER_TOL = 1e-9
BARYCENTER_DEBIASED_TOL = 1e-7
#: Free-support barycenters: iterations and the tolerance on the squared displacement of the support (POT's).
FREE_SUPPORT_MAX_ITER = 100
FREE_SUPPORT_TOL = 1e-7
