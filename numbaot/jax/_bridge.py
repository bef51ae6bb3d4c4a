"""numbaot's numpy pullbacks as ``jax.custom_vjp`` functions over ``jax.pure_callback`` (host CPU)."""
from __future__ import annotations

import numbers

import jax
import jax.numpy as jnp
import numpy as np


def static_number(x, name):
    """A hyper-parameter (reg, blur, ...) must be a concrete number: it selects the problem, it is not traced."""
    if x is None or isinstance(x, numbers.Number):
        return x
    if isinstance(x, (tuple, list)):
        return tuple(static_number(v, name) for v in x)
    try:
        return float(x)
    except (TypeError, jax.errors.ConcretizationTypeError) as err:
        raise TypeError(f"{name} must be a concrete number (not a traced value): it has no gradient here; pass a "
                        f"Python float, or mark it static under jit") from err


def check_on_host(x, name):
    """Refuse an array placed on an accelerator (a GPU or TPU jax array): the solvers run on the host CPU inside a
    callback, and numbaot never copies between devices silently. Traced values (under ``jit``) pass: their
    placement is the compiled computation's (see :mod:`numbaot.jax`)."""
    if isinstance(x, jax.core.Tracer):
        return
    devices = getattr(x, "devices", None)
    if not callable(devices):
        return
    try:
        platforms = sorted({d.platform for d in devices()})
    except Exception:  # noqa: BLE001 - not a placed array (an abstract value): nothing to check
        return
    if any(p != "cpu" for p in platforms):
        from .._validation import UnsupportedOption

        raise UnsupportedOption(
            f"{name} is a jax array on {'/'.join(platforms)}, and numbaot.jax runs its solvers on the host CPU "
            f"(gradients of accelerator arrays are not implemented): move it with jax.device_put({name}, "
            "jax.devices('cpu')[0]) (or run under jax.default_device(jax.devices('cpu')[0]))")


def as_float(x, name):
    """A jax array of a floating dtype (float32/float64) on the host; integer and boolean arrays are refused, and
    arrays on an accelerator (:func:`check_on_host`)."""
    if x is None:
        return None
    check_on_host(x, name)
    x = jnp.asarray(x)
    if x.dtype not in (jnp.float32, jnp.float64):
        raise TypeError(f"{name} has dtype {x.dtype}; numbaot.jax takes float32 or float64 arrays: pass "
                        f"{name}.astype(jnp.float64) (with jax_enable_x64) or jnp.float32")
    return x


def apply(call, names, args, main, value_shape=()):
    """``call(*numpy arrays) -> (value, pullback)`` as a differentiable JAX function of the non-None args."""
    slots = [i for i, x in enumerate(args) if x is not None]
    arrays = [as_float(args[i], names[i]) for i in slots]
    mains = [as_float(x, "x") for x in main if x is not None]
    dtype = jnp.float32 if mains and all(x.dtype == jnp.float32 for x in mains) else jnp.float64
    if dtype == jnp.float64 and not jax.config.read("jax_enable_x64"):
        dtype = jnp.float32
    present = tuple(names[i] for i in slots)

    def full(arrs):
        values = [None] * len(args)
        for i, a in zip(slots, arrs):
            values[i] = np.asarray(a)
        return values

    def host_value(*arrs):
        value, _ = call(*full(arrs))
        return np.asarray(value, dtype=dtype).reshape(value_shape)

    def host_value_and_grads(*arrs):
        value, pullback = call(*full(arrs))
        grads = pullback(list(present))
        return (np.asarray(value, dtype=dtype).reshape(value_shape),
                *[np.asarray(grads[n], dtype=a.dtype).reshape(a.shape) for n, a in zip(present, arrs)])

    out_value = jax.ShapeDtypeStruct(value_shape, dtype)
    out_grads = tuple(jax.ShapeDtypeStruct(a.shape, a.dtype) for a in arrays)

    @jax.custom_vjp
    def f(*arrs):
        return jax.pure_callback(host_value, out_value, *arrs, vmap_method="sequential")

    def f_fwd(*arrs):
        value, *grads = jax.pure_callback(host_value_and_grads, (out_value, *out_grads), *arrs,
                                          vmap_method="sequential")
        return value, tuple(grads)

    def f_bwd(grads, g):
        return tuple(g.reshape(g.shape + (1,) * (r.ndim - g.ndim)).astype(r.dtype) * r for r in grads)

    f.defvjp(f_fwd, f_bwd)
    return f(*arrays)
