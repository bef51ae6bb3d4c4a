"""The geometries' host copies (``entropic._geometry._host_copy``): their values branch on, every other global
the module's own, read when the copy is compiled (or run), not when it was made."""
from __future__ import annotations

import numba
import numpy as np

from numbaot.entropic import _geometry as G


def _grid_case():
    line = np.array([[0.0, 1.0], [1.0, 0.0]])
    geom = G.SeparableGrid(np.zeros((1, 1)), line, line)
    rng = np.random.default_rng(0)
    other, ref, shift = rng.standard_normal((1, 4)), np.log(np.full((1, 4), 0.25)), rng.standard_normal((1, 4))
    return geom, G.ROWS, other, ref, shift, np.ones(1, np.uint8), 0.5, 1.0


def test_host_copy_reads_the_module_globals_at_compile_time(monkeypatch):
    copy = G._host_copy(G._grid)
    assert copy.__globals__["_VALUES_PASS"] is True and G._VALUES_PASS is False
    args = _grid_case()
    expected = np.empty((1, 4))
    G.half_step(*args, expected)
    # unpatched, compiled (cache=False: a patched compile must never reach the cache) and in Python: the kernel's
    out = np.empty((1, 4))
    numba.njit(cache=False)(copy)(*args, out)
    np.testing.assert_allclose(out, expected, rtol=1e-14)

    @numba.njit(cache=False)
    def marked(lse, shift, eps, tau, out):
        out[:] = 7.0

    monkeypatch.setattr(G, "_finish_row", marked)  # rebound after the copy was made
    for run in (copy, numba.njit(cache=False)(copy)):
        out[:] = 0.0
        run(*args, out)
        assert np.all(out == 7.0)
