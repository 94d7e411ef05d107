"""T1-T3: what starting eventstream costs, in fresh processes.

    python bench/startup.py            # 21 rounds
    python bench/startup.py --quick    # 5 rounds

Each figure starts a new Python process per run (nothing of eventstream or LangChain
imported yet) and times it from outside, wall clock, the contenders alternating run by
run; figures are medians. The processes may write and read compiled bytecode, as an
installed package has it (``PYTHONDONTWRITEBYTECODE`` is dropped; the cache goes to a
temporary ``PYTHONPYCACHEPREFIX``, not into the source tree): without it an editable
install compiles every module of eventstream at each start.

- T1: the time ``import eventstream`` takes in a fresh process (timed inside it, around
  the import statement), against ``import langchain_core.messages`` (the part of
  LangChain every reader needs). Goal: at most 50 ms more. The package loads a public
  name's module when the name is first used, so this is the package alone:
- T1b: the first use, ``from eventstream import normalize, select, record, replay``
  (the core: events, every reader, selection, recording), against the same. Goal: at
  most 50 ms more. About half of what it adds is LangChain's own
  ``AIMessageChunk`` (``langchain_core.messages`` loads its classes lazily too), which
  the readers need.
- T2: ``eventstream --help`` (the console script), against ``python -c pass`` (the
  interpreter starting). Goal: under 0.3 s.
- T3: ``eventstream --version``, against the same. Goal: under 0.3 s.

Where the time goes: ``python -X importtime -c "import eventstream"``. Nothing here
asserts speed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import Row

ROUNDS = 21


def _command(*args: str) -> list[str]:
    """The console script beside this interpreter (as a user runs it), else ``-m``."""
    script = Path(sys.executable).with_name("eventstream")
    found = str(script) if script.exists() else shutil.which("eventstream")
    return [found, *args] if found else [sys.executable, "-m", "eventstream._cli", *args]


def _run(command: list[str], env: dict[str, str]) -> float:
    """Seconds: the command's own figure when it prints one (an import timed inside the
    process), else its wall-clock time."""
    start = time.perf_counter()
    done = subprocess.run(
        command, check=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env
    )
    took = time.perf_counter() - start
    reported = done.stdout.decode().strip()
    return float(reported) if _is_number(reported) else took


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _alternate(commands: dict[str, list[str]], rounds: int) -> dict[str, float]:
    """Median wall-clock seconds per command, alternated, after one warm-up each (which
    writes the bytecode)."""
    with tempfile.TemporaryDirectory(prefix="eventstream-pyc-") as cache:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = cache
        for command in commands.values():
            _run(command, env)
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(rounds):
            for name, command in commands.items():
                times[name].append(_run(command, env))
    return {name: statistics.median(values) for name, values in times.items()}


def _python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def _timed_import(statement: str) -> list[str]:
    return _python(
        f"import time; start = time.perf_counter()\n{statement}\nprint(time.perf_counter() - start)"
    )


def _import_row(figure: str, statement: str, what: str, quick: bool) -> Row:
    times = _alternate(
        {
            "ours": _timed_import(statement),
            "baseline": _timed_import("import langchain_core.messages"),
        },
        5 if quick else ROUNDS,
    )
    added = times["ours"] - times["baseline"]
    return Row(
        figure,
        what,
        f"{times['ours'] * 1e3:.0f} ms ({added * 1e3:+.0f} ms)",
        f"{times['baseline'] * 1e3:.0f} ms (`import langchain_core.messages`)",
        times["ours"] / times["baseline"],
        "≤ +50 ms",
        added <= 0.050,
    )


def t1_import(quick: bool) -> Row:
    return _import_row("T1", "import eventstream", "`import eventstream` in a fresh process", quick)


def t1b_first_use(quick: bool) -> Row:
    return _import_row(
        "T1b",
        "from eventstream import normalize, select, record, replay",
        "`from eventstream import normalize, select, record, replay` (the core) in a fresh process",
        quick,
    )


def _cli_row(figure: str, argument: str, quick: bool) -> Row:
    times = _alternate(
        {"ours": _command(argument), "baseline": _python("pass")},
        5 if quick else ROUNDS,
    )
    return Row(
        figure,
        f"`eventstream {argument}` in a fresh process",
        f"{times['ours'] * 1e3:.0f} ms",
        f"{times['baseline'] * 1e3:.0f} ms (`python -c pass`)",
        times["ours"] / times["baseline"],
        "< 300 ms",
        times["ours"] < 0.300,
    )


def t2_help(quick: bool) -> Row:
    return _cli_row("T2", "--help", quick)


def t3_version(quick: bool) -> Row:
    return _cli_row("T3", "--version", quick)


FIGURES: list[Any] = [t1_import, t1b_first_use, t2_help, t3_version]


def main(argv: list[str] | None = None) -> int:
    from _harness import table

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 rounds instead of 21")
    args = parser.parse_args(argv)
    print(table([figure(args.quick) for figure in FIGURES]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
