"""MkDocs hooks of the documentation site (``hooks:`` in ``mkdocs.yml``).

The API reference is read from the source by griffe (mkdocstrings), which finds packages
by their folders. ``adapters/`` installs as ``eventstream.adapters`` but sits at the top
of the repository, so the reference is read from ``build/docs-src``: a copy of the package laid
out as installed (links would not do: griffe follows them back to the checkout), made
again at each build (``mkdocs serve`` watches the sources and rebuilds).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from mkdocs.plugins import event_priority

ROOT = Path(__file__).resolve().parent.parent
LAYOUT = ROOT / "build" / "docs-src"


def installed_layout() -> Path:
    """``build/docs-src/eventstream``: ``eventstream/`` with ``adapters/`` inside."""
    package = LAYOUT / "eventstream"
    shutil.rmtree(LAYOUT, ignore_errors=True)
    skip = shutil.ignore_patterns("__pycache__")
    shutil.copytree(ROOT / "eventstream", package, ignore=skip)
    shutil.copytree(ROOT / "adapters", package / "adapters", ignore=skip)
    return LAYOUT


@event_priority(100)  # before mkdocstrings reads its `paths`, which must exist by then
def on_config(config: Any) -> Any:
    installed_layout()
    return config
