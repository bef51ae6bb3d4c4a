"""pytest collects this package's doctests only where JAX imports (it is an optional extra)."""
try:
    import jax  # noqa: F401
except Exception:  # absent, or installed but broken: the package cannot be imported either
    collect_ignore_glob = ["*.py"]
