"""Issue 18's house rules, kept: every package says its job and what it may import, the
README's layout names every package, and the import contract covers them all and holds."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ENGINE = REPO / "engine"
PACKAGES = sorted(
    p.parent.relative_to(REPO).as_posix().replace("/", ".")
    for p in ENGINE.rglob("__init__.py")
    if "__pycache__" not in p.parts and p.parent.name != "reference"
)


def docstring(package: str) -> str:
    init = REPO / package.replace(".", "/") / "__init__.py"
    return ast.get_docstring(ast.parse(init.read_text())) or ""


@pytest.mark.parametrize("package", PACKAGES)
def test_every_package_says_its_job_and_what_it_may_import(package):
    text = docstring(package)
    assert len(text) > 40, f"{package}: no docstring saying its job"
    assert re.search(r"\bimport", text, re.I), (
        f"{package}: its docstring does not say what it may import"
    )


def test_the_readme_layout_names_every_package():
    readme = (REPO / "README.md").read_text()
    layout = readme[readme.index("## Layout") : readme.index("## Development")]
    top = sorted({p.split(".")[1] for p in PACKAGES if p.count(".") >= 1})
    missing = [name for name in top if f"engine/{name}/" not in layout]
    assert not missing, f"README's layout does not name engine/{missing}"


def test_the_import_contract_covers_every_engine_package():
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]
    layers = next(c for c in config["contracts"] if c["type"] == "layers")["layers"]
    named = {m.strip() for layer in layers for m in layer.split("|")}
    top = {".".join(p.split(".")[:2]) for p in PACKAGES if p.count(".") >= 1}
    assert top <= named, f"packages outside the layers contract: {sorted(top - named)}"


def test_imports_go_one_way():
    """The contract itself (the same command .ci/run runs)."""
    exe = shutil.which("lint-imports")
    if exe is None:
        pytest.skip("import-linter not installed (pip install -e '.[dev]')")
    run = subprocess.run([exe], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
