"""Unbalanced OT without entropy: majorization-minimization (KL and L2 marginal penalties) and L-BFGS-B (KL, L2, TV)."""
