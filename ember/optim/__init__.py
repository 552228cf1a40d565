"""Optimizers and learning-rate schedulers (PyTorch's ``torch.optim``).

Every optimizer subclasses :class:`Optimizer` and writes only its per-parameter update;
``lr_scheduler`` adjusts the groups' learning rates; ``swa_utils`` (imported on first use)
averages weights.
"""

from ember.optim.optimizer import Optimizer  # noqa: F401
from ember.optim.sgd import SGD  # noqa: F401
from ember.optim.adam import Adam  # noqa: F401
from ember.optim.adamw import AdamW  # noqa: F401
from ember.optim.rmsprop import RMSprop  # noqa: F401
from ember.optim.adagrad import Adagrad  # noqa: F401
from ember.optim.adadelta import Adadelta  # noqa: F401
from ember.optim.adamax import Adamax  # noqa: F401
from ember.optim.nadam import NAdam  # noqa: F401
from ember.optim.radam import RAdam  # noqa: F401
from ember.optim.lbfgs import LBFGS  # noqa: F401
from ember.optim import lr_scheduler  # noqa: F401

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax",
           "NAdam", "RAdam", "LBFGS", "lr_scheduler", "swa_utils"]


def __getattr__(name):
    # swa_utils needs ember.nn; load it on first use so `import ember.optim` stays light.
    if name == "swa_utils":
        import importlib
        return importlib.import_module("ember.optim.swa_utils")
    raise AttributeError(f"module 'ember.optim' has no attribute '{name}'")
