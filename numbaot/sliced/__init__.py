"""Sliced optimal transport: ``api.sliced_wasserstein_distance``, ``api.max_sliced_wasserstein_distance``."""
