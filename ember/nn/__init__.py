"""Neural-network building blocks: modules, layers, losses, init (PyTorch's ``torch.nn``)."""

from ember.nn.parameter import Parameter, UninitializedParameter, UninitializedBuffer, Buffer  # noqa: F401,E501
from ember.nn.modules import *  # noqa: F401,F403
from ember.nn import functional, init, utils, parallel  # noqa: F401
