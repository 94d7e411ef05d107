"""B7: what each route to a normalized stream costs over running the agent at all.

One ``create_agent`` run whose scripted model answers 3,000 tokens (quick: 600). The
baseline is ``ainvoke`` of the same agent: the graph and the model, what every route
pays. Each contender's cost is its time over that baseline, per token:

- bare ``astream_events(version="v2")`` (what LangChain's callbacks cost);
- bare ``astream(stream_mode="messages")`` (the cheapest stream LangGraph has);
- ``normalize(astream(stream_mode=STREAM_MODES, subgraphs=True, version="v2"))``: ours;
- ``normalize(astream_events v2)`` and ``v3``, for the table.

Goals: ours ≤ 0.25× what bare v2 costs over the baseline, and ≤ 1.3× what bare
``messages`` costs over it. Garbage is collected before each timed run, so earlier
runs' garbage does not land in a random contender.
"""

from __future__ import annotations

import warnings
from collections.abc import Awaitable, Callable
from typing import Any

from _agents import INPUT, answering_agent
from _harness import Row, alternate_async

from eventstream import STREAM_MODES, normalize


async def _drain(stream: Any) -> int:
    count = 0
    async for _ in stream:
        count += 1
    return count


def _contenders(agent: Any) -> dict[str, Callable[[], Awaitable[object]]]:
    async def v3_stream() -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return await agent.astream_events(INPUT, version="v3")

    async def normalized_v3() -> int:
        return await _drain(normalize(await v3_stream()))

    return {
        "ainvoke": lambda: agent.ainvoke(INPUT),
        "v2 bare": lambda: _drain(agent.astream_events(INPUT, version="v2")),
        "messages bare": lambda: _drain(agent.astream(INPUT, stream_mode="messages")),
        "modes bare": lambda: _drain(
            agent.astream(INPUT, stream_mode=list(STREAM_MODES), subgraphs=True, version="v2")
        ),
        "modes normalized": lambda: _drain(
            normalize(
                agent.astream(INPUT, stream_mode=list(STREAM_MODES), subgraphs=True, version="v2")
            )
        ),
        "v2 normalized": lambda: _drain(normalize(agent.astream_events(INPUT, version="v2"))),
        "v3 normalized": normalized_v3,
    }


def b7_sources(quick: bool) -> list[Row]:
    tokens = 600 if quick else 3_000
    agent = answering_agent(tokens)
    times = alternate_async(_contenders(agent), rounds=3 if quick else 9, collect_garbage=True)
    base = times["ainvoke"]
    over = {name: (t - base) / tokens * 1e6 for name, t in times.items() if name != "ainvoke"}
    ours = over["modes normalized"]
    vs_v2 = ours / over["v2 bare"]
    vs_messages = ours / over["messages bare"]
    per = "µs/token over `ainvoke`"
    rows = [
        Row(
            "B7",
            f"`normalize(astream(STREAM_MODES, subgraphs=True))` vs bare `astream_events v2`, "
            f"{tokens:,} tokens ({per}; `ainvoke` {base * 1e6 / tokens:.1f} µs/token)",
            f"+{ours:.1f}",
            f"+{over['v2 bare']:.1f} (bare v2)",
            vs_v2,
            "≤ 0.25×",
            vs_v2 <= 0.25,
        ),
        Row(
            "B7b",
            f"the same vs bare `astream(stream_mode='messages')` ({per})",
            f"+{ours:.1f}",
            f"+{over['messages bare']:.1f} (bare messages)",
            vs_messages,
            "≤ 1.3×",
            vs_messages <= 1.3,
        ),
        Row(
            "B7d",
            f"the same vs bare `astream(STREAM_MODES, subgraphs=True)`: what `normalize` adds "
            f"({per})",
            f"+{ours:.1f}",
            f"+{over['modes bare']:.1f} (bare modes)",
            ours / over["modes bare"],
            "—",
            None,
        ),
        Row(
            "B7c",
            f"the other routes normalized ({per}), against bare v2",
            f"v2 +{over['v2 normalized']:.1f}; v3 +{over['v3 normalized']:.1f}",
            f"+{over['v2 bare']:.1f} (bare v2)",
            over["v2 normalized"] / over["v2 bare"],
            "—",
            None,
        ),
    ]
    return rows


FIGURES: list[Any] = [b7_sources]
