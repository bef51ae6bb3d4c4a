"""``ot.plot`` over numbaot: POT's plotting helpers, from :mod:`numbaot.plot` (needs matplotlib: ``pip install
numbaot[plot]``)."""
from __future__ import annotations

__all__ = ["plot1D_mat", "plot2D_samples_mat", "rescale_for_imshow_plot"]


def __getattr__(name):
    if name in __all__:
        import numbaot.plot

        return getattr(numbaot.plot, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
