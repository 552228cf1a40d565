import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(autouse=True)
def _seed_and_modes():
    """Every test starts seeded, with grad recording on and float32 as the default dtype."""
    import ember
    ember.manual_seed(0)
    ember.set_default_dtype(ember.float32)
    yield
    ember.set_default_dtype(ember.float32)
    ember.autograd.grad_mode.STATE.enabled = True
