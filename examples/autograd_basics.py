"""Autograd without nn: fit a tiny tanh network by hand, then a gradient of a gradient."""

import ember as torch

torch.manual_seed(0)
x = torch.linspace(-2, 2, 64).unsqueeze(1)
y = torch.sin(3 * x) + 0.1 * torch.randn(64, 1)
w1 = (torch.randn(1, 32) * 0.5).requires_grad_()
b1 = torch.zeros(32, requires_grad=True)
w2 = (torch.randn(32, 1) * 0.2).requires_grad_()
for step in range(301):
    pred = torch.tanh(x @ w1 + b1) @ w2
    loss = ((pred - y) ** 2).mean()
    loss.backward()
    with torch.no_grad():
        for p in (w1, b1, w2):
            p -= 0.1 * p.grad
            p.grad = None
    if step % 100 == 0:
        print(f"step {step:3d}  loss {loss.item():.4f}")
# gradients of gradients: d/dx of d/dx tanh(x) at 0.5
t = torch.tensor(0.5, requires_grad=True)
(g,) = torch.autograd.grad(torch.tanh(t), t, create_graph=True)
(gg,) = torch.autograd.grad(g, t)
print(f"tanh'(0.5) = {g.item():.4f}, tanh''(0.5) = {gg.item():.4f}")
