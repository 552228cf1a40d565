"""A variational autoencoder on scikit-learn's digits (64 pixels, latent size 8).

Loss: Bernoulli reconstruction (binary cross-entropy with logits, summed over pixels)
plus KL(q(z|x) || N(0, I)), per image. Target: test negative ELBO below 30 nats.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import ember  # noqa: E402
from ember import nn  # noqa: E402
import ember.nn.functional as F  # noqa: E402
from ember.utils.data import TensorDataset  # noqa: E402
from examples._common import parse_args, digits, epoch_loader, fit  # noqa: E402


class VAE(nn.Module):
    def __init__(self, d=64, hidden=256, latent=8):
        super().__init__()
        self.enc = nn.Sequential(nn.Linear(d, hidden), nn.ReLU(), nn.Linear(hidden, 2 * latent))
        self.dec = nn.Sequential(nn.Linear(latent, hidden), nn.ReLU(), nn.Linear(hidden, d))

    def forward(self, x):
        mu, logvar = self.enc(x).chunk(2, dim=1)
        z = mu + ember.randn_like(mu) * (0.5 * logvar).exp()  # reparameterisation
        return self.dec(z), mu, logvar


def neg_elbo(model, x):
    logits, mu, logvar = model(x)
    rec = F.binary_cross_entropy_with_logits(logits, x, reduction="sum")
    kl = -0.5 * (1 + logvar - mu ** 2 - logvar.exp()).sum()
    return (rec + kl) / x.shape[0]


def main():
    args = parse_args("VAE on digits", epochs=30, batch_size=64, lr=0.002)
    ember.manual_seed(args.seed)
    (xtr, _), (xte, _) = digits(args.seed)
    model = VAE()
    opt = ember.optim.Adam(model.parameters(), lr=args.lr)
    ds = TensorDataset(xtr)

    def step(batch):
        (x,) = batch
        loss = neg_elbo(model, x)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item(), len(x)

    def evaluate():
        with ember.no_grad():
            return f"test -ELBO {neg_elbo(model, xte).item():.2f}"

    fit(args, dict(model=model, opt=opt),
        lambda e: epoch_loader(ds, args.batch_size, args.seed, e), step, evaluate,
        "VAE on digits (-ELBO per image)")
    with ember.no_grad():
        final = neg_elbo(model, xte).item()
    print(f"final test -ELBO {final:.2f} nats per image (target < 30)")
    return final


if __name__ == "__main__":
    main()
