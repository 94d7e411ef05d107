"""The package as ``pip install .`` builds it: no warnings, the license, the demo page,
``eventstream.adapters`` inside; and importable from the repository's root after a
regular (not editable) install, where ``./eventstream`` shadows the installed package.

The wheel is built for real (``pip wheel``, in pip's isolated build environment: it
needs the package index, as any install does) and installed into a fresh virtual
environment; LangChain comes from this environment's site-packages on ``PYTHONPATH``
(which, unlike a site directory, runs no ``.pth`` file: the editable install's finder
stays out).
"""

from __future__ import annotations

import email
import os
import re
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

import eventstream

ROOT = Path(__file__).resolve().parents[1]


def quiet_env() -> dict[str, str]:
    # PYTHONDONTWRITEBYTECODE makes setuptools warn that it does not byte-compile.
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The wheel, and what building it printed."""
    out = tmp_path_factory.mktemp("wheel")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-v", "-w", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=600,
        env=quiet_env(),
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (wheel,) = out.glob("eventstream-*.whl")
    return wheel, result.stdout + result.stderr


def test_building_prints_no_warning(built: tuple[Path, str]) -> None:
    _, log = built
    problems = [
        line
        for line in log.splitlines()
        if re.search(r"warn|deprecat|is absent", line, re.I)
        # pip's own note about this machine's index configuration, not the package's
        and not re.search(r"WARNING: Location '.*' is ignored", line)
    ]
    assert problems == []


def test_the_wheel_holds_the_license_the_page_and_the_adapters(built: tuple[Path, str]) -> None:
    wheel, _ = built
    names = set(zipfile.ZipFile(wheel).namelist())
    dist_info = f"eventstream-{eventstream.__version__}.dist-info"
    assert f"{dist_info}/licenses/LICENSE" in names
    assert {
        "eventstream/__init__.py",
        "eventstream/py.typed",
        "eventstream/static/index.html",
        "eventstream/adapters/__init__.py",
        "eventstream/_readers/__init__.py",
        "eventstream/testing/__init__.py",
    } <= names
    assert not any(name.startswith(("adapters/", "tests/", "fixtures/")) for name in names)
    metadata = email.message_from_bytes(zipfile.ZipFile(wheel).read(f"{dist_info}/METADATA"))
    assert metadata["License-Expression"] == "MIT"
    assert metadata["Version"] == eventstream.__version__
    extras = set(metadata.get_all("Provides-Extra") or [])
    assert {"demo", "serve", "docs", "dev"} <= extras


@pytest.fixture(scope="module")
def installed(built: tuple[Path, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with the wheel installed (its dependencies from this
    environment's site-packages, on PYTHONPATH)."""
    wheel, _ = built
    home = tmp_path_factory.mktemp("venv")
    venv.EnvBuilder(with_pip=False).create(home)
    python = home / "bin" / "python"
    pip = [sys.executable, "-m", "pip", "--python", str(python)]
    subprocess.run(
        [*pip, "install", "-q", "--no-deps", str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return python


def run_installed(python: Path, code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**quiet_env(), "PYTHONPATH": sysconfig.get_paths()["purelib"]}
    return subprocess.run(
        [str(python), "-c", code], capture_output=True, text=True, cwd=cwd, env=env, timeout=120
    )


CODE = (
    "import eventstream, eventstream.adapters as a; "
    "print(eventstream.__file__); print(a.__file__); print(a.RunRegistry.__module__)"
)


def test_the_installed_package_works_away_from_the_checkout(
    installed: Path, tmp_path: Path
) -> None:
    result = run_installed(installed, CODE, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    package, adapters, module = result.stdout.split()
    assert Path(package).is_relative_to(installed.parents[1])
    assert Path(adapters) == Path(package).parent / "adapters" / "__init__.py"
    assert module == "eventstream.adapters._runs"


def test_from_the_checkouts_root_the_adapters_are_found_too(installed: Path) -> None:
    """From the root, ``./eventstream`` comes first on ``sys.path`` (Python puts the
    current folder there): the checkout's own code runs, and its top-level
    ``adapters/`` is ``eventstream.adapters``, as in an editable install."""
    result = run_installed(installed, CODE, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    package, adapters, _ = result.stdout.split()
    assert Path(package) == ROOT / "eventstream" / "__init__.py"
    assert Path(adapters) == ROOT / "adapters" / "__init__.py"
    # Only that one name: the checkout's other folders do not become eventstream.*.
    other = run_installed(installed, "import eventstream.tests", cwd=ROOT)
    assert "No module named 'eventstream.tests'" in other.stderr
