"""``ember.nn.functional``: the functions behind the layers, gathered from ``_functional/``."""
from ember.nn._functional.linear import *  # noqa: F401,F403
from ember.nn._functional.loss import *  # noqa: F401,F403
from ember.nn._functional.ctc import *  # noqa: F401,F403
from ember.nn._functional.activation import *  # noqa: F401,F403
from ember.nn._functional.dropout import *  # noqa: F401,F403
from ember.nn._functional.embedding import *  # noqa: F401,F403
from ember.nn._functional.normalization import *  # noqa: F401,F403
from ember.nn._functional.distance import *  # noqa: F401,F403
from ember.nn._functional.conv import *  # noqa: F401,F403
from ember.nn._functional.pooling import *  # noqa: F401,F403
from ember.nn._functional.spatial import *  # noqa: F401,F403
from ember.nn._functional.adaptive import *  # noqa: F401,F403
from ember.nn._functional.sampling import *  # noqa: F401,F403
from ember.nn._functional import _spatial_torch_api  # noqa: F401  (torch.conv2d, ...)
from ember.nn._functional.attention import *  # noqa: F401,F403
from ember.nn._functional import _torch_api  # noqa: F401,E402  (torch.softmax, Tensor.log_softmax, ...)
