"""L-BFGS: limited-memory quasi-Newton steps, with an optional strong-Wolfe line search.

All parameters are handled as one flat vector. Scalars derived from it (dot products,
step sizes) stay in the parameters' dtype, as NumPy scalars or 0-d arrays, so float32
runs round like PyTorch's 0-d tensors do.
"""

import numpy as np

from ember._tensor import Tensor, _wrap
from ember.optim.optimizer import Optimizer, _check_lr, _scalar, real_view

__all__ = ["LBFGS"]

_TENSOR_KEYS = ("d", "t", "old_dirs", "old_stps", "ro", "H_diag", "prev_flat_grad", "al")


def _cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None):
    """Minimizer of the cubic through (x1, f1, slope g1) and (x2, f2, slope g2), clipped.

    Falls back to the middle of the bounds when the cubic has no real minimizer.
    """
    lo, hi = bounds if bounds is not None else ((x1, x2) if x1 <= x2 else (x2, x1))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1 * d1 - g1 * g2
    if d2_square < 0:
        return (lo + hi) / 2.0
    d2 = np.sqrt(d2_square)
    if x1 <= x2:
        x = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    else:
        x = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    return min(max(x, lo), hi)


def _strong_wolfe(obj, x, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9, max_ls=25):
    """Line search along ``d`` for a step ``t`` meeting the strong Wolfe conditions.

    ``obj(x, t, d)`` returns (loss, flat grad) at ``x + t d``. Phase one brackets a step
    (growing ``t`` by cubic extrapolation); phase two zooms into the bracket by cubic
    interpolation, guarding against steps too close to its ends. Returns
    ``(f_new, g_new, t, evaluations)``.
    """
    d_norm = abs(d).max()
    g = g.copy()
    f_new, g_new = obj(x, t, d)
    evals = 1
    gtd_new = g_new.dot(d)
    t_prev, f_prev, g_prev, gtd_prev = 0, f, g, gtd
    done = False
    it = 0
    while it < max_ls:                       # phase one: find a bracket
        if f_new > (f + c1 * t * gtd) or (it > 1 and f_new >= f_prev):
            br = [[t_prev, f_prev, g_prev, gtd_prev], [t, f_new, g_new.copy(), gtd_new]]
            break
        if abs(gtd_new) <= -c2 * gtd:
            br = [[t, f_new, g_new, gtd_new]]
            done = True
            break
        if gtd_new >= 0:
            br = [[t_prev, f_prev, g_prev, gtd_prev], [t, f_new, g_new.copy(), gtd_new]]
            break
        t_next = _cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new,
                                    bounds=(t + 0.01 * (t - t_prev), t * 10))
        t_prev, f_prev, g_prev, gtd_prev = t, f_new, g_new.copy(), gtd_new
        t = t_next
        f_new, g_new = obj(x, t, d)
        evals += 1
        gtd_new = g_new.dot(d)
        it += 1
    if it == max_ls:
        br = [[0, f, g, None], [t, f_new, g_new, None]]

    insufficient = False
    lo, hi = (0, 1) if br[0][1] <= br[-1][1] else (1, 0)
    while not done and it < max_ls:          # phase two: zoom
        (a, fa, _, ga), (b, fb, _, gb) = br
        if abs(b - a) * d_norm < tolerance_change:
            break
        t = _cubic_interpolate(a, fa, ga, b, fb, gb)
        top, bottom = max(a, b), min(a, b)
        eps = 0.1 * (top - bottom)
        if min(top - t, t - bottom) < eps:   # too close to an end of the bracket
            if insufficient or t >= top or t <= bottom:
                t = top - eps if abs(t - top) < abs(t - bottom) else bottom + eps
                insufficient = False
            else:
                insufficient = True
        else:
            insufficient = False
        f_new, g_new = obj(x, t, d)
        evals += 1
        gtd_new = g_new.dot(d)
        it += 1
        if f_new > (f + c1 * t * gtd) or f_new >= br[lo][1]:
            br[hi] = [t, f_new, g_new.copy(), gtd_new]
            lo, hi = (0, 1) if br[0][1] <= br[1][1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (br[hi][0] - br[lo][0]) >= 0:
                br[hi] = list(br[lo])
            br[lo] = [t, f_new, g_new.copy(), gtd_new]
    t, f_new, g_new, _ = br[lo]
    return f_new, g_new, t, evals


class LBFGS(Optimizer):
    r"""L-BFGS (Nocedal, 1980), in the variant of Schmidt's minFunc.

    Each ``step(closure)`` runs up to ``max_iter`` iterations. An iteration takes the
    direction :math:`d = -H g`, where :math:`H` is the inverse Hessian estimate built by the
    two-loop recursion from the last ``history_size`` pairs
    :math:`s_k = \theta_{k+1} - \theta_k`, :math:`y_k = g_{k+1} - g_k` (a pair is kept when
    :math:`y^\top s > 10^{-10}`; the initial scaling is :math:`y^\top s / y^\top y`), then
    moves :math:`\theta \leftarrow \theta + t d` with :math:`t = \gamma` (the first iteration
    ever uses :math:`t = \min(1, 1/\lVert g\rVert_1)\gamma`) or the step found by a strong
    Wolfe line search. It stops early when :math:`\max|g| \le` ``tolerance_grad``, when the
    step or the loss change is below ``tolerance_change``, or after ``max_eval`` closure
    evaluations.

    Args:
        params (iterable): parameters to optimize (one group only).
        lr (float or Tensor): learning rate :math:`\gamma` (default: 1).
        max_iter (int): iterations per ``step`` (default: 20).
        max_eval (int): closure evaluations per ``step`` (default: ``max_iter * 5 // 4``).
        tolerance_grad (float): first-order optimality tolerance (default: 1e-7).
        tolerance_change (float): tolerance on loss and parameter changes (default: 1e-9).
        history_size (int): number of correction pairs kept (default: 100).
        line_search_fn (str): ``None`` or ``"strong_wolfe"`` (default: None).

    State (kept on the first parameter): ``func_evals``, ``n_iter``, ``d``, ``t``,
    ``old_dirs``, ``old_stps``, ``ro``, ``H_diag``, ``prev_flat_grad``, ``prev_loss``, ``al``.

    Example:
        >>> import ember
        >>> w = ember.tensor([1.0, -2.0], requires_grad=True)
        >>> opt = ember.optim.LBFGS([w], line_search_fn="strong_wolfe")
        >>> def closure():
        ...     opt.zero_grad()
        ...     loss = ((w - 3) ** 2).sum()
        ...     loss.backward()
        ...     return loss
        >>> _ = opt.step(closure)
        >>> [round(v, 4) for v in w.tolist()]
        [3.0, 3.0]
    """

    def __init__(self, params, lr=1, max_iter=20, max_eval=None, tolerance_grad=1e-7,
                 tolerance_change=1e-9, history_size=100, line_search_fn=None):
        _check_lr(lr)
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        defaults = dict(lr=lr, max_iter=max_iter, max_eval=max_eval,
                        tolerance_grad=tolerance_grad, tolerance_change=tolerance_change,
                        history_size=history_size, line_search_fn=line_search_fn)
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        self._params = self.param_groups[0]["params"]

    def __setstate__(self, state):
        super().__setstate__(state)
        self._params = self.param_groups[0]["params"]

    # -- the flat vector -------------------------------------------------------------------
    def _flat_grad(self):
        """All gradients as one real vector (zeros for parameters without one)."""
        xp = self._params[0]._device.xp
        return xp.concatenate([real_view(xp.ascontiguousarray(p.grad._data))
                               if p.grad is not None else
                               real_view(xp.zeros(p._data.shape, dtype=p._data.dtype))
                               for p in self._params])

    def _add_grad(self, t, d):
        """``params += t * d`` (``d`` split back into the parameters' shapes)."""
        offset = 0
        for p in self._params:
            x = p._data
            if x.dtype.kind == "c":
                x = real_view(x)
            n = x.size
            x += (d[offset:offset + n] * t).reshape(x.shape)
            p._bump()
            offset += n

    def _set_params(self, arrays):
        for p, a in zip(self._params, arrays):
            p._data[...] = a
            p._bump()

    def _directional_evaluate(self, closure, x, t, d):
        self._add_grad(t, d)
        loss = float(self._eval_closure(closure))
        flat_grad = self._flat_grad()
        self._set_params(x)
        return loss, flat_grad

    # -- the step --------------------------------------------------------------------------
    def step(self, closure):
        """Run up to ``max_iter`` L-BFGS iterations; returns the loss before the first one.

        Args:
            closure (callable): re-evaluates the model (zero grads, forward, ``backward``)
                and returns the loss. Required: L-BFGS evaluates it several times.
        """
        group = self.param_groups[0]
        lr = _scalar(group["lr"])
        max_iter, max_eval = group["max_iter"], group["max_eval"]
        tol_grad, tol_change = group["tolerance_grad"], group["tolerance_change"]
        line_search_fn, history_size = group["line_search_fn"], group["history_size"]

        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)
        orig_loss = self._eval_closure(closure)
        loss = float(orig_loss)
        evals = 1
        state["func_evals"] += 1
        flat_grad = self._flat_grad()
        if abs(flat_grad).max() <= tol_grad:
            return orig_loss

        s = {k: _unwrap(state.get(k)) for k in _TENSOR_KEYS}
        d, t, H_diag = s["d"], s["t"], s["H_diag"]
        old_dirs, old_stps, ro = s["old_dirs"], s["old_stps"], s["ro"]
        prev_flat_grad, prev_loss, al = s["prev_flat_grad"], state.get("prev_loss"), s["al"]

        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1
            if state["n_iter"] == 1:
                d = -flat_grad
                old_dirs, old_stps, ro = [], [], []
                H_diag = 1
            else:
                y = flat_grad - prev_flat_grad
                step = d * t
                ys = y.dot(step)
                if ys > 1e-10:               # keep the pair only when curvature is positive
                    if len(old_dirs) == history_size:
                        old_dirs.pop(0)
                        old_stps.pop(0)
                        ro.pop(0)
                    old_dirs.append(y)
                    old_stps.append(step)
                    ro.append(1.0 / ys)
                    H_diag = ys / y.dot(y)
                if al is None:
                    al = [None] * history_size
                    state["al"] = None       # keeps PyTorch's key order; filled in below
                d = _two_loop(flat_grad, old_dirs, old_stps, ro, H_diag, al)
            prev_flat_grad = flat_grad.copy()
            prev_loss = loss
            t = min(1.0, 1.0 / abs(flat_grad).sum()) * lr if state["n_iter"] == 1 else lr
            gtd = flat_grad.dot(d)
            if gtd > -tol_change:           # not a descent direction
                break

            ls_evals = 0
            if line_search_fn is not None:
                if line_search_fn != "strong_wolfe":
                    raise RuntimeError("only 'strong_wolfe' is supported")
                x0 = [p._data.copy() for p in self._params]

                def obj(x, t, d):
                    return self._directional_evaluate(closure, x, t, d)
                loss, flat_grad, t, ls_evals = _strong_wolfe(obj, x0, t, d, loss, flat_grad,
                                                             gtd, max_ls=max_eval - evals)
                self._add_grad(t, d)
                opt_cond = abs(flat_grad).max() <= tol_grad
            else:
                self._add_grad(t, d)
                opt_cond = False
                if n_iter != max_iter:       # re-evaluate, except after the last iteration
                    loss = float(self._eval_closure(closure))
                    flat_grad = self._flat_grad()
                    opt_cond = abs(flat_grad).max() <= tol_grad
                    ls_evals = 1
            evals += ls_evals
            state["func_evals"] += ls_evals

            if n_iter == max_iter or evals >= max_eval or opt_cond:
                break
            if abs(d * t).max() <= tol_change or abs(loss - prev_loss) < tol_change:
                break

        dev = self._params[0]._device
        for k, v in dict(d=d, t=t, old_dirs=old_dirs, old_stps=old_stps, ro=ro, H_diag=H_diag,
                         prev_flat_grad=prev_flat_grad, al=al).items():
            if v is not None or k != "al":
                state[k] = _wrap_value(v, dev)
        state["prev_loss"] = prev_loss
        return orig_loss


def _two_loop(g, old_dirs, old_stps, ro, H_diag, al):
    """The L-BFGS direction ``-H g`` by the two-loop recursion (fills ``al``)."""
    q = -g
    for i in range(len(old_dirs) - 1, -1, -1):
        al[i] = old_stps[i].dot(q) * ro[i]
        q -= old_dirs[i] * al[i]
    r = q * H_diag
    for i in range(len(old_dirs)):
        be_i = old_dirs[i].dot(r) * ro[i]
        r += old_stps[i] * (al[i] - be_i)
    return r


def _wrap_value(v, dev):
    """State values as PyTorch keeps them: arrays and array scalars become tensors."""
    if isinstance(v, list):
        return [_wrap_value(a, dev) for a in v]
    if v is None or isinstance(v, (int, float)) and not isinstance(v, np.generic):
        return v
    return _wrap(dev.xp.asarray(v), dev)


def _unwrap(v):
    if isinstance(v, list):
        return [_unwrap(a) for a in v]
    if isinstance(v, Tensor):
        return v._data[()] if v._data.ndim == 0 else v._data
    return v
