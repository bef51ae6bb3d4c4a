"""pytest collects this package's doctests only where JAX is installed (it is an optional extra)."""
import importlib.util

collect_ignore_glob = [] if importlib.util.find_spec("jax") else ["*.py"]
