"""What to install for the parts that need more than the core: one message, everywhere.

The core needs langchain-core and pydantic only. The extras (``pyproject.toml``):
``demo`` (LangChain and langchain-openai: ``eventstream demo`` and the test kit's
agents), ``serve`` (FastAPI, uvicorn, websockets and the demo's packages:
``eventstream serve`` and the HTTP adapters), ``docs`` (the documentation site).
"""

from __future__ import annotations

__all__ = ["install_hint", "missing"]


def install_hint(what: str, needs: str, extra: str) -> str:
    """``'<what> needs <needs>: pip install "eventstream[<extra>]"'``."""
    return f'{what} needs {needs}: pip install "eventstream[{extra}]"'


def missing(exc: ModuleNotFoundError, what: str, extra: str) -> ModuleNotFoundError:
    """``exc`` (an optional package not installed) said as what to install: raise it
    ``from exc``."""
    package = (exc.name or "a package").partition(".")[0].replace("_", "-")
    return ModuleNotFoundError(install_hint(what, package, extra), name=exc.name)
