"""The package's shape: curated exports, the adapters namespace, JSON at the edges."""

from __future__ import annotations

import ast
import asyncio
import importlib
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import eventstream
from eventstream import (
    End,
    Start,
    Token,
    event_from_json,
    event_json_schema,
    event_to_json,
    normalize,
)

from .conftest import cat_events


def test_all_public_names_are_exported_and_nothing_private_is() -> None:
    public = {name for name in dir(eventstream) if not name.startswith("_")}
    modules = {name for name in public if type(getattr(eventstream, name)).__name__ == "module"}
    assert set(eventstream.__all__) == public - modules
    for name in eventstream.__all__:
        if name in ("Event", "EVENT_ADAPTER", "STREAM_MODES"):  # values, not definitions
            continue
        assert getattr(eventstream, name).__module__.startswith("eventstream"), name


def test_adapters_install_inside_the_package_only() -> None:
    code = (
        "import importlib.util, eventstream.adapters as a;"
        "print(a.__name__, importlib.util.find_spec('adapters'))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd="/"
    ).stdout
    assert out.strip() == "eventstream.adapters None"


def test_events_round_trip_through_json() -> None:
    events = list(normalize(asyncio.run(cat_events("v2")), strict=True))
    for event in events:
        line = event_to_json(event)
        assert "\n" not in line
        back = event_from_json(line)
        assert type(back) is type(event)
        assert (back.seq, back.run_id, back.tags, back.parent_ids) == (
            event.seq,
            event.run_id,
            event.tags,
            event.parent_ids,
        )
        assert event_to_json(back) == line
        if isinstance(event, Token):
            assert (back.text, back.kind, back.name) == (event.text, event.kind, event.name)


def test_json_of_a_token_with_newlines_and_frames_inside_stays_one_line() -> None:
    token = Token(seq=0, run_id="r", text="a\n\ndata: x\r\n", tags=("t",))
    assert event_from_json(event_to_json(token)) == token
    assert "\n" not in event_to_json(token)


def test_values_json_cannot_encode_are_written_as_text() -> None:
    end = End(seq=1, run_id="r", output=ValueError("bad"), error="ValueError: bad")
    assert '"output":"bad"' in event_to_json(end)


def test_json_schema_names_every_event_type() -> None:
    schema: dict[str, Any] = event_json_schema()
    mapping = schema["discriminator"]["mapping"]
    assert set(mapping) == {
        "start",
        "token",
        "tool_call_chunk",
        "tool_call",
        "tool_result",
        "end",
        "custom",
    }
    start = schema["$defs"]["Start"]
    assert start["properties"]["type"]["const"] == "start"
    assert {"seq", "run_id"} <= set(start["required"])
    assert Start.__doc__ and "Exactly one per run" in Start.__doc__


def test_the_hot_path_token_factory_builds_the_same_token() -> None:
    from dataclasses import fields

    from eventstream._table import RunFields, RunTable

    metadata = {"k": 1}
    table = RunTable()
    run = table.start(RunFields("r", "n", "chat_model", ("t",), metadata, ("p",)), None, [])
    for seq, kind in ((1, "text"), (2, "reasoning")):
        built = Token(
            seq=seq,
            run_id="r",
            parent_ids=("p",),
            name="n",
            run_type="chat_model",
            tags=("t",),
            metadata=metadata,
            text="hi",
            kind=kind,  # type: ignore[arg-type]
        )
        fast = table.token(run, "hi", kind)
        assert fast == built
        # Every field is set: none left unset for a later reader to trip on.
        assert all(getattr(fast, f.name) == getattr(built, f.name) for f in fields(Token))


# -- the package's shape: one Event type, no import cycles, no private access ---------

PACKAGE = Path(__file__).parent.parent / "eventstream"


def _modules() -> dict[str, ast.Module]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = ast.parse(path.read_text(), str(path))
    return found


def test_one_event_type_everywhere() -> None:
    for name in _modules():
        module = importlib.import_module(name)
        if hasattr(module, "Event"):
            assert module.Event is eventstream.Event, name


def _imports_at_import_time(tree: ast.Module, name: str) -> set[str]:
    """The eventstream modules a module imports at its top level, those imported only
    for type checking included (not the ones imported inside functions)."""
    found: set[str] = set()
    for node in tree.body:
        for child in ast.walk(node) if isinstance(node, ast.Try | ast.If) else [node]:
            if isinstance(child, ast.ImportFrom) and child.module:
                base = child.module
                if child.level:
                    package = name.rsplit(".", child.level)[0]
                    base = f"{package}.{child.module}"
                if base.startswith("eventstream"):
                    found.add(base)
            elif isinstance(child, ast.Import):
                found |= {a.name for a in child.names if a.name.startswith("eventstream")}
    return found


def test_no_import_cycles_in_the_core() -> None:
    modules = _modules()
    graph = {
        name: {m for m in _imports_at_import_time(tree, name) if m in modules and m != name}
        for name, tree in modules.items()
    }
    # The package's __init__ re-exports everything: edges into it are not cycles of
    # the implementation, edges out of it are.
    for name in graph:
        graph[name].discard("eventstream")
    visiting: list[str] = []
    done: set[str] = set()

    def visit(name: str) -> None:
        if name in done:
            return
        assert name not in visiting, " -> ".join([*visiting[visiting.index(name) :], name])
        visiting.append(name)
        for other in sorted(graph[name]):
            visit(other)
        visiting.pop()
        done.add(name)

    for name in sorted(graph):
        visit(name)


def test_no_module_reaches_into_another_modules_private_members() -> None:
    """``x._name`` only on ``self`` / ``cls`` (a class's own and inherited members) or
    for names the same module defines; a named tuple's ``_replace`` is public."""
    offences = []
    for name, tree in _modules().items():
        own = {
            node.name
            for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        }
        own |= {
            target.attr
            for node in ast.walk(tree)
            if isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign)
            for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
            if isinstance(target, ast.Attribute)
        }
        own |= {
            node.target.id
            for node in ast.walk(tree)
            if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
                and node.attr not in own | {"_replace", "_asdict", "_fields"}
                and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))
            ):
                offences.append(f"{name}:{node.lineno} .{node.attr}")
    assert offences == []


# -- startup: what `import eventstream` leaves out ------------------------------------


def modules_after(code: str) -> set[str]:
    code += "\nimport sys; print('\\n'.join(sorted(sys.modules)))"
    return set(
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout.split()
    )


def test_import_and_the_command_lines_help_load_nothing_heavy() -> None:
    """``import eventstream`` loads no public name's module (each loads when first
    used), and ``eventstream --help`` / ``--version`` need none: no LangChain, no
    pydantic. The time they take is measured in ``bench/startup.py``, not here."""
    for code in (
        "import eventstream; eventstream.__version__",
        "from eventstream._cli import main; main(['--version'])",
        "from eventstream._cli import main; main(['--help'])",
        "from eventstream._cli import main; main(['dump'])",  # a usage error
    ):
        quiet = (
            "import contextlib, io\n"
            "with contextlib.redirect_stdout(io.StringIO()), "
            "contextlib.redirect_stderr(io.StringIO()):\n"
            f"    try:\n        {code}\n    except SystemExit:\n        pass"
        )
        loaded = modules_after(quiet)
        heavy = {m for m in loaded if m.split(".")[0] in ("langchain_core", "pydantic")}
        assert heavy == set(), (code, sorted(heavy)[:5])
        assert {m for m in loaded if m.startswith("eventstream.")} <= {
            "eventstream._cli",
            "eventstream._errors",
            "eventstream._extras",
        }, code


def test_the_common_path_leaves_out_what_only_some_paths_need() -> None:
    """Normalizing, selecting, recording and replaying do not import LangChain's tracers
    (they pull in langsmith: a third of a second), asyncio (until an async path runs),
    the classes only replay rebuilds, or any optional framework."""
    loaded = modules_after(
        "from eventstream import answer, event_to_json, normalize, record, replay, select"
    )
    for module in (
        "langsmith",
        "langchain_core.tracers",
        "langchain_core.agents",
        "langchain_core.documents",
        "langchain_core.prompt_values",
        "asyncio",
        "fastapi",
        "starlette",
        "uvicorn",
        "langchain",
        "langgraph",
        "eventstream.adapters",
        "eventstream.testing",
    ):
        assert module not in loaded, module


def test_every_public_name_loads_from_the_module_that_defines_it() -> None:
    """The lazy table (``eventstream._EXPORTS``) and ``__all__`` list the same names,
    and each name is the very object of its module."""
    exports = eventstream._EXPORTS  # the package's own table, read by its test
    assert sorted(exports) == sorted(eventstream.__all__)
    for name, module in exports.items():
        assert getattr(eventstream, name) is getattr(importlib.import_module(module), name)
    with pytest.raises(AttributeError, match="no attribute 'nosuch'"):
        eventstream.nosuch  # type: ignore[attr-defined]  # noqa: B018
