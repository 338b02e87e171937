"""The top-level folders import as one ``docray`` namespace from both editable and wheel installs."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import docray

ROOT = Path(__file__).resolve().parents[1]
MAPPED = {"docray": "docray", "operators": "docray/operators", "pipelines": "docray/pipelines",
          "models": "docray/models", "cluster": "docray/cluster"}  # fmt: skip


def source_modules() -> set[str]:
    """Every .py / .yaml file that must ship, as its path inside the wheel."""
    found = set()
    for folder, prefix in MAPPED.items():
        for path in (ROOT / folder).rglob("*"):
            if path.suffix in (".py", ".yaml") and "__pycache__" not in path.parts:
                found.add(f"{prefix}/{path.relative_to(ROOT / folder).as_posix()}")
    return found


def test_editable_install_maps_folders_into_the_namespace():
    import docray.operators.base
    import docray.pipelines.spec

    assert Path(docray.operators.base.__file__).resolve() == ROOT / "operators" / "base.py"
    assert Path(docray.pipelines.spec.__file__).resolve() == ROOT / "pipelines" / "spec.py"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    pytest.importorskip("setuptools")
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", str(out), str(ROOT)],
        check=True,
    )
    return next(out.glob("docray-*.whl"))


def test_wheel_ships_every_module_and_pipeline(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = source_modules() - names
    assert not missing, f"not in the wheel (add the package to pyproject.toml): {sorted(missing)}"
    assert "docray/pipelines/fast.yaml" in names
    assert not any(n.startswith(("operators/", "pipelines/", "tests/")) for n in names)


def test_wheel_install_imports_and_loads_bundled_pipelines(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target), str(wheel)], check=True)
    code = (
        "import docray, docray.operators.base, docray.pipelines.plan as p, docray.pipelines.spec as s;"
        "print(docray.__file__);"
        "print([st.name for st in p.build_plan(s.load_pipeline('fast')).stages])"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env={"PYTHONPATH": str(target)}, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    first, second = result.stdout.splitlines()
    assert Path(first).resolve().is_relative_to(target.resolve())
    assert second == str(["ingest", "render", "assemble", "quality"])
    assert docray.__version__
