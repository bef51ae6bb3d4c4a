"""``ot.coot``: not implemented by numbaot; each name raises NotImplementedError when called."""
from . import _common

__getattr__ = _common.missing_module(__name__, "numbaot.gromov_wasserstein")
