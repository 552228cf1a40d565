"""ember.save / ember.load: round trips, atomic writes, corrupt files, PyTorch checkpoints."""

import collections
import io
import os
import pickle
import zipfile

import numpy as np
import pytest

import ember


def _roundtrip(obj, tmp_path):
    path = tmp_path / "obj.pt"
    ember.save(obj, path)
    return ember.load(path)


def test_roundtrip_nested_values(tmp_path):
    obj = {"w": ember.randn(2, 3), "i": ember.arange(5), "b": ember.tensor([True, False]),
           "bf": ember.ones(3, dtype=ember.bfloat16), "h": ember.ones(2, dtype=ember.float16),
           "c64": ember.randn(4, dtype=ember.complex64),
           "c128": ember.randn(2, 2, dtype=ember.complex128), "scalar": ember.tensor(3.5),
           "step": 7, "lr": 0.25, "name": "adam", "none": None, "flag": True,
           "inf": float("inf"), "tuple": (1, "a", [2.0]), 3: "int key",
           "od": collections.OrderedDict([("z", 1), ("a", 2)]), "dtype": ember.float64}
    got = _roundtrip(obj, tmp_path)
    assert set(got) == set(obj)
    for k, v in obj.items():
        if isinstance(v, ember.Tensor):
            assert got[k].dtype == v.dtype and got[k].shape == v.shape
            np.testing.assert_array_equal(got[k].numpy().astype(np.complex128),
                                          v.numpy().astype(np.complex128))
        else:
            assert got[k] == v
    assert isinstance(got["od"], collections.OrderedDict)
    assert list(got["od"]) == ["z", "a"]
    assert isinstance(got["tuple"], tuple)


def test_shared_tensor_stays_shared(tmp_path):
    t = ember.randn(3)
    got = _roundtrip({"a": t, "b": t}, tmp_path)
    assert got["a"] is got["b"]


def test_requires_grad_and_parameter(tmp_path):
    from ember.nn import Parameter
    obj = {"p": Parameter(ember.randn(2)), "g": ember.randn(2).requires_grad_()}
    got = _roundtrip(obj, tmp_path)
    assert isinstance(got["p"], Parameter) and got["p"].requires_grad
    assert got["g"].requires_grad


def test_file_object_roundtrip():
    buf = io.BytesIO()
    ember.save([ember.ones(2), 3], buf)
    buf.seek(0)
    got = ember.load(buf)
    assert got[1] == 3 and got[0].tolist() == [1.0, 1.0]


def test_unsupported_object_is_refused_and_nothing_written(tmp_path):
    path = tmp_path / "x.pt"
    with pytest.raises(TypeError, match="cannot save"):
        ember.save({"f": lambda: 1}, path)
    assert not path.exists()


def test_atomic_write_keeps_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "ck.pt"
    ember.save({"v": 1}, path)
    before = path.read_bytes()

    def crash(*a, **k):
        raise OSError("disk full")
    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        ember.save({"v": 2}, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["ck.pt"]  # no temp file left behind


def test_truncated_and_corrupt_files(tmp_path):
    path = tmp_path / "ck.pt"
    ember.save({"w": ember.randn(100)}, path)
    data = path.read_bytes()
    (tmp_path / "trunc.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(RuntimeError, match="corrupt|truncated"):
        ember.load(tmp_path / "trunc.pt")
    (tmp_path / "junk.pt").write_bytes(b"\x05" * 5)
    with pytest.raises(RuntimeError, match="not an ember checkpoint"):
        ember.load(tmp_path / "junk.pt")
    (tmp_path / "hdr.pt").write_bytes((10 ** 9).to_bytes(8, "little") + b"{}")
    with pytest.raises(RuntimeError, match="truncated"):
        ember.load(tmp_path / "hdr.pt")


def test_map_location(tmp_path):
    got = _roundtrip({"w": ember.ones(2)}, tmp_path)
    assert got["w"].device == ember.device("cpu")
    path = tmp_path / "m.pt"
    ember.save({"w": ember.ones(2)}, path)
    assert ember.load(path, map_location="cpu")["w"].device.type == "cpu"
    called = []
    ember.load(path, map_location=lambda t, loc: called.append(loc) or t)
    assert called == ["cpu"]


def test_loads_torch_state_dict(tmp_path):
    torch = pytest.importorskip("torch")
    m = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    sd = m.state_dict()
    path = tmp_path / "torch.pt"
    torch.save({"model": sd, "epoch": 3, "view": torch.arange(10.0)[2:8:2],
                "bf": torch.ones(2, dtype=torch.bfloat16)}, path)
    got = ember.load(path)
    assert got["epoch"] == 3
    for k, v in sd.items():
        np.testing.assert_array_equal(got["model"][k].numpy(), v.numpy())
        assert str(got["model"][k].dtype).split(".")[-1] == str(v.dtype).split(".")[-1]
    assert got["view"].tolist() == [2.0, 4.0, 6.0]
    assert got["bf"].dtype == ember.bfloat16


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned > /tmp/ember_pwned",))


def test_torch_zip_with_code_is_refused(tmp_path):
    path = tmp_path / "evil.pt"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("evil/data.pkl", pickle.dumps({"x": _Evil()}, protocol=2))
    if os.path.exists("/tmp/ember_pwned"):
        os.unlink("/tmp/ember_pwned")
    with pytest.raises(pickle.UnpicklingError, match="refusing to load global"):
        ember.load(path)
    assert not os.path.exists("/tmp/ember_pwned")
