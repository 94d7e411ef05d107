"""B2 (replay) and B6 (recording): what record and replay cost.

B2 records one live run of the B1 agent once per process (100,000 tokens; ``--quick``:
10,000), then reads the file back two ways, alternating: ``normalize(replay(path))``
(B2), or the ``eventstream dump --json`` code path, events to JSON text (B2b, the
figure ``b2_replay_cli``, so that ``--only B2`` runs both), against a bare loop that
reads the same file and decodes each line with the stdlib ``json`` module. Both rates
count the file's recorded events (its lines), so the ratio is the ratio of wall times:
above 1× we read a recording faster than ``json`` alone parses it.

B6 records the live B1 agent run while normalizing it, against normalizing it unrecorded,
line by line (``flush="line"``, B6) and in batches (``flush="batch"``, B6b), the three
alternated in one measurement; each row also gives what recording adds per token.

Both figures time with the heap as it stands frozen (``gc.freeze``): a full collection
of it takes about 70 ms here and lands once or twice per run, in a pattern that the
strict A B A B order can give to one contender every time (B6 read anywhere from 1.01×
to 1.28× run to run, unfrozen). Neither contender keeps what it allocates, so freezing
takes nothing from either but that noise.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

from _agents import INPUT, answering_agent
from _harness import Row, alternate, alternate_async

from eventstream import normalize, record, replay
from eventstream._cli import timed_events
from eventstream._json import event_to_json

_DIR = tempfile.TemporaryDirectory(prefix="eventstream-bench-")


@contextlib.contextmanager
def _frozen_heap() -> Iterator[None]:
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


@cache
def _recording(tokens: int) -> tuple[str, int]:
    """A recording of one ``tokens``-token v2 run of the B1 agent, and its event count."""
    path = os.path.join(_DIR.name, f"answer_{tokens}.jsonl")
    agent = answering_agent(tokens)

    async def run() -> None:
        async for _ in record(agent.astream_events(INPUT, version="v2"), path):
            pass

    asyncio.run(run())
    with open(path, "rb") as file:
        events = sum(1 for _ in file) - 1  # the header is not an event
    return path, events


def _json_loop(path: str) -> Callable[[], int]:
    def baseline() -> int:
        count = 0
        with open(path, "rb") as file:
            file.readline()  # the header
            for line in file:
                json.loads(line)
                count += 1
        return count

    return baseline


def _replay_row(figure: str, what: str, quick: bool, ours: Callable[[str], Any]) -> Row:
    tokens = 10_000 if quick else 100_000
    path, events = _recording(tokens)
    with _frozen_heap():
        times = alternate({"baseline": _json_loop(path), "ours": lambda: ours(path)}, rounds=5)
    ours_rate, baseline_rate = events / times["ours"], events / times["baseline"]
    ratio = ours_rate / baseline_rate
    size = Path(path).stat().st_size
    return Row(
        figure,
        f"{what}, {tokens:,}-token v2 recording ({events:,} events, {size / 1e6:.0f} MB)",
        f"{ours_rate / 1e3:.0f}k events/s",
        f"{baseline_rate / 1e3:.0f}k events/s (`json.loads` per line)",
        ratio,
        "≥ 0.5× (stretch ≥ 1×)",
        ratio >= 0.5,
    )


def b2_replay(quick: bool) -> Row:
    def ours(path: str) -> int:
        count = 0
        for _ in normalize(replay(path)):
            count += 1
        return count

    return _replay_row("B2", "replay: `normalize(replay(path))`", quick, ours)


def b2_replay_cli(quick: bool) -> Row:
    """B2 through the code of ``eventstream dump --json``: every event to JSON text."""

    def ours(path: str) -> int:
        with open(os.devnull, "w", encoding="utf-8") as out:
            for _, event in timed_events(replay(path)):
                out.write(event_to_json(event) + "\n")
        return 0

    return _replay_row("B2b", "replay: `eventstream dump --json` path", quick, ours)


def b6_record(quick: bool) -> list[Row]:
    """B6 (``flush="line"``, the default) and B6b (``flush="batch"``), alternated with
    the unrecorded baseline in one measurement."""
    tokens = 1_000 if quick else 10_000
    agent = answering_agent(tokens)
    path = Path(_DIR.name) / f"b6_{tokens}.jsonl"

    async def baseline() -> int:
        count = 0
        async for _ in normalize(agent.astream_events(INPUT, version="v2")):
            count += 1
        return count

    def recording(flush: Any) -> Callable[[], Any]:
        async def ours() -> int:
            count = 0
            source = agent.astream_events(INPUT, version="v2")
            async for _ in normalize(record(source, path, flush=flush)):
                count += 1
            return count

        return ours

    with _frozen_heap():
        times = alternate_async(
            {"baseline": baseline, "line": recording("line"), "batch": recording("batch")},
            rounds=5 if quick else 9,
        )
    rows = []
    for figure, flush, goal in (("B6", "line", 1.15), ("B6b", "batch", 1.10)):
        ratio = times[flush] / times["baseline"]
        added = (times[flush] - times["baseline"]) / tokens * 1e6
        rows.append(
            Row(
                figure,
                f'recording: `normalize(record(astream_events v2, flush="{flush}"))`, '
                f"{tokens:,} tokens",
                f"{times[flush]:.3f} s ({added:+.1f} µs/token)",
                f"{times['baseline']:.3f} s (`normalize` unrecorded)",
                ratio,
                f"≤ {goal:.2f}×",
                ratio <= goal,
            )
        )
    return rows


FIGURES: list[Any] = [b2_replay, b2_replay_cli, b6_record]
