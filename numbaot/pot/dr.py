"""``ot.dr`` over numbaot: Wasserstein and Fisher discriminant analysis (:func:`numbaot.da.wda`,
:func:`numbaot.da.fda`, POT's signatures, no autograd or pymanopt needed)."""
from __future__ import annotations

import functools

from . import _common as C

__all__ = ["wda", "fda"]

#: POT's other ``ot.dr`` names, which numbaot does not implement -> numbaot's closest function.
_MISSING = {"projection_robust_wasserstein": "numbaot.da.wda", "ewca": "numbaot.da.wda",
            "split_classes": "numbaot.da.wda", "sinkhorn": "numbaot.sinkhorn", "sinkhorn_log": "numbaot.sinkhorn",
            "logsumexp": None, "dist": "numbaot.dist"}

__getattr__ = C.missing_getattr(__name__, _MISSING, {name: functools.partial(C.native_in, "numbaot.da", name)
                                                     for name in __all__})
