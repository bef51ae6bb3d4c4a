"""Gromov-Wasserstein family: GW and fused GW by conditional gradient, entropic variants by mirror descent."""
