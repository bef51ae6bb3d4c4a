"""Smooth and sparse OT (Blondel et al. 2018): dual and semi-dual solvers with squared L2, negentropy and
sparsity-constrained regularisers."""
