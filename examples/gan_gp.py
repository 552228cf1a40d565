"""A GAN with a gradient penalty on a ring of 8 Gaussians.

The discriminator uses the R1 penalty: ``gamma / 2 * ||grad_x D(x)||^2`` on real data
(Mescheder et al., 2018), with the non-saturating GAN loss. The penalty is
differentiated again in ``backward()``, so it needs gradients of gradients
(``autograd.grad(..., create_graph=True)``). Target: all 8 modes covered and at least
75% of generated points within 0.5 of a mode centre.
"""

import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

import ember  # noqa: E402
from ember import nn  # noqa: E402
import ember.nn.functional as F  # noqa: E402
from examples._common import parse_args, fit  # noqa: E402

CENTRES = np.array([[2 * math.cos(a), 2 * math.sin(a)]
                    for a in np.linspace(0, 2 * math.pi, 9)[:-1]], dtype=np.float32)


def real_batch(rng, n):
    return ember.tensor(CENTRES[rng.integers(0, 8, n)] +
                        0.05 * rng.standard_normal((n, 2)).astype(np.float32))


def mlp(i, o, h=128):
    return nn.Sequential(nn.Linear(i, h), nn.ReLU(), nn.Linear(h, h), nn.ReLU(), nn.Linear(h, o))


def r1_penalty(disc, real):
    """``E ||grad_x D(x)||^2`` over real samples, kept differentiable (create_graph)."""
    real = real.detach().requires_grad_(True)
    out = disc(real)
    (g,) = ember.autograd.grad(out.sum(), real, create_graph=True)
    return out, (g ** 2).sum(1).mean()


def mode_stats(gen, n=2000):
    """(modes with at least one nearby sample, fraction of samples near some mode)."""
    with ember.no_grad():
        pts = gen(ember.randn(n, 2)).numpy()
    d = np.linalg.norm(pts[:, None] - CENTRES[None], axis=2)
    near = d.min(1) < 0.5
    return len(set(d.argmin(1)[near].tolist())), float(near.mean())


def main():
    args = parse_args("GAN with R1 gradient penalty on 8 Gaussians", epochs=8, steps=100,
                      batch_size=256, lr=0.001, gamma=1.0)
    ember.manual_seed(args.seed)
    gen, disc = mlp(2, 2), mlp(2, 1)
    g_opt = ember.optim.Adam(gen.parameters(), lr=args.lr, betas=(0.5, 0.99))
    d_opt = ember.optim.Adam(disc.parameters(), lr=args.lr, betas=(0.5, 0.99))

    def step(rng):
        d_real, penalty = r1_penalty(disc, real_batch(rng, args.batch_size))
        fake = gen(ember.randn(args.batch_size, 2)).detach()
        d_loss = F.softplus(-d_real).mean() + F.softplus(disc(fake)).mean() + \
            args.gamma / 2 * penalty
        d_opt.zero_grad()
        d_loss.backward()
        d_opt.step()
        g_loss = F.softplus(-disc(gen(ember.randn(args.batch_size, 2)))).mean()
        g_opt.zero_grad()
        g_loss.backward()
        g_opt.step()
        return d_loss.item(), args.batch_size

    def make_loader(epoch):
        rng = np.random.default_rng(args.seed * 1000 + epoch)
        return [rng] * args.steps

    def evaluate():
        modes, frac = mode_stats(gen)
        return f"modes {modes}/8, near a mode {frac:.0%}"

    fit(args, dict(gen=gen, disc=disc, g_opt=g_opt, d_opt=d_opt), make_loader, step,
        evaluate, "GAN + R1 penalty: discriminator loss")
    modes, frac = mode_stats(gen)
    print(f"final: {modes}/8 modes covered, {frac:.0%} of samples within 0.5 of a mode "
          f"(target 8 modes, >= 75%)")
    return modes, frac


if __name__ == "__main__":
    main()
