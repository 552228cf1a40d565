"""The multivariate normal distribution."""

import math

import ember
from ember import Size
from ember.distributions import constraints
from ember.distributions.distribution import Distribution
from ember.distributions.utils import lazy_property, standard_normal

__all__ = ["MultivariateNormal"]


def _batch_mv(bmat, bvec):
    """Matrix-vector products over broadcast batch dims: ``(..., n, m) x (..., m)``."""
    return ember.matmul(bmat, bvec.unsqueeze(-1)).squeeze(-1)


def _batch_mahalanobis(scale_tril, x):
    r"""The squared Mahalanobis norm :math:`x^\top (L L^\top)^{-1} x = \|L^{-1} x\|^2`,
    by one triangular solve (batch dims broadcast)."""
    y = ember.linalg.solve_triangular(scale_tril, x.unsqueeze(-1), upper=False).squeeze(-1)
    return y.pow(2).sum(-1)


def _half_log_det(scale_tril):
    r""":math:`\frac12 \log\det(L L^\top) = \sum_i \log L_{ii}`."""
    return ember.log(scale_tril.diagonal(dim1=-2, dim2=-1)).sum(-1)


def _precision_to_scale_tril(precision):
    r"""The lower Cholesky factor :math:`L` of :math:`P^{-1}`, without inverting :math:`P`.

    With :math:`J` the reversal permutation, factor :math:`J P J = L_f L_f^\top`; then
    :math:`U = J L_f J` is upper triangular with :math:`P = U U^\top`, so
    :math:`P^{-1} = U^{-\top} U^{-1}` and :math:`L = U^{-\top}` is lower triangular with a
    positive diagonal.
    """
    flipped = ember.linalg.cholesky(ember.flip(precision, (-2, -1)))
    upper = ember.flip(flipped, (-2, -1))
    eye = ember.eye(precision.shape[-1], dtype=precision.dtype, device=precision.device)
    return ember.linalg.solve_triangular(upper, eye, upper=True).mT


class MultivariateNormal(Distribution):
    r"""The multivariate normal distribution with mean ``loc`` (:math:`\mu`, the last
    dimension is the event) and covariance :math:`\Sigma`:

    .. math:: p(x) = (2\pi)^{-k/2} \det(\Sigma)^{-1/2}
              \exp\left(-\tfrac12 (x - \mu)^\top \Sigma^{-1} (x - \mu)\right)

    Give exactly one of ``covariance_matrix`` (:math:`\Sigma`), ``precision_matrix``
    (:math:`\Sigma^{-1}`) or ``scale_tril`` (the lower Cholesky factor :math:`L` with
    :math:`\Sigma = L L^\top`). Everything is computed from :math:`L`: ``rsample`` is
    :math:`\mu + L\varepsilon`, ``log_prob`` needs one triangular solve.

    Args:
        loc (Tensor): the mean, shape ``batch_shape + (k,)``.
        covariance_matrix (Tensor): positive-definite, shape ``(..., k, k)``.
        precision_matrix (Tensor): positive-definite, shape ``(..., k, k)``.
        scale_tril (Tensor): lower triangular with a positive diagonal, ``(..., k, k)``.
        validate_args (bool, optional): check arguments and values (see ``Distribution``).

    Example:
        >>> from ember.distributions import MultivariateNormal
        >>> d = MultivariateNormal(ember.zeros(2), ember.eye(2))
        >>> d.log_prob(ember.zeros(2))
        tensor(-1.8379)
    """

    arg_constraints = {"loc": constraints.real_vector,
                       "covariance_matrix": constraints.positive_definite,
                       "precision_matrix": constraints.positive_definite,
                       "scale_tril": constraints.lower_cholesky}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, loc, covariance_matrix=None, precision_matrix=None, scale_tril=None,
                 validate_args=None):
        if loc.dim() < 1:
            raise ValueError("loc must be at least one-dimensional.")
        given = [m for m in (covariance_matrix, precision_matrix, scale_tril) if m is not None]
        if len(given) != 1:
            raise ValueError("Exactly one of covariance_matrix or precision_matrix or "
                             "scale_tril may be specified.")
        matrix = given[0]
        if matrix.dim() < 2:
            name = ("scale_tril" if scale_tril is not None else "covariance_matrix"
                    if covariance_matrix is not None else "precision_matrix")
            raise ValueError(f"{name} matrix must be at least two-dimensional, with optional "
                             f"leading batch dimensions")
        batch_shape = ember.broadcast_shapes(tuple(matrix.shape[:-2]), tuple(loc.shape[:-1]))
        full = tuple(batch_shape) + (-1, -1)
        if scale_tril is not None:
            self.scale_tril = scale_tril.expand(full)
        elif covariance_matrix is not None:
            self.covariance_matrix = covariance_matrix.expand(full)
        else:
            self.precision_matrix = precision_matrix.expand(full)
        self.loc = loc.expand(tuple(batch_shape) + (-1,))
        super().__init__(batch_shape, self.loc.shape[-1:], validate_args=validate_args)
        if scale_tril is not None:
            self._unbroadcasted_scale_tril = scale_tril
        elif covariance_matrix is not None:
            self._unbroadcasted_scale_tril = ember.linalg.cholesky(covariance_matrix)
        else:
            self._unbroadcasted_scale_tril = _precision_to_scale_tril(precision_matrix)

    def expand(self, batch_shape, _instance=None):
        new = self._expand_params(
            MultivariateNormal, batch_shape, _instance,
            ("covariance_matrix", "scale_tril", "precision_matrix"), event_dims=2)
        new.loc = self.loc.expand(tuple(batch_shape) + tuple(self._event_shape))
        new._unbroadcasted_scale_tril = self._unbroadcasted_scale_tril
        return new

    def _full(self, matrix):
        return matrix.expand(tuple(self._batch_shape) + tuple(self._event_shape) * 2)

    @lazy_property
    def scale_tril(self):
        """:math:`L`, the lower Cholesky factor of the covariance."""
        return self._full(self._unbroadcasted_scale_tril)

    @lazy_property
    def covariance_matrix(self):
        """:math:`\\Sigma = L L^\\top`."""
        L = self._unbroadcasted_scale_tril
        return self._full(ember.matmul(L, L.mT))

    @lazy_property
    def precision_matrix(self):
        """:math:`\\Sigma^{-1} = L^{-\\top} L^{-1}`."""
        return self._full(ember.cholesky_inverse(self._unbroadcasted_scale_tril))

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        """The diagonal of :math:`\\Sigma`: the row sums of :math:`L \\odot L`."""
        v = self._unbroadcasted_scale_tril.pow(2).sum(-1)
        return v.expand(tuple(self._batch_shape) + tuple(self._event_shape))

    def rsample(self, sample_shape=Size()):
        r""":math:`\mu + L\varepsilon` with :math:`\varepsilon \sim N(0, I)`."""
        shape = self._extended_shape(sample_shape)
        eps = standard_normal(shape, self.loc.dtype, self.loc.device)
        return self.loc + _batch_mv(self._unbroadcasted_scale_tril, eps)

    def log_prob(self, value):
        r""":math:`-\frac12\left(k\log 2\pi + \|L^{-1}(x - \mu)\|^2\right) - \sum_i\log L_{ii}`.
        """
        if self._validate_args:
            self._validate_sample(value)
        diff = value - self.loc
        maha = _batch_mahalanobis(self._unbroadcasted_scale_tril, diff)
        k = self._event_shape[0]
        return -0.5 * (k * math.log(2 * math.pi) + maha) \
            - _half_log_det(self._unbroadcasted_scale_tril)

    def entropy(self):
        r""":math:`\frac k2 (1 + \log 2\pi) + \sum_i \log L_{ii}`."""
        k = self._event_shape[0]
        h = 0.5 * k * (1.0 + math.log(2 * math.pi)) \
            + _half_log_det(self._unbroadcasted_scale_tril)
        return h.expand(tuple(self._batch_shape)) if self._batch_shape else h
