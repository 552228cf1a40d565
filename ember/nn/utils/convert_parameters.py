"""Flatten parameters into one vector and back."""

from ember._tensor import Tensor
from ember.ops.shape import cat

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def _check_same_device(param, device):
    if device is None:
        return param.device
    if param.device != device:
        raise TypeError(f"Found two parameters on different devices, this is currently not "
                        f"supported. (got {param.device} and {device})")
    return device


def parameters_to_vector(parameters):
    """One 1-D tensor holding every parameter, flattened and concatenated (differentiable).

    Example:
        >>> from ember import nn
        >>> nn.utils.parameters_to_vector(nn.Linear(3, 2).parameters()).shape
        ember.Size([8])
    """
    device = None
    flat = []
    for p in parameters:
        device = _check_same_device(p, device)
        flat.append(p.reshape(-1))
    return cat(flat)


def vector_to_parameters(vec, parameters):
    """Make each parameter's data the matching slice of ``vec`` (sharing its memory)."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected torch.Tensor, but got: {type(vec).__name__}")
    device = None
    start = 0
    for p in parameters:
        device = _check_same_device(p, device)
        n = p.numel()
        p.data = vec[start:start + n].view_as(p).data
        start += n
