"""Tensors in and out of numbaot's solvers without copies, and one autograd Function for every wrapped value."""
from __future__ import annotations

import numpy as np
import torch

#: dtypes the solvers take as they are
FLOATS = (torch.float32, torch.float64)


def check_tensor(x, name, *, differentiable=True):
    """A tensor argument's dtype, and its gradient when the value has none in it. Non-tensors pass through."""
    if not isinstance(x, torch.Tensor):
        return x
    if x.dtype not in FLOATS:
        kind = "an integer" if not (x.dtype.is_floating_point or x.dtype.is_complex) else f"a {x.dtype}"
        raise TypeError(f"{name} is {kind} tensor ({x.dtype}); numbaot.torch takes float32 or float64 tensors: "
                        f"pass {name}.double() or {name}.float()")
    if x.requires_grad and not differentiable:
        raise ValueError(f"{name} requires grad, but this value has no gradient with respect to {name}: pass "
                         f"{name}.detach() (or a Python number)")
    return x


def device_of(**tensors):
    """The one device of the given tensors; a ValueError naming them when they are on several, or on a device that
    numbaot has no solvers for."""
    places = {name: t.device for name, t in tensors.items() if isinstance(t, torch.Tensor)}
    if not places:
        return torch.device("cpu")
    devices = set(places.values())
    if len(devices) > 1:
        where = ", ".join(f"{name} on {dev}" for name, dev in places.items())
        raise ValueError(f"tensors on different devices ({where}): move them to one device first (numbaot never "
                         "copies between devices silently)")
    device = devices.pop()
    if device.type not in ("cpu", "cuda"):
        raise ValueError(f"numbaot.torch runs on CPU and CUDA tensors, got tensors on {device}")
    return device


def host_view(x):
    """A CPU tensor as the numpy array that shares its memory (no copy); CUDA tensors are passed on as they are
    (they carry ``__cuda_array_interface__``, which numbaot's CUDA solvers read without a copy)."""
    if not isinstance(x, torch.Tensor):
        return x
    x = x.detach()
    return x.numpy() if x.device.type == "cpu" else x


def out_tensor(value, device, dtype):
    """A solver's answer as a tensor on the caller's device: numpy arrays without a copy, CUDA arrays through
    ``__cuda_array_interface__``."""
    if device.type == "cpu":
        value = np.asarray(value)
        if any(s < 0 for s in value.strides):
            value = value.copy()
        t = torch.from_numpy(value)
    else:
        t = torch.as_tensor(value, device=device)
    return t.to(dtype)


class _HostCall(torch.autograd.Function):
    """The forward pass of :class:`OTValue` and :class:`OTMap`: ``value, ctx.back = call(*arrays)`` on the tensors'
    host views, keeping the names and each tensor's (dtype, device) for the subclass's backward pass."""

    @staticmethod
    def forward(ctx, call, names, device, dtype, *tensors):
        value, ctx.back = call(*[host_view(t) for t in tensors])
        ctx.names = names
        ctx.specs = [(t.dtype, t.device) if isinstance(t, torch.Tensor) else None for t in tensors]
        return out_tensor(value, device, dtype)


def _wanted(ctx):
    """(which inputs need a gradient, one flag per tensor; the names of those that do)."""
    needs = ctx.needs_input_grad[4:]
    return needs, [name for name, need in zip(ctx.names, needs) if need]


class OTValue(_HostCall):
    """``value = call(*arrays)``; the backward pass asks ``pullback`` for the gradients of the inputs that need
    them, and scales them by the incoming gradient (broadcast over a batch's trailing axes)."""

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad):
        needs, wanted = _wanted(ctx)
        grads = ctx.back(wanted) if wanted else {}
        out = [None, None, None, None]
        for name, need, spec in zip(ctx.names, needs, ctx.specs):
            if not need:
                out.append(None)
                continue
            g = np.asarray(grads[name])
            if grad.device.type == "cpu":  # scale on the host: no torch kernel (nor its thread pool) for it
                scale = grad.detach().numpy()
                g = (g * scale.reshape(scale.shape + (1,) * (g.ndim - scale.ndim))).astype(
                    torch.empty((), dtype=spec[0]).numpy().dtype, copy=False)
                out.append(out_tensor(g, spec[1], spec[0]))
            else:
                t = out_tensor(g, spec[1], spec[0])
                out.append(t * grad.reshape(grad.shape + (1,) * (t.ndim - grad.ndim)))
        return tuple(out)


def apply(call, names, tensors, *, device=None, dtype=None):
    """Run ``call`` on the tensors' arrays under :class:`OTValue`. names[i] labels tensors[i] for the pullback."""
    float_tensors = [t for t in tensors if isinstance(t, torch.Tensor)]
    if device is None:
        device = device_of(**{n: t for n, t in zip(names, tensors)})
    if device.type == "cuda":
        grads = [n for n, t in zip(names, tensors) if isinstance(t, torch.Tensor) and t.requires_grad]
        if grads and torch.is_grad_enabled():
            from .._validation import UnsupportedOption

            others = f" (so do {', '.join(grads[1:])})" if len(grads) > 1 else ""
            raise UnsupportedOption(
                f"{grads[0]} is a CUDA tensor that requires grad{others}, and gradients of CUDA tensors are not "
                f"implemented yet: move the inputs to the CPU ({grads[0]}.cpu()) for a gradient, or compute the "
                f"value alone under torch.no_grad() (or from {grads[0]}.detach())")
    if dtype is None:
        dtype = torch.float32 if float_tensors and all(t.dtype == torch.float32 for t in float_tensors) \
            else torch.float64
    return OTValue.apply(call, tuple(names), device, dtype, *tensors)


class OTMap(_HostCall):
    """``value = call(*arrays)`` for a vector (or array) value: ``call`` returns ``(value, vjp)`` and the backward
    pass asks ``vjp(names, value_bar)`` for the vector-Jacobian products of the inputs that need them."""

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad):
        needs, wanted = _wanted(ctx)
        grads = ctx.back(wanted, grad.detach().cpu().numpy()) if wanted else {}
        out = [None, None, None, None]
        for name, need, spec in zip(ctx.names, needs, ctx.specs):
            out.append(out_tensor(np.asarray(grads[name]), spec[1], spec[0]) if need else None)
        return tuple(out)


def apply_map(call, names, tensors, *, dtype):
    """Run ``call`` on the tensors' arrays under :class:`OTMap` (CPU tensors; names[i] labels tensors[i])."""
    device = device_of(**{n: t for n, t in zip(names, tensors)})
    if device.type != "cpu":
        from .._validation import UnsupportedOption

        name = next(n for n, t in zip(names, tensors) if isinstance(t, torch.Tensor))
        raise UnsupportedOption(f"{name} is on {device}, and this value runs on CPU tensors only (its gradient is "
                                f"computed on the host): move the inputs with .cpu() ({name}.cpu()) and the result "
                                "back with .to(device)")
    return OTMap.apply(call, tuple(names), device, dtype, *tensors)
