"""Constraints: the sets that distribution parameters and samples must lie in.

A :class:`Constraint` answers ``check(value)`` with a boolean tensor of shape
``value.shape[:value.dim() - event_dim]``: one answer per event, where an event is
the rightmost ``event_dim`` dimensions (a matrix for ``positive_definite``, a vector
for ``simplex``). ``is_discrete`` says whether the set is countable.

The public objects are PyTorch's: instances such as ``real``, ``positive``,
``unit_interval`` and ``simplex``, and factories such as ``interval(0, 1)``,
``greater_than(2)``, ``integer_interval(0, 9)`` and ``independent(real, 1)``.

Example:
    >>> import ember
    >>> from ember.distributions import constraints
    >>> constraints.positive.check(ember.tensor([1.0, -1.0]))
    tensor([ True, False])
    >>> constraints.simplex
    Simplex()
"""

import ember

__all__ = [
    "Constraint", "boolean", "cat", "corr_cholesky", "dependent", "dependent_property",
    "greater_than", "greater_than_eq", "half_open_interval", "independent", "integer_interval",
    "interval", "is_dependent", "less_than", "lower_cholesky", "lower_triangular",
    "multinomial", "nonnegative", "nonnegative_integer", "one_hot", "positive",
    "positive_definite", "positive_integer", "positive_semidefinite", "real", "real_vector",
    "simplex", "square", "stack", "symmetric", "unit_interval",
]


class Constraint:
    """A region of valid values; ``check(value)`` says, per event, whether ``value`` is in it.

    Attributes:
        is_discrete (bool): whether the region is a discrete (countable) set.
        event_dim (int): how many rightmost dimensions form one event; ``check`` reduces
            over them.
    """

    is_discrete = False
    event_dim = 0

    def check(self, value):
        """A boolean tensor: ``True`` where the event of ``value`` satisfies the constraint."""
        raise NotImplementedError

    def __repr__(self):
        return self.__class__.__name__[1:] + "()"


# -- dependent constraints (the region depends on other parameters) --------------------

class _Dependent(Constraint):
    """Placeholder for a region that depends on other values (``Uniform``'s ``low``/``high``).

    ``check`` cannot answer; validation skips such parameters.
    """

    def __init__(self, *, is_discrete=NotImplemented, event_dim=NotImplemented):
        self._is_discrete = is_discrete
        self._event_dim = event_dim
        super().__init__()

    @property
    def is_discrete(self):
        if self._is_discrete is NotImplemented:
            raise NotImplementedError(".is_discrete cannot be determined statically")
        return self._is_discrete

    @property
    def event_dim(self):
        if self._event_dim is NotImplemented:
            raise NotImplementedError(".event_dim cannot be determined statically")
        return self._event_dim

    def __call__(self, *, is_discrete=NotImplemented, event_dim=NotImplemented):
        """A new dependent constraint with the given static attributes."""
        if is_discrete is NotImplemented:
            is_discrete = self._is_discrete
        if event_dim is NotImplemented:
            event_dim = self._event_dim
        return _Dependent(is_discrete=is_discrete, event_dim=event_dim)

    def check(self, x):
        raise ValueError("Cannot determine validity of dependent constraint")


def is_dependent(constraint):
    """Whether ``constraint`` is a dependent constraint (one that ``check`` cannot answer)."""
    return isinstance(constraint, _Dependent)


class _DependentProperty(property, _Dependent):
    """A property that is also a dependent constraint.

    Read on an instance it computes the real constraint (``Uniform(0, 2).support`` is
    ``interval(0, 2)``); read on the class it is the dependent placeholder, so
    ``Uniform.support`` can still be inspected statically.

    Example:
        >>> class D:
        ...     @dependent_property(is_discrete=False, event_dim=0)
        ...     def support(self):
        ...         return real
        >>> D().support, is_dependent(D.support)
        (Real(), True)
    """

    def __init__(self, fn=None, *, is_discrete=NotImplemented, event_dim=NotImplemented):
        property.__init__(self, fn)
        self._is_discrete = is_discrete
        self._event_dim = event_dim

    def __call__(self, fn):
        return _DependentProperty(fn, is_discrete=self._is_discrete, event_dim=self._event_dim)


dependent = _Dependent()
dependent_property = _DependentProperty


# -- real-valued regions ---------------------------------------------------------------

class _Real(Constraint):
    """The extended real line (everything but NaN)."""

    def check(self, value):
        return value == value


class _GreaterThan(Constraint):
    """``(lower_bound, inf]``."""

    def __init__(self, lower_bound):
        self.lower_bound = lower_bound
        super().__init__()

    def check(self, value):
        return self.lower_bound < value

    def __repr__(self):
        return f"{self.__class__.__name__[1:]}(lower_bound={self.lower_bound})"


class _GreaterThanEq(_GreaterThan):
    """``[lower_bound, inf]``."""

    def check(self, value):
        return self.lower_bound <= value


class _LessThan(Constraint):
    """``[-inf, upper_bound)``."""

    def __init__(self, upper_bound):
        self.upper_bound = upper_bound
        super().__init__()

    def check(self, value):
        return value < self.upper_bound

    def __repr__(self):
        return f"{self.__class__.__name__[1:]}(upper_bound={self.upper_bound})"


class _Interval(Constraint):
    """``[lower_bound, upper_bound]``."""

    def __init__(self, lower_bound, upper_bound):
        self.lower_bound = lower_bound
        self.upper_bound = upper_bound
        super().__init__()

    def check(self, value):
        return (self.lower_bound <= value) & (value <= self.upper_bound)

    def __repr__(self):
        return (f"{self.__class__.__name__[1:]}(lower_bound={self.lower_bound}, "
                f"upper_bound={self.upper_bound})")


class _HalfOpenInterval(_Interval):
    """``[lower_bound, upper_bound)``."""

    def check(self, value):
        return (self.lower_bound <= value) & (value < self.upper_bound)


# -- discrete regions ----------------------------------------------------------------

class _Boolean(Constraint):
    """``{0, 1}``."""

    is_discrete = True

    def check(self, value):
        return (value == 0) | (value == 1)


class _IntegerInterval(_Interval):
    """The integers in ``[lower_bound, upper_bound]``."""

    is_discrete = True

    def check(self, value):
        return (value % 1 == 0) & super().check(value)


class _IntegerLessThan(_LessThan):
    """The integers below ``upper_bound``."""

    is_discrete = True

    def check(self, value):
        return (value % 1 == 0) & super().check(value)


class _IntegerGreaterThan(_GreaterThanEq):
    """The integers at or above ``lower_bound``."""

    is_discrete = True

    def check(self, value):
        return (value % 1 == 0) & super().check(value)


class _OneHot(Constraint):
    """Vectors of zeros with a single one."""

    is_discrete = True
    event_dim = 1

    def check(self, value):
        is_boolean = ((value == 0) | (value == 1)).all(-1)
        return is_boolean & (value.sum(-1) == 1)


class _Multinomial(Constraint):
    """Nonnegative integer vectors whose entries sum to at most ``upper_bound``."""

    is_discrete = True
    event_dim = 1

    def __init__(self, upper_bound):
        self.upper_bound = upper_bound

    def check(self, x):
        return (x >= 0).all(-1) & (x.sum(-1) <= self.upper_bound)


# -- vector and matrix regions ---------------------------------------------------------

class _Simplex(Constraint):
    """Nonnegative vectors whose entries sum to one (to within ``1e-6``)."""

    event_dim = 1

    def check(self, value):
        return (value >= 0).all(-1) & ((value.sum(-1) - 1).abs() < 1e-6)


def _matrix_check(name, value):
    if value.dim() < 2:
        raise ValueError(f"{name} constraint: expected a matrix (at least 2 dimensions), got "
                         f"shape {tuple(value.shape)}")


class _LowerTriangular(Constraint):
    """Square lower-triangular matrices."""

    event_dim = 2

    def check(self, value):
        _matrix_check("lower_triangular", value)
        return (value.tril() == value).flatten(-2).all(-1)


class _LowerCholesky(Constraint):
    """Lower-triangular matrices with a positive diagonal (Cholesky factors)."""

    event_dim = 2

    def check(self, value):
        _matrix_check("lower_cholesky", value)
        lower = (value.tril() == value).flatten(-2).all(-1)
        positive_diagonal = (value.diagonal(dim1=-2, dim2=-1) > 0).all(-1)
        return lower & positive_diagonal


class _CorrCholesky(Constraint):
    """Lower Cholesky factors of correlation matrices: each row has unit Euclidean norm."""

    event_dim = 2

    def check(self, value):
        _matrix_check("corr_cholesky", value)
        tol = _eps(value) * value.shape[-1] * 10
        row_norm = (value * value).sum(-1).sqrt()
        unit_rows = ((row_norm - 1).abs() <= tol).all(-1)
        return _LowerCholesky().check(value) & unit_rows


class _Square(Constraint):
    """Square matrices."""

    event_dim = 2

    def check(self, value):
        _matrix_check("square", value)
        return ember.full(tuple(value.shape[:-2]), value.shape[-2] == value.shape[-1],
                          dtype=ember.bool, device=value.device)


class _Symmetric(_Square):
    """Symmetric matrices (to within ``allclose``'s default tolerance)."""

    def check(self, value):
        square = super().check(value)
        if not square.all():
            return square
        close = (value - value.mT).abs() <= 1e-8 + 1e-5 * value.mT.abs()
        return close.flatten(-2).all(-1)


class _PositiveSemidefinite(_Symmetric):
    """Symmetric matrices with nonnegative eigenvalues."""

    def check(self, value):
        sym = super().check(value)
        if not sym.all():
            return sym
        return (ember.linalg.eigvalsh(value) >= 0).all(-1)


class _PositiveDefinite(_Symmetric):
    """Symmetric matrices with positive eigenvalues (a Cholesky factor exists)."""

    def check(self, value):
        sym = super().check(value)
        if not sym.all():
            return sym
        return ember.linalg.cholesky_ex(value).info == 0


def _eps(value):
    import numpy as np
    return float(np.finfo(value.dtype.np).eps)


# -- combinators ---------------------------------------------------------------------

class _IndependentConstraint(Constraint):
    """``base_constraint`` applied to each element, with ``reinterpreted_batch_ndims`` more
    dimensions treated as part of the event: ``check`` also requires all of them to pass.
    """

    def __init__(self, base_constraint, reinterpreted_batch_ndims):
        if not isinstance(base_constraint, Constraint):
            raise TypeError(f"independent: expected a Constraint, got "
                            f"{type(base_constraint).__name__}")
        if not isinstance(reinterpreted_batch_ndims, int) or reinterpreted_batch_ndims < 0:
            raise ValueError(f"independent: reinterpreted_batch_ndims must be a nonnegative "
                             f"int, got {reinterpreted_batch_ndims!r}")
        self.base_constraint = base_constraint
        self.reinterpreted_batch_ndims = reinterpreted_batch_ndims
        super().__init__()

    @property
    def is_discrete(self):
        return self.base_constraint.is_discrete

    @property
    def event_dim(self):
        return self.base_constraint.event_dim + self.reinterpreted_batch_ndims

    def check(self, value):
        result = self.base_constraint.check(value)
        if result.dim() < self.reinterpreted_batch_ndims:
            expected = self.base_constraint.event_dim + self.reinterpreted_batch_ndims
            raise ValueError(f"Expected value.dim() >= {expected} but got {value.dim()}")
        if self.reinterpreted_batch_ndims:
            result = result.reshape(tuple(result.shape[:result.dim()
                                                       - self.reinterpreted_batch_ndims])
                                    + (-1,)).all(-1)
        return result

    def __repr__(self):
        return (f"{self.__class__.__name__[1:]}({self.base_constraint!r}, "
                f"{self.reinterpreted_batch_ndims})")


class _Cat(Constraint):
    """Constraints ``cseq[i]`` applied to consecutive pieces of ``dim`` of sizes
    ``lengths[i]`` (default 1 each)."""

    def __init__(self, cseq, dim=0, lengths=None):
        self.cseq = list(cseq)
        self.lengths = [1] * len(self.cseq) if lengths is None else list(lengths)
        if len(self.lengths) != len(self.cseq):
            raise ValueError(f"cat: {len(self.cseq)} constraints but {len(self.lengths)} "
                             f"lengths")
        self.dim = dim
        super().__init__()

    @property
    def is_discrete(self):
        return any(c.is_discrete for c in self.cseq)

    @property
    def event_dim(self):
        return max(c.event_dim for c in self.cseq)

    def check(self, value):
        pieces = value.split(self.lengths, self.dim)
        return ember.cat([c.check(v) for c, v in zip(self.cseq, pieces)], self.dim)


class _Stack(Constraint):
    """Constraints ``cseq[i]`` applied to the slices ``value.select(dim, i)``."""

    def __init__(self, cseq, dim=0):
        self.cseq = list(cseq)
        self.dim = dim
        super().__init__()

    @property
    def is_discrete(self):
        return any(c.is_discrete for c in self.cseq)

    @property
    def event_dim(self):
        return max(c.event_dim for c in self.cseq)

    def check(self, value):
        if value.size(self.dim) != len(self.cseq):
            raise ValueError(f"stack: {len(self.cseq)} constraints but size "
                             f"{value.size(self.dim)} along dim {self.dim}")
        slices = [value.select(self.dim, i) for i in range(len(self.cseq))]
        return ember.stack([c.check(v) for c, v in zip(self.cseq, slices)], self.dim)


# -- PyTorch's public names ------------------------------------------------------------

independent = _IndependentConstraint
boolean = _Boolean()
one_hot = _OneHot()
nonnegative_integer = _IntegerGreaterThan(0)
positive_integer = _IntegerGreaterThan(1)
integer_interval = _IntegerInterval
real = _Real()
real_vector = independent(real, 1)
positive = _GreaterThan(0.0)
nonnegative = _GreaterThanEq(0.0)
greater_than = _GreaterThan
greater_than_eq = _GreaterThanEq
less_than = _LessThan
multinomial = _Multinomial
unit_interval = _Interval(0.0, 1.0)
interval = _Interval
half_open_interval = _HalfOpenInterval
simplex = _Simplex()
lower_triangular = _LowerTriangular()
lower_cholesky = _LowerCholesky()
corr_cholesky = _CorrCholesky()
square = _Square()
symmetric = _Symmetric()
positive_semidefinite = _PositiveSemidefinite()
positive_definite = _PositiveDefinite()
cat = _Cat
stack = _Stack
