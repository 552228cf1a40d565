"""The README's example runs as written (in a temporary directory)."""

import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_readme_example_runs(tmp_path, monkeypatch):
    text = open(os.path.join(ROOT, "README.md")).read()
    code = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    monkeypatch.chdir(tmp_path)
    scope = {}
    exec(compile(code, "README.md", "exec"), scope)
    assert scope["loss"].item() < 0.3
    assert abs(scope["gg"].item() - (-0.7269)) < 1e-3
    assert (tmp_path / "model.pt").exists()
