"""Helpers shared by the thinc layers that wrap PyTorch modules.

Kept free of a top-level torch import: the functions import it when called.
"""
import contextlib
import io
from typing import Any, Callable, Dict, Iterator, List, Sequence, Tuple

from thinc.api import ArgsKwargs, Model, PyTorchShim, torch2xp, xp2torch
from thinc.layers.pytorchwrapper import forward as pytorch_forward


def serialize_state(module: Any) -> bytes:
    """Serialize a module's state dict (tensors only)."""
    import torch

    buffer = io.BytesIO()
    torch.save(module.state_dict(), buffer)
    return buffer.getvalue()


def deserialize_state(module: Any, data: bytes, device: Any) -> Any:
    """Load a state dict written by `serialize_state`, refusing pickled objects."""
    import torch

    state = torch.load(io.BytesIO(data), map_location=device, weights_only=True)
    module.load_state_dict(state)
    return module.to(device)


class AveragingPyTorchShim(PyTorchShim):
    """A PyTorchShim whose `use_params` finds the optimizer's averaged weights.

    thinc's shim updates each torch parameter under the key (shim id, name),
    but its `use_params` looks for string keys "pytorch_<id>_<name>", so with
    `use_averages = true` spaCy evaluated and saved the *current* torch weights
    next to *averaged* thinc weights. This shim swaps the averages in.
    """

    @contextlib.contextmanager
    def use_params(self, params: Dict[Any, Any]) -> Iterator[None]:
        averaged, backup = {}, {}
        for name, param in self._model.named_parameters():
            if (self.id, name) in params:
                averaged[name] = xp2torch(params[(self.id, name)], device=self.device)
                backup[name] = param.detach().clone()
        self._model.load_state_dict(averaged, strict=False)
        try:
            yield
        finally:
            self._model.load_state_dict(backup, strict=False)


def wrap_module(module: Any) -> Model:
    """Wrap a torch module whose forward takes (tensor args..., **kwargs).

    Inputs are an ArgsKwargs of xp arrays (converted to tensors; the first one
    receives gradients in training) and plain values; the output is a tensor,
    returned as an xp array. Like thinc's PyTorchWrapper_v3, with a shim that
    honours the optimizer's parameter averages (see AveragingPyTorchShim).
    """
    shim = AveragingPyTorchShim(
        module, serialize_model=serialize_state, deserialize_model=deserialize_state
    )
    return Model(
        "pytorch",
        pytorch_forward,
        attrs={"convert_inputs": _convert_inputs, "convert_outputs": _convert_outputs},
        shims=[shim],
        dims={"nI": None, "nO": None},
    )


def torch_module(wrapper: Model) -> Any:
    """The torch module inside a thinc PyTorch wrapper."""
    return wrapper.shims[0]._model


def torch_device(wrapper: Model) -> Any:
    return wrapper.shims[0].device


def _convert_inputs(model: Model, inputs: ArgsKwargs, is_train: bool) -> Tuple[ArgsKwargs, Callable]:
    device = torch_device(model)
    first, *rest = inputs.args
    first_tensor = xp2torch(first, requires_grad=is_train and first.dtype.kind == "f", device=device)
    other = tuple(xp2torch(arg, device=device) if hasattr(arg, "dtype") else arg for arg in rest)
    converted = ArgsKwargs(args=(first_tensor,) + other, kwargs=inputs.kwargs)

    def get_d_inputs(d_inputs: ArgsKwargs) -> Any:
        grad = first_tensor.grad
        return torch2xp(grad) if grad is not None else None

    return converted, get_d_inputs


def _convert_outputs(model: Model, inputs_outputs: Tuple[Any, Any], is_train: bool) -> Tuple[Any, Callable]:
    _, output = inputs_outputs

    def get_d_output(d_output: Any) -> ArgsKwargs:
        d_tensor = xp2torch(d_output, device=output.device)
        return ArgsKwargs(args=(output,), kwargs={"grad_tensors": (d_tensor,)})

    return torch2xp(output.detach() if is_train else output), get_d_output


def length_sorted_chunks(lengths: Sequence[int], max_tokens: int, min_fill: float = 0.0) -> List[List[int]]:
    """Group indices, longest first, so that each group's padded size stays under max_tokens.

    min_fill (float): Also start a new group when a sequence would fill less than this
        share of the group's padded length (bounds the compute spent on padding).
    """
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    chunks: List[List[int]] = []
    current: List[int] = []
    for index in order:
        # Sorted longest first, so the first member sets the padded length.
        padded_length = lengths[current[0]] if current else lengths[index]
        too_big = (len(current) + 1) * padded_length > max_tokens
        if current and (too_big or lengths[index] < min_fill * padded_length):
            chunks.append(current)
            current = []
        current.append(index)
    if current:
        chunks.append(current)
    return chunks
