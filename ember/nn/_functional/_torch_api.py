"""The ``torch.*`` and ``Tensor.*`` spellings of nn functions (``torch.softmax``,
``x.log_softmax(1)``, ``torch.layer_norm``, ``torch.embedding``, ...).

PyTorch exposes these at the top level with their ATen argument orders; they are bound
onto ``ember`` and ``ember.Tensor`` when ``ember.nn`` is imported, unless an op family
already defines them.
"""

import ember
from ember._tensor import Tensor
from ember.nn._functional import activation as A
from ember.nn._functional import distance as D
from ember.nn._functional import dropout as DR
from ember.nn._functional import embedding as EM
from ember.nn._functional import linear as L
from ember.nn._functional import normalization as N

__all__ = []


def softmax(input, dim, dtype=None):
    return A.softmax(input, dim, dtype=dtype)


def log_softmax(input, dim, dtype=None):
    return A.log_softmax(input, dim, dtype=dtype)


def dropout(input, p, train):
    return DR.dropout(input, p, train)


def feature_dropout(input, p, train):
    return DR._feature_dropout(input, p, train, False, True, "feature_dropout_") \
        if input.dim() >= 2 else DR.dropout(input, p, train)


def alpha_dropout(input, p, train):
    return DR.alpha_dropout(input, p, train)


def feature_alpha_dropout(input, p, train):
    return DR.feature_alpha_dropout(input, p, train)


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5, cudnn_enable=True):
    return N.layer_norm(input, normalized_shape, weight, bias, eps)


def batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps,
               cudnn_enabled=True):
    return N.batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)


def instance_norm(input, weight, bias, running_mean, running_var, use_input_stats, momentum,
                  eps, cudnn_enabled=True):
    return N.instance_norm(input, running_mean, running_var, weight, bias, use_input_stats,
                           momentum, eps)


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5, cudnn_enabled=True):
    return N.group_norm(input, num_groups, weight, bias, eps)


def embedding(weight, input, padding_idx=-1, scale_grad_by_freq=False, sparse=False):
    pad = None if padding_idx is None or padding_idx < 0 else padding_idx
    return EM.embedding(input, weight, pad, None, 2.0, scale_grad_by_freq, sparse)


def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, generator=None):
    return A.rrelu(input, lower, upper, training)


_TOP = {"softmax": softmax, "log_softmax": log_softmax, "dropout": dropout,
        "feature_dropout": feature_dropout, "alpha_dropout": alpha_dropout,
        "feature_alpha_dropout": feature_alpha_dropout, "layer_norm": layer_norm,
        "batch_norm": batch_norm, "instance_norm": instance_norm, "group_norm": group_norm,
        "embedding": embedding, "rrelu": rrelu, "bilinear": L.bilinear,
        "cosine_similarity": D.cosine_similarity, "pairwise_distance": D.pairwise_distance,
        "pdist": D.pdist, "selu": A.selu, "selu_": A.selu_, "celu": A.celu, "celu_": A.celu_,
        "threshold": A.threshold, "threshold_": A.threshold_, "prelu": A.prelu,
        "hardshrink": A.hardshrink, "rms_norm": N.rms_norm, "relu_": A.relu_,
        "rrelu_": A.rrelu_}

_METHODS = {"softmax": softmax, "log_softmax": log_softmax, "prelu": A.prelu,
            "hardshrink": A.hardshrink, "relu_": A.relu_}


def _install():
    for name, fn in _TOP.items():
        if not hasattr(ember, name):
            setattr(ember, name, fn)
    for name, fn in _METHODS.items():
        if not hasattr(Tensor, name):
            setattr(Tensor, name, fn)


_install()
