"""The documentation site (``docs/``, ``mkdocs.yml``): its reference covers every public
name, its Python blocks run, and the README's links to it lead somewhere.

``mkdocs build --strict`` itself (every page builds, every link and anchor resolves, every
docstring renders) runs in ``.ci/run``. A Python block is a complete program, run in a
fresh folder (with the shipped ``fixtures/`` beside it), unless a ``<!-- fragment: ... -->``
comment right above it says it is a fragment; fragments are only compiled.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import eventstream.adapters
import pytest

import eventstream
import eventstream.testing

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.rglob("*.md"))


def python_blocks() -> list[tuple[str, str, bool]]:
    """``(where, code, is_fragment)`` of every Python block of the pages."""
    found = []
    for page in PAGES:
        lines = page.read_text().splitlines()
        for index, line in enumerate(lines):
            if line.strip() != "```python":
                continue
            end = lines.index("```", index + 1)
            before = next((x for x in reversed(lines[:index]) if x.strip()), "")
            fragment = bool(re.fullmatch(r"<!-- fragment: .* -->", before.strip()))
            where = f"{page.relative_to(ROOT)}:{index + 1}"
            found.append((where, "\n".join(lines[index + 1 : end]) + "\n", fragment))
    return found


BLOCKS = python_blocks()


def test_the_reference_documents_every_public_name() -> None:
    documented = {
        match
        for page in (DOCS / "reference").glob("*.md")
        for match in re.findall(r"^::: ([\w.]+)$", page.read_text(), re.M)
    }
    for module in (eventstream, eventstream.adapters, eventstream.testing):
        names = {f"{module.__name__}.{name}" for name in module.__all__}
        assert names - documented == set(), module.__name__
    public = {
        f"{module.__name__}.{name}"
        for module in (eventstream, eventstream.adapters, eventstream.testing)
        for name in module.__all__
    }
    assert documented - public == {"eventstream.testing"}  # the kit's own introduction


def test_every_page_is_in_the_navigation() -> None:
    config = (ROOT / "mkdocs.yml").read_text()
    nav = config.split("\nnav:\n", 1)[1].split("\n\n", 1)[0]
    listed = set(re.findall(r"([\w/-]+\.md)$", nav, re.M))
    assert {str(page.relative_to(DOCS)) for page in PAGES} == listed


@pytest.mark.parametrize(
    ("where", "code", "fragment"), BLOCKS, ids=[where for where, _, _ in BLOCKS]
)
def test_python_block_runs(where: str, code: str, fragment: bool, tmp_path: Path) -> None:
    if fragment:  # compiled only (top-level await allowed: it shows a call)
        compile(code, where, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
        return
    (tmp_path / "fixtures").symlink_to(ROOT / "fixtures")
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_the_readmes_links_lead_to_pages_and_files() -> None:
    readme = (ROOT / "README.md").read_text()
    links = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", readme)
    local = [link for link in links if not re.match(r"\w+://", link)]
    assert any(link.startswith("docs/") for link in local)
    assert [link for link in local if not (ROOT / link).exists()] == []
    # Readers are sent to pages, not to private modules.
    assert re.findall(r"`eventstream/_\w+\.py`", readme) == []
