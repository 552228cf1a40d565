"""``ember.nn.utils``: gradient clipping, parameter vectors, rnn packing, weight/spectral norm."""
from ember.nn.utils.clip_grad import *  # noqa: F401,F403
from ember.nn.utils.convert_parameters import *  # noqa: F401,F403
from ember.nn.utils.weight_norm import weight_norm, remove_weight_norm  # noqa: F401
from ember.nn.utils.spectral_norm import spectral_norm, remove_spectral_norm  # noqa: F401
from ember.nn.utils import rnn  # noqa: F401
from ember.nn.utils import parametrize, parametrizations  # noqa: F401,E402
from ember.nn.utils.init import skip_init  # noqa: F401,E402
