"""``ot.dr`` over numbaot: Wasserstein and Fisher discriminant analysis (:func:`numbaot.da.wda`,
:func:`numbaot.da.fda`, POT's signatures, no autograd or pymanopt needed); POT's other ``ot.dr`` names raise
NotImplementedError when called."""
from __future__ import annotations

from . import _common

_missing = _common.missing_module(__name__, "numbaot.da.wda")

__all__ = ["wda", "fda"]


def __getattr__(name):
    if name in __all__:
        import numbaot.da

        value = getattr(numbaot.da, name)
        globals()[name] = value
        return value
    return _missing(name)
