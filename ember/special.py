"""``ember.special``: PyTorch's torch.special namespace (being written)."""
