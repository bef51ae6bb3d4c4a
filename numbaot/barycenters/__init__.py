"""Wasserstein barycenters: fixed support (Bregman, debiased, unbalanced, exact LP), grids (convolutional) and free
support (``api``)."""
