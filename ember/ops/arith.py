"""(being written)"""

__all__ = []
METHODS = []  # Tensor methods: plain ops with the tensor first
INPLACE = []  # names whose in-place variant name_ is bound too
