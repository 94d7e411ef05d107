"""A griffe extension of the documentation site: the docstrings' reStructuredText
roles as Markdown.

The docstrings are written for readers of the source and ``help()``: ``:func:`x```,
``:class:`~eventstream.Token```, ``Example::``. The site renders docstrings as
Markdown, where those would show their markup: a role becomes the code it names
(``~`` keeps the last part of the dotted name) and a paragraph's closing ``::`` a
colon. Loaded by mkdocstrings (``extensions:`` in ``mkdocs.yml``).
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:py:)?(?:func|class|data|meth|attr|exc|mod|obj|const):`(~?)([^`]+)`")
_LITERAL = re.compile(r"(\S)::\n")
_BARE_LITERAL = re.compile(r"^(\s*)::\n", re.M)


def markdown(text: str) -> str:
    """``text`` with its roles and literal-block markers as Markdown."""

    def role(match: re.Match[str]) -> str:
        short, name = match.groups()
        return f"`{name.rsplit('.', 1)[-1] if short else name}`"

    text = _ROLE.sub(role, text)
    text = _BARE_LITERAL.sub("", text)
    return _LITERAL.sub(r"\1:\n", text)


class RstRoles(griffe.Extension):
    """Rewrites every docstring of a package once it is loaded."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        seen: set[int] = set()

        def visit(obj: griffe.Object) -> None:
            if id(obj) in seen:
                return
            seen.add(id(obj))
            if obj.docstring is not None:
                obj.docstring.value = markdown(obj.docstring.value)
            for member in obj.members.values():
                if not member.is_alias:
                    visit(member)  # type: ignore[arg-type]

        visit(pkg)
