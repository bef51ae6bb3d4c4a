"""``ot.dr`` over numbaot: Wasserstein and Fisher discriminant analysis (:func:`numbaot.da.wda`,
:func:`numbaot.da.fda`, POT's signatures, no autograd or pymanopt needed)."""
from __future__ import annotations

import functools

from . import _common as C

__all__ = ["wda", "fda", "dist", "sinkhorn", "sinkhorn_log"]

#: POT's other ``ot.dr`` names, which numbaot does not implement -> numbaot's closest function.
_MISSING = {"projection_robust_wasserstein": "numbaot.da.wda", "ewca": "numbaot.da.wda",
            "split_classes": "numbaot.da.wda", "logsumexp": None}

# POT's ot.dr re-exports ot.dist and ot.bregman's sinkhorn and sinkhorn_log: here, this layer's own
_REEXPORTS = {"dist": "numbaot.pot.utils", "sinkhorn": "numbaot.pot.bregman", "sinkhorn_log": "numbaot.pot.bregman"}

__getattr__ = C.missing_getattr(
    __name__, _MISSING,
    {**{name: functools.partial(C.native_in, "numbaot.da", name) for name in ("wda", "fda")},
     **{name: functools.partial(C.native_in, module, name) for name, module in _REEXPORTS.items()}})
