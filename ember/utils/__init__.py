"""``ember.utils``: data loading (``data``) and activation checkpointing (``checkpoint``)."""

from ember.utils import data, checkpoint  # noqa: F401
