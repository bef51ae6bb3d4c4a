"""Where a cold first call's compilation goes: CPU seconds per jitted function, exclusive of what it compiles in
turn, split into Numba's passes and LLVM's work (function passes, the whole-module optimisation each library runs
over everything linked into it, machine-code emission). A fresh empty cache; measure with NUMBA_NUM_THREADS=1 and
A/B against another checkout (a few runs each: the figures move by 10% on a shared machine).

    NUMBA_NUM_THREADS=1 python bench/compile_profile.py . sinkhorn        # totals by kind and by function
    NUMBA_NUM_THREADS=1 python bench/compile_profile.py /tmp/before div x # ... and the 40 largest (kind, function)

Cases (200 x 150 points; `dist` is compiled before the timer starts): sinkhorn, lazy (online solve_sample), div
(sinkhorn_divergence), divlazy, emd2, gw (gromov_wasserstein2 on 30 x 25). Environment: PROF_MIN=0.005 lists
smaller functions too, PROF_TOP=200 more (kind, function) rows. Uses Numba internals (a dev tool).
"""
import sys, os, time, tempfile, collections
tree, case = sys.argv[1], sys.argv[2]
sys.path.insert(0, os.path.abspath(tree))
os.environ["NUMBAOT_CACHE_DIR"] = tempfile.mkdtemp(prefix="entprof")
import numpy as np, numbaot, warnings
warnings.simplefilter("ignore")
rng = np.random.default_rng(0)
X = rng.random((200, 2)); Y = rng.random((150, 2)); M = numbaot.dist(X, Y)
C1 = numbaot.dist(rng.random((30, 2)), rng.random((30, 2))); C2 = numbaot.dist(rng.random((25, 3)), rng.random((25, 3)))
from numba.core import codegen, compiler_machinery as cm
T = collections.defaultdict(float); stack = []; N = collections.Counter()  # N: type inferences per function
def timed(key, fn):
    t = time.process_time(); stack.append(0.0)
    try: return fn()
    finally:
        dt = time.process_time() - t; child = stack.pop()
        if stack: stack[-1] += dt
        T[key] += dt - child
def wrap(cls, name):
    orig = getattr(cls, name)
    def w(self, *a, **k):
        return timed(("llvm:" + name, self.name[:45]), lambda: orig(self, *a, **k))
    setattr(cls, name, w)
for n in ["_optimize_functions", "_optimize_final_module"]:
    wrap(codegen.CPUCodeLibrary, n)
wrap(codegen.JITCodeLibrary, "_finalize_specific")
origrp = cm.PassManager._runPass
def rp(self, index, pss, st):
    fn = getattr(st, "func_id", None)
    if fn and pss.name() == "nopython_type_inference":
        N[fn.func_qualname[:45]] += 1
    return timed((pss.name(), fn.func_qualname[:45] if fn else "?"), lambda: origrp(self, index, pss, st))
cm.PassManager._runPass = rp
calls = {"sinkhorn": lambda: numbaot.sinkhorn(None, None, M, 0.05),
         "lazy": lambda: numbaot.solve_sample(X, Y, reg=0.05, lazy=True),
         "div": lambda: numbaot.sinkhorn_divergence(X, Y, reg=0.05), "divlazy": lambda: numbaot.sinkhorn_divergence(X, Y, reg=0.05, lazy=True),
         "emd2": lambda: numbaot.emd2(None, None, M), "gw": lambda: numbaot.gromov_wasserstein2(C1, C2)}
t = time.process_time()
calls[case]()
print("cpu", round(time.process_time() - t, 2))
by_kind = collections.defaultdict(float); by_fn = collections.defaultdict(float)
for (k, f), v in T.items():
    by_kind[k] += v; by_fn[f.split("<locals>")[0]] += v
print("by kind:", ", ".join(f"{k}={v:.2f}" for k, v in sorted(by_kind.items(), key=lambda x: -x[1]) if v > 0.05))
print("by function:")
for f, v in sorted(by_fn.items(), key=lambda x: -x[1]):
    if v > float(os.environ.get("PROF_MIN", "0.05")): print(f"  {v:6.2f} {f}")
print("typed more than once:", ", ".join(f"{f} x{k}" for f, k in N.items() if k > 1) or "none")
if len(sys.argv) > 3:
    for (k, f), v in sorted(T.items(), key=lambda x: -x[1])[:int(os.environ.get("PROF_TOP", "40"))]: print(f"  {v:6.2f} {k} {f}")
