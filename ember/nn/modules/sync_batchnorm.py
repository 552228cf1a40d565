"""SyncBatchNorm: batch statistics over the whole data-parallel batch, across processes."""

from ember.autograd.function import Function, once_differentiable
from ember.autograd.grad_mode import no_grad
from ember.nn.modules.batchnorm import _BatchNorm, BatchNorm1d, BatchNorm2d, BatchNorm3d


def _channel_view(t, ndim):
    return t.reshape((1, -1) + (1,) * (ndim - 2))


def _all_reduce_sum(t, group):
    from ember import distributed as dist
    dist.all_reduce(t, group=group)
    return t


class _SyncBN(Function):
    """Forward and backward of batch norm with per-channel sums all-reduced."""

    @staticmethod
    def forward(ctx, x, weight, bias, eps, group, stats_out):
        from ember.ops.shape import cat
        dims = (0,) + tuple(range(2, x.dim()))
        c = x.shape[1]
        local = cat([x.sum(dims), (x * x).sum(dims), x.new_full((1,), x.numel() // c)])
        total = _all_reduce_sum(local.double(), group)
        n = total[2 * c].item()
        mean = (total[:c] / n).to(x.dtype)
        var = (total[c:2 * c] / n - (total[:c] / n) ** 2).clamp(min=0).to(x.dtype)
        invstd = (var + eps).rsqrt()
        xhat = (x - _channel_view(mean, x.dim())) * _channel_view(invstd, x.dim())
        y = xhat
        if weight is not None:
            y = y * _channel_view(weight, x.dim())
        if bias is not None:
            y = y + _channel_view(bias, x.dim())
        ctx.save_for_backward(xhat, invstd, weight)
        ctx.n, ctx.group, ctx.has_bias = n, group, bias is not None
        stats_out.extend([mean, var, n])
        return y

    @staticmethod
    @once_differentiable
    def backward(ctx, gy):
        from ember.ops.shape import cat
        xhat, invstd, weight = ctx.saved_tensors
        nd = gy.dim()
        dims = (0,) + tuple(range(2, nd))
        c = gy.shape[1]
        sum_gy = gy.sum(dims)
        sum_gy_xhat = (gy * xhat).sum(dims)
        g = _all_reduce_sum(cat([sum_gy, sum_gy_xhat]).double(), ctx.group).to(gy.dtype)
        mean_gy, mean_gy_xhat = g[:c] / ctx.n, g[c:] / ctx.n
        scale = invstd if weight is None else invstd * weight
        gx = (gy - _channel_view(mean_gy, nd) - xhat * _channel_view(mean_gy_xhat, nd)) * \
            _channel_view(scale, nd)
        gw = sum_gy_xhat if weight is not None else None
        gb = sum_gy if ctx.has_bias else None
        return gx, gw, gb, None, None, None


class SyncBatchNorm(_BatchNorm):
    """Batch normalisation whose batch statistics cover every process of ``process_group``
    (the default group), so data-parallel training normalises like one big batch.

    Outside an initialised process group, or in eval mode, it is plain batch norm.
    Input: ``(N, C, *)``.
    """

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, process_group=None, device=None, dtype=None, *,
                 bias=True):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device,
                         dtype, bias=bias)
        self.process_group = process_group

    def _check_input_dim(self, input):
        if input.dim() < 2:
            raise ValueError(f"expected at least 2D input (got {input.dim()}D input)")

    def forward(self, input):
        from ember import distributed as dist
        self._check_input_dim(input)
        if not (self.training and dist.is_available() and dist.is_initialized()
                and dist.get_world_size(self.process_group) > 1):
            return super().forward(input)
        stats = []
        out = _SyncBN.apply(input, self.weight, self.bias, self.eps, self.process_group, stats)
        if self.track_running_stats:
            self._update_running(*stats)
        return out

    def _update_running(self, mean, var, n):
        with no_grad():
            self.num_batches_tracked.add_(1)
            m = self.momentum if self.momentum is not None else \
                1.0 / float(self.num_batches_tracked)
            unbiased = var * (n / max(n - 1, 1))
            self.running_mean.mul_(1 - m).add_(mean * m)
            self.running_var.mul_(1 - m).add_(unbiased * m)

    @classmethod
    def convert_sync_batchnorm(cls, module, process_group=None):
        """A copy-free conversion: every BatchNorm*d inside ``module`` becomes a
        SyncBatchNorm sharing its parameters and buffers."""
        if isinstance(module, (BatchNorm1d, BatchNorm2d, BatchNorm3d)) and \
                not isinstance(module, SyncBatchNorm):
            new = cls(module.num_features, module.eps, module.momentum, module.affine,
                      module.track_running_stats, process_group)
            for name in ("weight", "bias"):
                setattr(new, name, getattr(module, name))
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                if getattr(module, name, None) is not None:
                    setattr(new, name, getattr(module, name))
            new.train(module.training)
            return new
        for name, child in list(module.named_children()):
            module.add_module(name, cls.convert_sync_batchnorm(child, process_group))
        return module


__all__ = ["SyncBatchNorm"]
