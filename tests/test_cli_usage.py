"""The command line as a newcomer meets it: ``--version``, the help of every command,
what to install when a package is missing, bad options refused before anything runs,
a selection that matches nothing.

Missing packages are made missing for real in a subprocess: ``sys.modules[name] = None``
makes ``import name`` raise ``ModuleNotFoundError`` exactly as an absent package does.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import eventstream

COMMANDS = ("dump", "stats", "demo", "serve")


def cli(*args: str | Path, absent: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    code = (
        "import sys\n"
        f"for name in {absent!r}: sys.modules[name] = None\n"
        "from eventstream._cli import main\n"
        "raise SystemExit(main(sys.argv[1:]))\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_version() -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+([.-]?\w+)*", eventstream.__version__)
    result = cli("--version")
    assert result.returncode == 0
    assert result.stdout == f"eventstream {eventstream.__version__}\n"


def test_the_version_is_the_installed_distributions() -> None:
    from importlib.metadata import version

    assert version("eventstream") == eventstream.__version__


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_help_is_plain_text_with_an_example(command: str | None) -> None:
    result = cli(*([command] if command else []), "--help")
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert text.startswith(f"usage: eventstream{' ' + command if command else ''} ")
    assert re.search(r"^examples?:\n  eventstream ", text, re.M), text
    # Written for users: no reStructuredText, no notes meant for developers.
    for markup in ("``", ":func:", ":class:", ":data:", "__future__", "This module"):
        assert markup not in text, (markup, text)
    assert all(len(line) <= 100 for line in text.splitlines()), text


def test_top_level_help_lists_every_command() -> None:
    text = cli("--help").stdout
    for command in COMMANDS:
        assert re.search(rf"^  {command}  +\w", text, re.M), command
    assert "--version" in text


def test_demo_without_langchain_says_what_to_install() -> None:
    for missing in ("langchain", "langchain_openai"):
        result = cli("demo", "--delay", "0", absent=(missing,))
        assert result.returncode == 1
        assert 'pip install "eventstream[demo]"' in result.stderr, result.stderr
        assert f"missing: {missing.replace('_', '-')}" in result.stderr
        assert "Traceback" not in result.stderr
        assert result.stdout == ""


def test_serve_without_its_packages_says_what_to_install() -> None:
    for missing in ("fastapi", "uvicorn", "langchain"):
        result = cli("serve", absent=(missing,))
        assert result.returncode == 2
        assert 'pip install "eventstream[serve]"' in result.stderr, result.stderr
        assert f"missing: {missing}" in result.stderr


def test_the_test_kit_says_what_to_install() -> None:
    code = (
        "import sys; sys.modules['langchain'] = None\n"
        "from eventstream.testing import build_cat_agent\n"
        "build_cat_agent(None)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 1
    assert (
        'ModuleNotFoundError: build_cat_agent() needs langchain: pip install "eventstream[demo]"'
    ) in result.stderr


@pytest.mark.parametrize("value", ["-1", "nan", "inf", "soon"])
def test_delay_must_be_seconds(value: str) -> None:
    for command in ("demo", "serve"):
        result = cli(command, "--delay", value)
        assert result.returncode == 2
        assert f"argument --delay: expected a number of seconds, 0 or more; got '{value}'" in (
            result.stderr
        )
        assert result.stdout == ""


def test_record_into_a_missing_folder_fails_before_the_run(tmp_path: Path) -> None:
    target = tmp_path / "no" / "such" / "run.jsonl"
    result = cli("demo", "--record", target)
    assert result.returncode == 2
    assert result.stdout == ""  # the question was never asked
    assert f"cannot record to {target}: the folder {target.parent} does not exist" in (
        result.stderr
    )
    assert "Traceback" not in result.stderr
    folder = cli("demo", "--record", tmp_path)
    assert folder.returncode == 2
    assert "it is a folder" in folder.stderr


def test_a_selection_that_matches_nothing_says_so(tmp_path: Path) -> None:
    fixture = Path(__file__).resolve().parents[1] / "fixtures" / "cat_agent.v2.jsonl"
    result = cli("dump", fixture, "--inside", "nosuch")
    assert result.returncode == 0
    assert len(result.stdout.splitlines()) == 1  # the header only
    assert "nothing matched --inside nosuch" in result.stderr
    assert "runs here are named cat_agent, " in result.stderr
    assert "agent_llm" in result.stderr and "seq:step" not in result.stderr
    json_lines = cli("dump", fixture, "--types", "custom", "--json")
    assert json_lines.stdout == ""
    assert "nothing matched --types custom" in json_lines.stderr
    matched = cli("dump", fixture, "--inside", "get_items")
    assert "nothing matched" not in matched.stderr
