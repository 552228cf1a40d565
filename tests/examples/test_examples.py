"""The examples train to their stated quality, checkpoint, and resume exactly."""

import os
import sys

import numpy as np
import pytest

import ember

pytest.importorskip("sklearn")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)
pytestmark = pytest.mark.slow


def _run(module, monkeypatch, *argv):
    import importlib
    mod = importlib.import_module(f"examples.{module}")
    monkeypatch.setattr(sys, "argv", [mod.__file__, "--quiet", *argv])
    return mod.main()


def test_mlp_digits_reaches_target(tmp_path, monkeypatch):
    acc = _run("mlp_digits", monkeypatch, "--out", str(tmp_path))
    assert acc >= 0.97
    assert (tmp_path / "loss.png").stat().st_size > 1000
    assert (tmp_path / "checkpoint.pt").exists()


def test_resume_continues_exactly(tmp_path, monkeypatch):
    straight, split = tmp_path / "straight", tmp_path / "split"
    _run("mlp_digits", monkeypatch, "--out", str(straight), "--epochs", "3")
    _run("mlp_digits", monkeypatch, "--out", str(split), "--epochs", "3", "--stop-after", "2")
    _run("mlp_digits", monkeypatch, "--out", str(split), "--epochs", "3", "--resume")
    a = ember.load(straight / "checkpoint.pt")
    b = ember.load(split / "checkpoint.pt")
    assert a["epoch"] == b["epoch"] == 2
    np.testing.assert_array_equal(a["losses"], b["losses"])
    for k in a["model"]:
        np.testing.assert_array_equal(a["model"][k].numpy(), b["model"][k].numpy())


def test_convnet_digits_reaches_target(tmp_path, monkeypatch):
    assert _run("convnet_digits", monkeypatch, "--out", str(tmp_path)) >= 0.97


def test_vae_digits_reaches_target(tmp_path, monkeypatch):
    assert _run("vae_digits", monkeypatch, "--out", str(tmp_path), "--epochs", "15") < 30


def test_char_gpt_learns(tmp_path, monkeypatch):
    assert _run("char_gpt", monkeypatch, "--out", str(tmp_path)) < 1.0


def test_lstm_lm_learns(tmp_path, monkeypatch):
    assert _run("lstm_lm", monkeypatch, "--out", str(tmp_path)) < 1.2


def test_gan_gp_covers_modes(tmp_path, monkeypatch):
    modes, frac = _run("gan_gp", monkeypatch, "--out", str(tmp_path))
    assert modes == 8 and frac >= 0.75
