"""Benchmarks: what eventstream costs against LangChain itself and hand-written parsing.

    python bench/run.py            # full sizes (a few minutes)
    python bench/run.py --quick    # every figure at small sizes, well under a minute

Every figure alternates its contenders run by run in this one process and reports the
ratio of medians (this machine is shared and noisy: absolute times drift, ratios hold).
Nothing here asserts speed; the table says which goals were met.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import core
from _harness import Row, table


def figures() -> list:  # type: ignore[type-arg]
    found = list(core.FIGURES)
    for module_name in (
        "replay_record",
        "astream_log_bench",
        "answer_bench",
        "ui_protocols",
        "sources",
        "openai_bench",
        "startup",
    ):
        try:
            module = __import__(module_name)
        except ImportError:
            continue
        found.extend(getattr(module, "FIGURES", []))
    return sorted(found, key=lambda f: f.__name__)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke test")
    parser.add_argument("--only", help="comma-separated figure ids, e.g. B1,B5")
    args = parser.parse_args(argv)
    only = {f.strip().lower() for f in args.only.split(",")} if args.only else None
    rows: list[Row] = []
    for figure in figures():
        if only and figure.__name__.split("_")[0] not in only:
            continue
        print(f"measuring {figure.__name__} …", file=sys.stderr, flush=True)
        got = figure(args.quick)  # a row, or several measured in one run
        rows.extend(got if isinstance(got, list) else [got])
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {datetime.date.today()}"
        f"{', quick sizes' if args.quick else ''}\n"
    )
    print(table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
