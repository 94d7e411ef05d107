"""Measuring in one process on a shared, noisy machine: alternate, take medians, ratio.

Each figure runs its contenders in turn, round after round (A B A B …), so that a burst
of load from elsewhere hits both alike; the figure is the ratio of the medians.
"""

from __future__ import annotations

import asyncio
import gc
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

__all__ = ["Row", "alternate", "alternate_async", "table"]


@dataclass
class Row:
    figure: str
    what: str
    ours: str
    baseline: str
    ratio: float
    goal: str
    met: bool | None
    """Whether the goal was met; ``None`` for a figure reported for comparison only."""


def alternate(
    contenders: dict[str, Callable[[], object]], rounds: int, *, collect_garbage: bool = False
) -> dict[str, float]:
    """Median seconds per contender, run alternately ``rounds`` times (after a warm-up);
    with ``collect_garbage``, ``gc.collect()`` before each timed run."""
    for run in contenders.values():
        run()
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, run in contenders.items():
            if collect_garbage:
                gc.collect()
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def alternate_async(
    contenders: dict[str, Callable[[], Awaitable[object]]],
    rounds: int,
    *,
    collect_garbage: bool = False,
) -> dict[str, float]:
    """:func:`alternate` for coroutines, each run to completion in one event loop."""

    async def main() -> dict[str, float]:
        for run in contenders.values():
            await run()
        times: dict[str, list[float]] = {name: [] for name in contenders}
        for _ in range(rounds):
            for name, run in contenders.items():
                if collect_garbage:
                    gc.collect()
                start = time.perf_counter()
                await run()
                times[name].append(time.perf_counter() - start)
        return {name: statistics.median(values) for name, values in times.items()}

    return asyncio.run(main())


def table(rows: list[Row]) -> str:
    lines = [
        "| # | what | ours | baseline | ratio | goal | met |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.figure} | {r.what} | {r.ours} | {r.baseline} | {r.ratio:.2f}× | {r.goal} | "
            f"{'—' if r.met is None else 'yes' if r.met else 'NO'} |"
        )
    return "\n".join(lines)
