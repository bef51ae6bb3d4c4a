"""Entropic optimal transport: log-domain Sinkhorn (``api.sinkhorn``, ``api.sinkhorn2``, ``solve(reg=...)``)."""
