"""numbaot's CUDA twins, written with ``numba.cuda`` (numba-cuda): one module per family.

* ``cost``: ``dist_cuda`` (cost matrices from the shared ``_costs.pair_cost`` body) and ``unif_cuda``;
* ``solver_1d``: ``solve_1d_cuda`` (``emd_1d``, ``emd2_1d``) and ``wasserstein_1d_cuda``;
* ``loop``: ``sinkhorn_loop_cuda``, the host side of the log-domain Sinkhorn loop over a device geometry (the twin
  of ``entropic._loop.sinkhorn_loop``), run by ``sinkhorn`` and ``online``;
* ``sinkhorn``: ``solve_sinkhorn_cuda``, dense log-domain Sinkhorn (balanced, unbalanced, batched) for ``solve``,
  ``sinkhorn_unbalanced`` and ``solve_batch``;
* ``online``: ``solve_online_cuda``, online log-domain Sinkhorn from the points (``solve_sample(..., lazy=True)``),
  and the point-cloud geometry ``DevicePointClouds``;
* ``divergence``: ``solve_divergence_cuda``, the annealed symmetric loop of the Sinkhorn divergence on the device
  (its softmins: half-steps of ``DevicePointClouds``);
* ``_checks``: input checks reduced on the device, with the host's messages;
* ``_launch``: grids, streams, zero-copy wrapping of CuPy / Numba arrays, answers in the caller's kind.

The public front-ends (``numbaot.emd_1d``, ``numbaot.dist`` ...) dispatch CUDA arrays here; call them rather than
these modules. This package file imports nothing: importing ``numbaot`` must never import ``numba.cuda``, which
only the submodules above do. Under ``NUMBA_ENABLE_CUDASIM=1`` everything runs on Numba's CUDA simulator.
"""
