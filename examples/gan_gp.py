"""A Wasserstein GAN with gradient penalty (WGAN-GP) on a ring of 8 Gaussians.

The critic's penalty ``(||grad_x D(x_hat)|| - 1)^2`` needs gradients of gradients
(``autograd.grad(..., create_graph=True)``). Target: at least 6 of the 8 modes covered
and at least 70% of generated points within 0.5 of a mode centre.
"""

import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

import ember  # noqa: E402
from ember import nn  # noqa: E402
from examples._common import parse_args, fit  # noqa: E402

CENTRES = np.array([[2 * math.cos(a), 2 * math.sin(a)]
                    for a in np.linspace(0, 2 * math.pi, 9)[:-1]], dtype=np.float32)


def real_batch(rng, n):
    return ember.tensor(CENTRES[rng.integers(0, 8, n)] +
                        0.05 * rng.standard_normal((n, 2)).astype(np.float32))


def mlp(i, o, h=128):
    return nn.Sequential(nn.Linear(i, h), nn.ReLU(), nn.Linear(h, h), nn.ReLU(), nn.Linear(h, o))


def gradient_penalty(critic, real, fake):
    eps = ember.rand(real.shape[0], 1)
    x = (eps * real + (1 - eps) * fake).requires_grad_(True)
    (g,) = ember.autograd.grad(critic(x).sum(), x, create_graph=True)
    return ((g.norm(dim=1) - 1) ** 2).mean()


def mode_stats(gen, n=2000):
    with ember.no_grad():
        pts = gen(ember.randn(n, 2)).numpy()
    d = np.linalg.norm(pts[:, None] - CENTRES[None], axis=2)
    near = d.min(1) < 0.5
    return len(set(d.argmin(1)[near].tolist())), float(near.mean())


def main():
    args = parse_args("WGAN-GP on 8 Gaussians", epochs=10, steps=100, batch_size=256,
                      lr=0.001, critic_steps=5)
    ember.manual_seed(args.seed)
    gen, critic = mlp(2, 2), mlp(2, 1)
    g_opt = ember.optim.Adam(gen.parameters(), lr=args.lr, betas=(0.5, 0.9))
    c_opt = ember.optim.Adam(critic.parameters(), lr=args.lr, betas=(0.5, 0.9))

    def step(rng):
        for _ in range(args.critic_steps):  # critic steps per generator step
            real = real_batch(rng, args.batch_size)
            fake = gen(ember.randn(args.batch_size, 2)).detach()
            c_loss = critic(fake).mean() - critic(real).mean() + \
                10 * gradient_penalty(critic, real, fake)
            c_opt.zero_grad()
            c_loss.backward()
            c_opt.step()
        g_loss = -critic(gen(ember.randn(args.batch_size, 2))).mean()
        g_opt.zero_grad()
        g_loss.backward()
        g_opt.step()
        return c_loss.item(), args.batch_size

    def make_loader(epoch):
        rng = np.random.default_rng(args.seed * 1000 + epoch)
        return [rng] * args.steps

    def evaluate():
        modes, frac = mode_stats(gen)
        return f"modes {modes}/8, near a mode {frac:.0%}"

    fit(args, dict(gen=gen, critic=critic, g_opt=g_opt, c_opt=c_opt), make_loader, step,
        evaluate, "WGAN-GP critic loss")
    modes, frac = mode_stats(gen)
    print(f"final: {modes}/8 modes covered, {frac:.0%} of samples within 0.5 of a mode "
          f"(target >= 6 modes, >= 70%)")
    return modes, frac


if __name__ == "__main__":
    main()
