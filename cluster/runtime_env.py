"""What a submitted docray job takes to the cluster: its working directory, docray itself, the runtime env.

How docray gets onto the cluster (``--install``):

* ``py-modules`` (default): the ``docray`` package tree is uploaded with the job and put first on the
  ``PYTHONPATH`` of its driver and workers (Ray's ``py_modules`` with a directory). Fast (a ~250 KB zip,
  cached by content hash); docray's *dependencies* must already be on the cluster (``cluster/launcher.yaml``,
  ``cluster/Dockerfile`` install them). The tree is the ``docray/`` folder of a wheel (``--wheel``, or built
  with ``pip wheel --no-deps`` from the source checkout docray runs from, e.g. an editable install), or the
  installed package folder of a regular install. (Ray's ``py_modules`` with a ``.whl`` runs ``pip install --target``
  *with* dependencies, Ray included, so it is not used.)
* ``pip``: the wheel travels in the working directory and Ray's ``pip`` runtime env installs it, with its
  dependencies, into a virtualenv on every node (``${RAY_RUNTIME_ENV_CREATE_WORKING_DIR}/docray-*.whl``, so
  it works on a remote cluster). Ray clones the cluster's Python environment when that is itself a
  virtualenv (measured: ~45 s for a 1.7 GB venv on a loaded 2-core machine), otherwise it creates one with
  ``--system-site-packages``; dependencies already there are not reinstalled.
* ``none``: the cluster image already has the docray version you want.

A local pipeline YAML file is copied into the working directory and named by its file name in the
entrypoint (the job's current directory is its working directory); bundled names (``fast``) pass through.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

InstallMode = Literal["py-modules", "pip", "none"]
INSTALL_MODES: tuple[str, ...] = ("py-modules", "pip", "none")
WORKING_DIR_PLACEHOLDER = "${RAY_RUNTIME_ENV_CREATE_WORKING_DIR}"  # expanded by Ray on each node
JOB_MANIFEST = "docray_submit.json"  # written into every job's working directory (provenance)


class SubmitError(RuntimeError):
    """The job cannot be prepared or submitted; the message says why and what to do."""


def is_local_pipeline_file(pipeline: str) -> bool:
    """A pipeline argument naming an existing local YAML file (else it is a bundled name, e.g. ``fast``)."""
    path = Path(pipeline)
    return path.suffix in (".yaml", ".yml") and path.is_file()


# ----------------------------------------------------------------------------- docray itself


def source_checkout() -> Path | None:
    """The project folder when the imported docray runs from a source checkout (an editable install, or the
    checkout on ``PYTHONPATH``): the package folder's parent holds docray's ``pyproject.toml``. Else None."""
    root = installed_package_dir().parent
    pyproject = root / "pyproject.toml"
    if pyproject.is_file() and re.search(r'(?m)^name\s*=\s*"docray"\s*$', pyproject.read_text()):
        return root
    return None


def build_wheel(source_root: Path, dest: Path) -> Path:
    """``pip wheel --no-deps`` of ``source_root`` into ``dest``; setuptools' build folder goes under ``dest``
    too, so concurrent builds never share (or ship stale files from) the checkout's ``build/``."""
    dest.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", str(dest),
        "-C--build-option=build", f"-C--build-option=--build-base={dest / 'build'}", str(source_root),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True)
    wheels = sorted(dest.glob("docray-*.whl"))
    if result.returncode != 0 or not wheels:
        raise SubmitError(
            f"building the docray wheel from {source_root} failed (needs setuptools and wheel: "
            f"pip install 'docray[dev]'); give a built wheel with --wheel, or --install none.\n{result.stderr[-2000:]}"
        )
    shutil.rmtree(dest / "build", ignore_errors=True)
    return wheels[-1]


def installed_package_dir() -> Path:
    """The folder of the imported ``docray`` package."""
    import docray

    return Path(docray.__file__).resolve().parent


def unpack_package(wheel: Path, dest: Path) -> Path:
    """Extract the ``docray/`` package folder of ``wheel`` into ``dest``; returns ``dest/docray``."""
    with zipfile.ZipFile(wheel) as archive:
        members = [name for name in archive.namelist() if name.startswith("docray/")]
        if not members:
            raise SubmitError(f"{wheel} holds no docray/ package")
        archive.extractall(dest, members=members)
    return dest / "docray"


def docray_wheel(dest: Path, wheel: str | Path | None = None) -> Path:
    """The wheel to ship: ``wheel`` copied into ``dest``, else one built from the source checkout docray runs from."""
    dest.mkdir(parents=True, exist_ok=True)
    if wheel is not None:
        source = Path(wheel)
        if not source.is_file() or source.suffix != ".whl":
            raise SubmitError(f"--wheel {wheel}: no such .whl file")
        return Path(shutil.copy2(source, dest / source.name))
    root = source_checkout()
    if root is None:
        raise SubmitError(
            "docray does not run from a source checkout, so there is no project to build a wheel from: "
            "give one with --wheel (pip wheel --no-deps -w dist /path/to/docray), or use --install py-modules"
        )
    return build_wheel(root, dest)


def docray_package_tree(dest: Path, wheel: str | Path | None = None) -> Path:
    """A ``docray`` package folder under ``dest`` holding every docray module, for Ray's ``py_modules``."""
    if wheel is not None or source_checkout() is not None:
        with tempfile.TemporaryDirectory(prefix="docray-wheel-") as tmp:
            return unpack_package(docray_wheel(Path(tmp), wheel), dest)
    target = dest / "docray"
    shutil.copytree(installed_package_dir(), target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return target


# ----------------------------------------------------------------------------- staging and the runtime env


@dataclass
class StagedJob:
    """Local files prepared for one submission (under a temporary folder the caller removes)."""

    working_dir: Path  # uploaded as the job's working_dir: the pipeline copy, the wheel (pip), the manifest
    pipeline_arg: str  # what the entrypoint passes as PIPELINE: a file name in working_dir, or a bundled name
    package_dir: Path | None = None  # py-modules: the docray package folder
    wheel_name: str | None = None  # pip: the wheel's file name inside working_dir


def stage_job(root: Path, pipeline: str, install: InstallMode, *, wheel: str | Path | None = None) -> StagedJob:
    """Fill ``root`` with what the job needs: ``root/job`` (working_dir) and, for py-modules, ``root/modules/docray``."""
    if install not in INSTALL_MODES:
        raise SubmitError(f"unknown install mode {install!r}; choose from {', '.join(INSTALL_MODES)}")
    working_dir = root / "job"
    working_dir.mkdir(parents=True)
    staged = StagedJob(working_dir=working_dir, pipeline_arg=pipeline)
    if is_local_pipeline_file(pipeline):
        source = Path(pipeline)
        shutil.copy2(source, working_dir / source.name)
        staged.pipeline_arg = source.name
    if install == "py-modules":
        staged.package_dir = docray_package_tree(root / "modules", wheel)
    elif install == "pip":
        staged.wheel_name = docray_wheel(working_dir, wheel).name
    return staged


def _pip_packages(spec: Any) -> list[str]:
    if spec is None:
        return []
    if isinstance(spec, dict):
        return list(spec.get("packages") or [])
    if isinstance(spec, (list, tuple)):
        return list(spec)
    raise SubmitError(f"runtime env 'pip' must be a list or a mapping with 'packages', got {type(spec).__name__}")


def build_runtime_env(
    *,
    install: InstallMode = "py-modules",
    working_dir: str | Path | None = None,
    package_dir: str | Path | None = None,
    wheel_name: str | None = None,
    pip: list[str] | tuple[str, ...] = (),
    env_vars: dict[str, str] | None = None,
    base: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The job's Ray runtime env: ``base`` (a ``--runtime-env`` file) plus docray's working_dir, install and env.

    * ``py-modules``: ``package_dir`` (a folder named ``docray``) is appended to ``py_modules``;
    * ``pip``: ``${RAY_RUNTIME_ENV_CREATE_WORKING_DIR}/<wheel_name>`` comes first in ``pip`` (needs
      ``working_dir``, which holds the wheel), then ``base``'s packages, then ``pip``;
    * ``none``: nothing is installed; extra ``pip`` packages are still added.

    ``env_vars`` override ``base``'s. A ``base`` working_dir conflicts with docray's (raises SubmitError).
    """
    env: dict[str, Any] = json.loads(json.dumps(base or {}))  # a deep copy of plain YAML data
    if install not in INSTALL_MODES:
        raise SubmitError(f"unknown install mode {install!r}; choose from {', '.join(INSTALL_MODES)}")
    if working_dir is not None:
        if env.get("working_dir") not in (None, str(working_dir)):
            raise SubmitError(
                "the runtime env file sets working_dir, but docray submit uploads its own (the pipeline file, the "
                "wheel); put extra files in py_modules instead, or remove working_dir"
            )
        env["working_dir"] = str(working_dir)
    base_pip = env.pop("pip", None)
    packages = _pip_packages(base_pip)
    if install == "py-modules":
        if package_dir is None or Path(package_dir).name != "docray":
            raise SubmitError(f"py-modules needs the docray package folder, got {package_dir!r}")
        env["py_modules"] = [*env.get("py_modules", []), str(package_dir)]
    elif install == "pip":
        if not wheel_name or working_dir is None:
            raise SubmitError("pip install needs the wheel's file name and the working_dir that holds it")
        packages.insert(0, f"{WORKING_DIR_PLACEHOLDER}/{wheel_name}")
    packages += list(pip)
    if packages:  # a mapping keeps its pip options (pip_check, pip_version, ...)
        env["pip"] = {**base_pip, "packages": packages} if isinstance(base_pip, dict) else packages
    if env_vars:
        env["env_vars"] = {**env.get("env_vars", {}), **{str(k): str(v) for k, v in env_vars.items()}}
    return env
