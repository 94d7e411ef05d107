"""B3: normalizing ``astream_log`` patches, against accumulating them into a ``RunLog``.

    python bench/astream_log_bench.py            # 1,000 / 4,000 / 16,000 tokens, 5 rounds
    python bench/astream_log_bench.py --quick    # the same sizes, 3 rounds (about 20 s)

The patches of each size are generated once, from a real run: the cat agent on
``ScriptedChatModel``, its answer ``N`` tokens long, through ``astream_log``. Then the
in-memory list is timed: eventstream's ``Normalizer`` fed every item (every event
built), and LangChain's own accumulation ``state = state + patch`` (what ``diff=False``
does, and what hand-written readers do) at 1,000 tokens only: it copies the whole state
at every patch, so its time per op grows with the run (about 12 s for this one here).
Contenders alternate round by round (the order flips every round); each figure is a
median. ``--quick`` times the accumulation in the first round only. Nothing here
asserts speed.

``measure(quick)`` returns the rows as dicts; ``FIGURES`` is what ``bench/run.py`` picks up.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from langchain_core.tracers.log_stream import RunLog

from eventstream import Normalizer
from eventstream.testing import (
    CAT_QUESTION,
    CAT_SCRIPTS,
    ScriptedChatModel,
    build_cat_agent,
    text,
)

SIZES = (1_000, 4_000, 16_000)
ACCUMULATION_SIZE = 1_000
# Each timing of the normalizer repeats its pass until it lasts this long, so that
# small sizes are not one timer tick.
MIN_SECONDS = 0.2


def recorded_patches(tokens: int) -> list[Any]:
    """The ``RunLogPatch`` items of one cat-agent run whose answer is ``tokens`` long."""
    words = " ".join(f"w{i}" for i in range(tokens))
    scripts = {**CAT_SCRIPTS, "agent": [*CAT_SCRIPTS["agent"][:2], text(words)]}
    agent = build_cat_agent(lambda role: ScriptedChatModel(turns=scripts[role]))

    async def collect() -> list[Any]:
        value = {"messages": [("user", CAT_QUESTION)]}
        return [patch async for patch in agent.astream_log(value)]

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "astream_log is deprecated")
        return asyncio.run(collect())


def normalize_all(patches: list[Any]) -> int:
    normalizer = Normalizer(strict=True)
    count = 0
    for patch in patches:
        count += len(normalizer.feed(patch))
    return count + len(normalizer.close())


def accumulate(patches: list[Any]) -> Any:
    state = RunLog(state=None)  # type: ignore[arg-type]
    for patch in patches:
        state = state + patch
    return state


def _timed(run: Callable[[], object], repeat: int) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        run()
    return (time.perf_counter() - start) / repeat


def measure(quick: bool) -> list[dict[str, Any]]:
    """Median time per op of each contender; ratios against accumulation."""
    rounds = 3 if quick else 5
    patches = {tokens: recorded_patches(tokens) for tokens in SIZES}
    ops = {tokens: sum(len(p.ops) for p in items) for tokens, items in patches.items()}
    contenders: dict[str, tuple[Callable[[], object], int]] = {}
    for tokens, items in patches.items():
        once = _timed(lambda items=items: normalize_all(items), 1)  # warm-up and calibration
        repeat = max(1, round(MIN_SECONDS / max(once, 1e-9)))
        contenders[f"normalize {tokens}"] = (lambda items=items: normalize_all(items), repeat)
    accumulation_items = patches[ACCUMULATION_SIZE]
    contenders["accumulate"] = (lambda: accumulate(accumulation_items), 1)

    times: dict[str, list[float]] = {name: [] for name in contenders}
    names = list(contenders)
    for number in range(rounds):
        for name in names if number % 2 == 0 else reversed(names):
            if quick and number and name == "accumulate":
                continue
            run, repeat = contenders[name]
            times[name].append(_timed(run, repeat))
    median = {name: statistics.median(values) for name, values in times.items()}

    accumulation_per_op = median["accumulate"] / ops[ACCUMULATION_SIZE]
    rows = [
        {
            "contender": "eventstream Normalizer",
            "tokens": tokens,
            "ops": ops[tokens],
            "seconds": median[f"normalize {tokens}"],
            "per_op_us": median[f"normalize {tokens}"] / ops[tokens] * 1e6,
        }
        for tokens in SIZES
    ]
    rows.append(
        {
            "contender": "RunLog accumulation (`state + patch`)",
            "tokens": ACCUMULATION_SIZE,
            "ops": ops[ACCUMULATION_SIZE],
            "seconds": median["accumulate"],
            "per_op_us": accumulation_per_op * 1e6,
        }
    )
    for row in rows:
        row["ratio_vs_accumulation"] = accumulation_per_op * 1e6 / row["per_op_us"]
        row["rounds"] = rounds
    return rows


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| contender | tokens | ops | time per op | accumulation's time per op ÷ this |",
        "|---|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['contender']} | {row['tokens']:,} | {row['ops']:,} | "
            f"{row['per_op_us']:,.2f} µs | {row['ratio_vs_accumulation']:,.0f}× |"
        )
    ours = [row for row in rows if row["contender"] == "eventstream Normalizer"]
    flat = ours[-1]["per_op_us"] / ours[0]["per_op_us"]
    lines.append("")
    lines.append(
        f"Time per op at {ours[-1]['tokens']:,} tokens ÷ at {ours[0]['tokens']:,}: {flat:.2f}× "
        f"(medians of {rows[0]['rounds']} rounds, contenders alternating)."
    )
    return "\n".join(lines)


def b3_astream_log(quick: bool) -> Any:
    """The B3 row for ``bench/run.py``."""
    from _harness import Row

    rows = measure(quick)
    ours = [row for row in rows if row["contender"] == "eventstream Normalizer"]
    first, last = ours[0], ours[-1]
    flat = last["per_op_us"] / first["per_op_us"]
    speedup = first["ratio_vs_accumulation"]
    return Row(
        "B3",
        "`astream_log`: normalizing recorded patches, time per op at 1k → 16k tokens",
        f"{first['per_op_us']:.2f} → {last['per_op_us']:.2f} µs/op ({flat:.2f}×)",
        f"{rows[-1]['per_op_us']:,.0f} µs/op (`RunLog` accumulation, 1k tokens)",
        speedup,
        "flat (16k vs 1k ≤ 1.3×); ≥ 500× faster than accumulation",
        flat <= 1.3 and speedup >= 500,
    )


FIGURES = [b3_astream_log]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="3 rounds instead of 5, accumulation timed once"
    )
    args = parser.parse_args(argv)
    print(markdown(measure(args.quick)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
