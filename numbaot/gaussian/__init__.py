"""Gaussian optimal transport: Bures-Wasserstein distances, maps and barycenters (``api``), Gaussian mixtures."""
