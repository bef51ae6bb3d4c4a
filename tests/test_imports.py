"""Imports flow one way: front-ends -> dispatch -> drivers -> cores and shared bodies.

Read from the source with ``ast`` (imports inside functions count: they hide an edge, they do not remove it), so the
rule holds for code that has not run. Fails on any import cycle, on a core or a CUDA module importing a front-end,
and on a module importing another family's private name.
"""
from __future__ import annotations

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1] / "numbaot"

#: Modules that users call (or that call solvers for them): nothing below them may import them.
FRONT_ENDS = {
    "numbaot", "numbaot.__main__", "numbaot.cli", "numbaot._warmup", "numbaot.solvers", "numbaot.utils",
    "numbaot.losses",
    "numbaot.exact.api", "numbaot.entropic.api", "numbaot.entropic.unbalanced", "numbaot.entropic.batch",
    "numbaot.entropic.divergence", "numbaot.entropic.online", "numbaot.gromov.api", "numbaot.barycenters.api",
    "numbaot.barycenters.gromov",
    "numbaot.timeseries", "numbaot.timeseries.api",
    "numbaot.sliced.api", "numbaot.sliced.circle", "numbaot.gaussian.api", "numbaot.gaussian.gmm",
    "numbaot.gaussian.hd",
    "numbaot.da", "numbaot.da._base", "numbaot.da.transport", "numbaot.da.linear", "numbaot.da.mapping",
    "numbaot.da.regularized", "numbaot.da.jcpot", "numbaot.da.dr",
    "numbaot.partial.api", "numbaot.partial.gromov", "numbaot.unbalanced.api",
    "numbaot.optim.api", "numbaot.optim.regularized", "numbaot.smooth.api", "numbaot.smooth.screening",
    "numbaot.autodiff", "numbaot.torch", "numbaot.torch.api", "numbaot.jax", "numbaot.jax.api",
    "numbaot.plot", "numbaot.pot.plot", "numbaot.pot.dr",
}
#: The dispatch layer: front-ends import it, it imports the device drivers.
DISPATCH = {"numbaot._dispatch"}


def _modules():
    mods = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        name = ".".join(parts)
        if name.endswith(".__init__"):
            name = name[: -len(".__init__")]
        mods[name] = path
    return mods


MODULES = _modules()


def _imports(name, path, source=None):
    """``(target module, imported name or None)`` for every import in the module, resolved to package modules."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text() if source is None else source)):
        if isinstance(node, ast.Import):
            out += [(alias.name, None) for alias in node.names if alias.name.startswith("numbaot")]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            if not base.startswith("numbaot"):
                continue
            for alias in node.names:
                full = f"{base}.{alias.name}"
                out.append((full, None) if full in MODULES else (base, alias.name))
    resolved = []
    for target, imported in out:
        while target and target not in MODULES:
            target = target.rpartition(".")[0]
        if target and target != name:
            resolved.append((target, imported))
    return resolved


EDGES = {name: _imports(name, path) for name, path in MODULES.items()}


def _family(name):
    """'exact', 'entropic', 'gromov', 'cuda', or 'root' for the modules directly in numbaot/."""
    parts = name.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and (ROOT / parts[1]).is_dir()) else "root"


def _is_private_module(name):
    return any(part.startswith("_") and not part.startswith("__") for part in name.split(".")[1:])


def test_modules_are_found():
    assert {"numbaot.solvers", "numbaot.exact.api", "numbaot.cuda.sinkhorn", "numbaot._dispatch"} <= set(MODULES)
    assert ("numbaot._validation", None) in EDGES["numbaot.solvers"] or any(
        t == "numbaot._validation" for t, _ in EDGES["numbaot.solvers"])


def test_no_import_cycles():
    graph = {m: {t for t, _ in EDGES[m] if not m.startswith(t + ".")} for m in MODULES}
    index, low, on_stack, stack, cycles = {}, {}, set(), [], []

    def strongconnect(v):  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                strongconnect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            strongconnect(v)
    assert not cycles, f"import cycles: {cycles}"


@pytest.mark.parametrize("name", sorted(m for m in MODULES if m not in FRONT_ENDS))
def test_lower_layers_never_import_front_ends(name):
    """Cores, drivers and ``cuda/`` import bodies below them, never a front-end (nor dispatch, unless front)."""
    upward = sorted({t for t, _ in EDGES[name] if t in FRONT_ENDS and not name.startswith(t + ".")})
    if name not in DISPATCH and name != "numbaot.__init__":
        upward += sorted({t for t, _ in EDGES[name] if t in DISPATCH})
    assert not upward, f"{name} imports the front-end or dispatch module(s) {upward}: move the shared piece below"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_private_names_of_another_family(name):
    """``from numbaot.exact.api import _helper`` from another family is refused: shared pieces move to a module
    of their own below both users, under a public name."""
    bad = sorted(f"{t}.{imported}" for t, imported in EDGES[name]
                 if imported is not None and imported.startswith("_") and not imported.startswith("__")
                 and _family(t) != _family(name))
    assert not bad, f"{name} imports private names of another family: {bad}"


def test_the_rules_catch_what_they_should():
    """The resolver on planted sources: an upward import from cuda/ and a private import across families are seen,
    and a planted back edge closes a cycle."""
    assert _family("numbaot.exact.api") == "exact" and _family("numbaot.solvers") == "root"
    assert _family("numbaot.cuda.sinkhorn") == "cuda" and _is_private_module("numbaot.exact._driver")
    planted = _imports("numbaot.cuda.sinkhorn", ROOT / "cuda" / "sinkhorn.py",
                       "from ..solvers import solve\nfrom ..exact.api import _emd_weights\nimport numbaot.utils\n")
    assert planted == [("numbaot.solvers", "solve"), ("numbaot.exact.api", "_emd_weights"), ("numbaot.utils", None)]
    assert any(t in FRONT_ENDS for t, _ in planted)
    assert any(i.startswith("_") and _family(t) != "cuda" for t, i in planted if i)
    # numbaot.solvers imports numbaot.exact.api: a planted edge back from exact.api to solvers is a cycle
    assert any(t == "numbaot.exact.api" for t, _ in EDGES["numbaot.solvers"])


#: ``cuda/`` functions that are entry points of their own (called by users, not through a front-end's dispatch)
#: or guards of numbaot's own configuration: the only places in ``cuda/`` that raise.
CUDA_RAISES_ALLOWED = {
    ("numbaot.cuda._launch", "threads_per_block"),  # NUMBAOT_CUDA_TPB out of range
    ("numbaot.cuda._launch", "wrap"),  # an internal guard: a host array where a device array must be
}


def _raising_functions(path, source=None):
    """``(function, exception name)`` for every ``raise X(...)`` in the module, by enclosing top-level function."""
    found = []
    for node in ast.parse(path.read_text() if source is None else source).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            for sub in ast.walk(node):
                if isinstance(sub, ast.Raise) and isinstance(sub.exc, ast.Call):
                    func = sub.exc.func
                    found.append((node.name, getattr(func, "id", getattr(func, "attr", "?"))))
    return found


@pytest.mark.parametrize("name", sorted(m for m in MODULES if m.startswith("numbaot.cuda.")))
def test_cuda_drivers_leave_bad_input_to_the_front_ends(name):
    """Bad input is refused before dispatch, in one place (``_validation``): a CUDA driver raises no
    ValueError/TypeError of its own (checks that need the device's data compute statistics there and call a
    ``_validation.judge_*`` rule)."""
    bad = sorted(f"{function} raises {exc}" for function, exc in _raising_functions(MODULES[name])
                 if exc in ("ValueError", "TypeError") and (name, function) not in CUDA_RAISES_ALLOWED)
    assert not bad, f"{name}: {bad}; check in the front-end (or _validation.judge_*) instead"


def test_raise_scanner_sees_raises():
    planted = "import x\ndef f(v):\n    if v:\n        raise ValueError('no')\n\nclass K:\n    def g(self):\n" \
              "        raise x.errors.TypeError('no')\n"
    assert _raising_functions(ROOT / "cuda" / "plan.py", planted) == [("f", "ValueError"), ("K", "TypeError")]
