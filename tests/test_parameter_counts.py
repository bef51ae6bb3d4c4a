"""No new function takes more than 10 parameters (issue 12, item 4: state and options travel as NamedTuples).

An ast scan of the package counts each function's parameters (``self``/``cls`` aside, ``*args``/``**kwargs``
counted once each). Exempt: the public verbs (``numbaot.__all__``) and the module-level functions of the layers
that mirror other libraries' signatures (``pot``, ``geomloss``, ``torch``, ``jax``), whose options are keyword-only
(``tests/test_signatures.py`` checks that). Every other function over the limit is in ``ALLOWED`` with its count
today: a new one fails, a count that grows fails, and an entry that is gone or back under the limit must be
removed, so the list only shrinks. ``python tests/test_parameter_counts.py`` prints the list as the package is now
(after a merge: paste it once each new entry has been argued for).
"""
from __future__ import annotations

import ast
import functools
import os

import numbaot

LIMIT = 10
MIRRORS = ("pot", "geomloss", "torch", "jax")
ROOT = os.path.dirname(os.path.abspath(numbaot.__file__))

# {file (relative to numbaot/): {qualified name: parameters}}: the functions over the limit when this test was
# written (session 12). CUDA kernels take their arrays one by one (a kernel cannot take a NamedTuple of device
# arrays). A compiled CPU core can take a NamedTuple of scalars (``unbalanced._cores.MMOptions``: same cold compile
# time, one specialisation when the front-end fixes the field types), but each call from Python then costs ~2 us
# more in Numba's dispatch than flat scalars, so cores called in a hot Python loop (``objective_grad``, once per
# L-BFGS-B evaluation) keep flat arguments.
ALLOWED = {
    "_result.py": {"OTResult.__init__": 21},
    "autodiff.py": {"_hausdorff_reach": 11, "_reach_terms": 11, "_sample_pullback": 12, "hausdorff_loss": 11},
    "barycenters/_scaling.py": {"toeplitz_bregman_core": 15},
    "cuda/online.py": {"_dense_plan_kernel": 12, "_half_step_kernel": 11, "_sums_kernel": 12},
    "cuda/sinkhorn.py": {"_line_stats_kernel": 11},
    "cuda/sliced.py": {"_direction_cells_kernel": 11},
    "cuda/solver_1d.py": {"_merge_cells_kernel": 13, "_scatter_duals_kernel": 13},
    "cuda/sta_clouds.py": {"_pair_values_kernel": 12, "sta_clouds_cuda": 12},
    "cuda/sta.py": {"_cross_kernel": 22, "_self_kernel": 14, "_softmin": 12,
                    "cross_divergences_cuda": 12, "sta_cuda": 11},
    "da/dr.py": {"wda": 13},
    "da/mapping.py": {"MappingTransport.__init__": 14, "joint_OT_mapping_kernel": 14, "joint_OT_mapping_linear": 12},
    "da/regularized.py": {"EMDLaplaceTransport.__init__": 15, "SinkhornL1l2Transport.__init__": 12,
        "SinkhornLpl1Transport.__init__": 12},
    "da/transport.py": {"SinkhornTransport.__init__": 11, "UnbalancedSinkhornTransport.__init__": 12},
    "entropic/_loop.py": {"objective": 11},
    "entropic/_online.py": {"_plan_chunk": 16, "apply_plan": 13, "dense_plan": 12, "plan_entry": 13,
        "softmin_points": 11},
    "entropic/_sinkhorn_scaling.py": {"sinkhorn_stabilized_core": 15, "unbalanced_scaling_core": 13},
    "entropic/divergence.py": {"solve_divergence": 16},
    "entropic/online.py": {"solve_online": 14},
    "exact/_network_simplex.py": {"_init_artificial": 12, "_update_tree": 16},
    "geomloss/__init__.py": {"SamplesLoss.__init__": 14},
    "gromov/_cg.py": {"_dots_rows": 11, "_gradient_rows": 15, "_iterate": 14,
        "_step_and_gradient": 18, "_step_chunks": 19, "_step_rows": 20, "_towards_vertex": 23,
        "_towards_vertex_chunks": 24, "_vertex_step": 32, "conditional_gradient": 12, "gradient": 13},
    "gromov/_entropic.py": {"_absorbed_step": 14, "mirror_descent": 16},
    "gromov/_semirelaxed.py": {"semirelaxed_conditional_gradient": 13},
    "gromov/_tensor.py": {"vertex_products": 16},
    "gromov/api.py": {"_solve_semirelaxed": 12, "solve_entropic": 11, "solve_gromov_problem": 16},
    "partial/_entropic.py": {"entropic_partial_core": 12, "entropic_partial_scaling_core": 12},
    "partial/api.py": {"_scaling_run": 11, "solve_entropic_partial": 11},
    "partial/gromov.py": {"solve_entropic_partial_gromov": 13, "solve_partial_gromov": 13},
    "pot/bregman.py": {"_sinkhorn": 11},
    "pot/unbalanced.py": {"_lbfgsb": 15, "_mm": 13, "_solve": 11},
    "pot/utils.py": {"BaryResult.__init__": 11, "OTResult.__init__": 11},
    "smooth/_dual.py": {"_chunks": 13, "_dual_columns": 13, "_plan_columns": 11, "_semi_columns": 13,
        "dual_obj_grad": 12, "semi_dual_obj_grad": 12},
    "smooth/api.py": {"_solve": 12, "solve_smooth": 13},
    "smooth/screening.py": {"solve_screenkhorn": 13},
    "timeseries/_soft_dtw.py": {"soft_dtw_series_core": 13, "sweep_backward": 15, "sweep_forward": 13},
    "timeseries/_sta.py": {"_softmin": 11, "_solve_cross": 19, "_solve_self": 14, "cross_divergences_core": 17,
        "self_potentials_core": 12},
    "timeseries/api.py": {"sta_barycenter": 11},
    "unbalanced/_cores.py": {"objective_grad": 12},
    "unbalanced/api.py": {"solve_lbfgsb": 13, "solve_mm": 13},
}


@functools.lru_cache(maxsize=None)
def _functions():
    """``(relative path, qualified name, parameter count, exempt)`` for every function of the package."""
    out = []
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if not name.endswith(".py"):
                continue
            path = os.path.join(folder, name)
            rel = os.path.relpath(path, ROOT).replace(os.sep, "/")
            with open(path, encoding="utf-8") as f:
                tree = ast.parse(f.read())
            mirror = rel.split("/")[0] in MIRRORS

            def visit(node, prefix, top):
                for child in ast.iter_child_nodes(node):
                    if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                        args = child.args
                        names = [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs]
                        names += [a.arg for a in (args.vararg, args.kwarg) if a is not None]
                        if names and names[0] in ("self", "cls"):
                            names = names[1:]
                        public = top and not child.name.startswith("_")
                        exempt = public and (mirror or child.name in numbaot.__all__)
                        out.append((rel, prefix + child.name, len(names), exempt))
                        visit(child, prefix + child.name + ".", False)
                    elif isinstance(child, ast.ClassDef):
                        visit(child, prefix + child.name + ".", False)

            visit(tree, "", True)
    return tuple(out)


def _over_the_limit():
    return {(rel, name): count for rel, name, count, exempt in _functions() if count > LIMIT and not exempt}


def test_no_new_function_over_the_limit():
    allowed = {(rel, name): count for rel, names in ALLOWED.items() for name, count in names.items()}
    over = _over_the_limit()
    new = sorted(f"numbaot/{rel}: {name} ({count} parameters)" for (rel, name), count in over.items()
                 if (rel, name) not in allowed)
    grown = sorted(f"numbaot/{rel}: {name} ({allowed[rel, name]} -> {count})" for (rel, name), count in over.items()
                   if (rel, name) in allowed and count > allowed[rel, name])
    assert not new, ("functions over 10 parameters: group state and options in NamedTuples (see "
                     "numbaot/entropic/_options.py) instead of adding them to ALLOWED:\n" + "\n".join(new))
    assert not grown, "functions in ALLOWED took more parameters:\n" + "\n".join(grown)


def test_allowed_list_only_shrinks():
    over = _over_the_limit()
    stale = sorted(f"numbaot/{rel}: {name}" for rel, names in ALLOWED.items() for name, count in names.items()
                   if over.get((rel, name), 0) < count)
    assert not stale, ("these functions are gone or take fewer parameters now: lower or remove their entries in "
                       "ALLOWED (python tests/test_parameter_counts.py prints it):\n" + "\n".join(stale))


def test_scan_counts_parameters():
    rows = {(rel, name): count for rel, name, count, _ in _functions()}
    assert rows["exact/api.py", "solve_1d"] == 8
    assert rows["_result.py", "OTResult.replace"] == 1  # **changes; self not counted


def allowed_today() -> str:
    """The ``ALLOWED`` dict for the package as it is now, as source (``python tests/test_parameter_counts.py``): to
    review and paste after a merge, once each new entry has been argued for."""
    by_file = {}
    for (rel, name), count in sorted(_over_the_limit().items()):
        by_file.setdefault(rel, []).append(f'"{name}": {count}')
    lines = ["ALLOWED = {"]
    for rel, items in by_file.items():
        line = f'    "{rel}": {{'
        for i, item in enumerate(items):
            piece = item + (", " if i < len(items) - 1 else "},")
            if len(line) + len(piece) > 118:
                lines.append(line.rstrip())
                line = " " * 8
            line += piece
        lines.append(line)
    return "\n".join(lines + ["}"])


if __name__ == "__main__":
    print(allowed_today())
