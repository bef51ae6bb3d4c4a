"""Partial optimal transport: exact (network simplex on the problem extended with dummy points), entropic (log-domain
Bregman projections), and partial Gromov-Wasserstein."""
