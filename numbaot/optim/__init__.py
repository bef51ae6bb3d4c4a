"""Generic conditional gradient solvers (cg, gcg, semirelaxed_cg) and the regularised OT built on them."""
