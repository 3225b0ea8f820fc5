"""One forward pass, recorded: which module called which, what each produced from what.

Module hooks give the call tree (a module call and, inside it, the calls of its children); a
``TorchFunctionMode`` records every torch function that a module's own ``forward`` calls
outside its children (``x + y``, ``q @ k.transpose(-2, -1)``, ``masked_fill``, ``tril``...).
Every recorded event keeps the events that produced its tensor inputs (``parents``), so the
data flow can be walked backwards: a residual connection is an ``add`` whose two operands
share an ancestor inside the same module call.

Works on the meta device (shapes only, no memory), so the largest named models can be traced.
Multiply-adds of functions called outside leaf modules:

    matmul (q @ k^T, a @ v):               MACs = (elements of the output) * (inner dimension)
    scaled_dot_product_attention (fused):  MACs = B h L S (d + d_v)

and of leaf modules (a module without children), by :func:`layer_macs`:

    Conv2d: MACs = (elements of the output) * (in_channels / groups) * kh * kw
    Linear: MACs = (elements of the output) * in_features
    other layers: 0 (their cost is small next to these, and not a multiply-add)

Bias additions are not counted; FLOPs ~ 2 * MACs.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

MATMULS = {"matmul", "bmm", "mm"}
ADDS = {"add", "iadd", "radd", "add_"}


@dataclass(eq=False, repr=False)
class Event:
    """Something that produced a tensor: a model input, a function call or a module call.

    ``index``: order of the event in the pass; ``parents``: the events that produced its
    tensor inputs; ``caller``: the module call whose own code made it (None for inputs).
    """

    index: int
    parents: list[Event]
    caller: Call | None
    shape: tuple[int, ...] | None
    dtype: torch.dtype | None = None

    def __repr__(self) -> str:  # the graph behind an event is large: name the event only
        name = getattr(self, "name", "")
        return f"{type(self).__name__}({self.index}, {name!r}, shape={self.shape})"


@dataclass(eq=False, repr=False)
class Input(Event):
    """An argument of the traced model, by its name in ``forward``'s signature."""

    name: str = ""


@dataclass(eq=False, repr=False)
class Op(Event):
    """A torch function called by a module's own code (outside its children).

    ``name``: without underscores (``x + y`` -> "add", ``q @ k`` -> "matmul"); ``kwargs``:
    its keyword arguments that are not tensors (``is_causal=True``); ``mask``: the event that
    produced its boolean mask argument (``masked_fill``, ``where``, the fused attention);
    ``value``: its output, detached, for the ops that :func:`trace` was asked to keep.
    """

    name: str = ""
    kwargs: dict[str, object] = field(default_factory=dict)
    mask: Event | None = None
    macs: int = 0
    value: torch.Tensor | None = None


@dataclass(eq=False, repr=False)
class Call(Event):
    """One call of a module: ``name`` as in ``named_modules()`` ("" for the model itself).

    ``events``: the ops and module calls its own code made, in order; ``end``: the index of the
    last event inside it; ``params``: the number of its own parameters not met in an earlier
    call (a module called twice, or a weight tied to another module's, counts once).
    """

    name: str = ""
    module: nn.Module | None = None
    events: list[Event] = field(default_factory=list)
    end: int = 0
    params: int = 0
    macs: int = 0

    @property
    def type(self) -> str:
        return type(self.module).__name__

    @property
    def leaf(self) -> bool:
        return not any(True for _ in self.module.children())

    def calls(self) -> list[Call]:
        """The module calls made directly by this call, in order."""
        return [e for e in self.events if isinstance(e, Call)]

    def walk(self) -> Iterator[Event]:
        """This call and every event below it, in order (an explicit stack, no recursion)."""
        stack: list[Event] = [self]
        while stack:
            event = stack.pop()
            yield event
            if isinstance(event, Call):
                stack.extend(reversed(event.events))


def tensors_in(value: object) -> list[torch.Tensor]:
    """The tensors in an argument, a tuple/list of them, or a dict's values (one level deep).

    Example: ``(x, (k, v), 3)`` -> ``[x, k, v]``.
    """
    items = list(value.values()) if isinstance(value, dict) else [value]
    found: list[torch.Tensor] = []
    while items:
        item = items.pop(0)
        if isinstance(item, torch.Tensor):
            found.append(item)
        elif isinstance(item, (tuple, list)):
            items[:0] = list(item)
    return found


def layer_macs(module: nn.Module, output: torch.Tensor) -> int:
    """Multiply-adds of one call of the leaf ``module`` that produced ``output`` (rules above).

    Example: ``Conv2d(3, 8, 3)`` giving an output (1, 8, 30, 30): ``7200 * 3 * 3 * 3 = 194400``.
    """
    if isinstance(module, nn.Conv2d):
        kh, kw = module.kernel_size
        return output.numel() * (module.in_channels // module.groups) * kh * kw
    if isinstance(module, nn.Linear):
        return output.numel() * module.in_features
    return 0


def _op_macs(name: str, args: tuple, out: torch.Tensor | None) -> int:
    if out is None:
        return 0
    if name in MATMULS and isinstance(args[0], torch.Tensor) and args[0].dim() >= 1:
        return out.numel() * args[0].shape[-1]
    if name == "scaled_dot_product_attention":
        q, k, v = args[:3]
        return q.shape[:-1].numel() * k.shape[-2] * (q.shape[-1] + v.shape[-1])
    return 0


class Tracer(TorchFunctionMode):
    """Records one forward pass; use :func:`trace`."""

    def __init__(self, model: nn.Module, keep: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.keep = keep
        self.names = {module: name for name, module in model.named_modules()}
        self.producers: dict[int, Event] = {}
        self.alive: list[torch.Tensor] = []  # keeps ids unique while the pass runs
        self.stack: list[Call] = []
        self.count = 0
        self.seen: set[int] = set()  # parameters already counted
        self.root: Call | None = None

    def _next(self) -> int:
        self.count += 1
        return self.count

    def _parents(self, values) -> list[Event]:
        parents = []
        for t in tensors_in(list(values)):
            event = self.producers.get(id(t))
            if event is not None and event not in parents:
                parents.append(event)
        return parents

    def _produced(self, event: Event, output: object) -> None:
        for t in tensors_in(output):
            self.alive.append(t)
            self.producers[id(t)] = event

    def add_input(self, name: str, value: torch.Tensor) -> Input:
        event = Input(self._next(), [], None, tuple(value.shape), value.dtype, name=name)
        self._produced(event, value)
        return event

    def pre_hook(self, module, args, kwargs) -> None:
        caller = self.stack[-1] if self.stack else None
        params = 0
        for p in module.parameters(recurse=False):
            if id(p) not in self.seen:  # a tied or reused weight counts at its first call
                self.seen.add(id(p))
                params += p.numel()
        call = Call(
            self._next(),
            self._parents([*args, *kwargs.values()]),
            caller,
            None,
            name=self.names.get(module, ""),
            module=module,
            params=params,
        )
        if caller is not None:
            caller.events.append(call)
        else:
            self.root = call
        self.stack.append(call)

    def post_hook(self, module, args, kwargs, output) -> None:
        call = self.stack.pop()
        found = tensors_in(output)
        if found:
            call.shape, call.dtype = tuple(found[0].shape), found[0].dtype
        call.end = self.count
        if call.leaf and found:
            call.macs = layer_macs(module, found[0])
        self._produced(call, output)

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        caller = self.stack[-1] if self.stack else None
        if caller is None or caller.leaf:
            return out  # a leaf module's insides are its own business (its MACs come by rule)
        name = getattr(func, "__name__", str(func)).strip("_")
        found = tensors_in(out)
        if not found:
            return out
        mask_arg = None
        if name in ("masked_fill", "where"):
            mask_arg = args[1] if name == "masked_fill" else args[0]
        elif name == "scaled_dot_product_attention":
            mask_arg = kwargs.get("attn_mask", args[3] if len(args) > 3 else None)
        mask = None
        if isinstance(mask_arg, torch.Tensor) and mask_arg.dtype == torch.bool:
            mask = self.producers.get(id(mask_arg))
        op = Op(
            self._next(),
            self._parents([*args, *kwargs.values()]),
            caller,
            tuple(found[0].shape),
            found[0].dtype,
            name=name,
            kwargs={k: v for k, v in kwargs.items() if isinstance(v, (bool, int, float, str))},
            mask=mask,
            macs=_op_macs(name, args, found[0]),
            value=found[0].detach() if name in self.keep else None,
        )
        caller.events.append(op)
        self._produced(op, out)
        return out


def trace(model: nn.Module, *args: object, keep: tuple[str, ...] = (), **kwargs: object) -> Call:
    """The call tree of ``model(*args, **kwargs)``: run once in eval mode without gradients,
    on the tensors given (put them on the model's device, ``meta`` included); the modules'
    training modes are restored afterwards. Returns the model's own :class:`Call`.

    ``keep``: names of ops whose outputs are kept in ``Op.value`` (``("softmax",)`` keeps the
    attention weights of a model that computes them).
    """
    tracer = Tracer(model, keep)
    bound = inspect.signature(model.forward).bind(*args, **kwargs)
    for name, value in bound.arguments.items():
        if isinstance(value, torch.Tensor):
            tracer.add_input(name, value)
    handles = []
    for module in model.modules():
        handles.append(module.register_forward_pre_hook(tracer.pre_hook, with_kwargs=True))
        handles.append(module.register_forward_hook(tracer.post_hook, with_kwargs=True))
    modes = {m: m.training for m in model.modules()}
    try:
        model.eval()
        with torch.no_grad(), tracer:
            model(*args, **kwargs)
    finally:
        for handle in handles:
            handle.remove()
        for module, training in modes.items():
            module.train(training)
    return tracer.root


def inputs_of(root: Call) -> list[Input]:
    """The model inputs that the traced pass used, in the order of ``forward``'s signature."""
    found: dict[int, Input] = {}
    for event in root.walk():
        for parent in event.parents:
            if isinstance(parent, Input):
                found[parent.index] = parent
    return [found[i] for i in sorted(found)]
