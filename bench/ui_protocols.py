"""U1 (per-event cost of each protocol object), U2 (AG-UI cost against the peer) and U3
(the peer's stream and ours through the real AG-UI client's checks).

The peer is ``ag-ui-langgraph`` (its ``LangGraphAgent``, with its defaults), what a
LangGraph user would pick to serve AG-UI. It installs beside our dependency set without
changing it (checked with ``pip install --dry-run``), so it is in the ``dev`` extra and
runs in this process. Our routes are a table (:data:`OUR_ROUTES`): ``astream_events``
v2 and the stream modes (``eventstream.STREAM_MODES``).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from _harness import Row, alternate, alternate_async
from eventstream.adapters import (
    AGUIProtocol,
    EventProtocol,
    UIMessageStreamProtocol,
    item_to_json,
    sse_message,
    to_ag_ui,
)
from langchain.agents import create_agent
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver

from eventstream import STREAM_MODES, Event, normalize, replay
from eventstream.testing import (
    ANSWER_TEXT,
    CAT_QUESTION,
    CAT_SCRIPTS,
    ScriptedChatModel,
    Step,
    cat_tools,
    interleave,
    text,
    tool_call,
)

ROOT = Path(__file__).resolve().parents[1]
CAT_V2 = ROOT / "fixtures" / "cat_agent.v2.jsonl"
JS = ROOT / "tests" / "js"

# -- U1: per-event cost on the cat fixture ------------------------------------------------


def _feed_all(make: Callable[[], Any], events: list[Event]) -> int:
    protocol = make()
    count = 0
    for event in events:
        for message in protocol.feed(event):
            protocol.encode(message)
            count += 1
    for message in protocol.close():
        protocol.encode(message)
    return count


def _old_frames(events: list[Event]) -> int:
    """Our own events as SSE frames the way they were written before the protocol layer."""
    count = 0
    for item in events:
        data = item_to_json(item)
        _ = f"id: {item.seq}\nevent: {item.type}\ndata: {data}\n\n"
        count += 1
    return count


def _new_frames(events: list[Event]) -> int:
    protocol = EventProtocol()
    count = 0
    for event in events:
        for item in protocol.feed(event):
            data, kind, id_ = protocol.encode(item)
            sse_message(data, event=kind, id=id_)
            count += 1
    return count


def u1_protocol_cost(quick: bool) -> list[Row]:
    raw = list(replay(CAT_V2))
    events = list(normalize(raw))
    repeat = 20 if quick else 200
    makers: dict[str, Callable[[], Any]] = {
        "AG-UI": lambda: AGUIProtocol(thread_id="t", run_id="r"),
        "AI SDK": UIMessageStreamProtocol,
    }

    def contender(make: Callable[[], Any]) -> Callable[[], object]:
        return lambda: [_feed_all(make, events) for _ in range(repeat)]

    contenders = {name: contender(make) for name, make in makers.items()}
    contenders["normalize"] = lambda: [list(normalize(raw)) for _ in range(repeat)]
    contenders["ours"] = lambda: [_new_frames(events) for _ in range(repeat)]
    contenders["before"] = lambda: [_old_frames(events) for _ in range(repeat)]
    times = alternate(contenders, rounds=5 if quick else 15)
    per = {name: t / repeat / len(events) * 1e6 for name, t in times.items()}
    ratio = per["ours"] / per["before"]
    rows = [
        Row(
            "U1a",
            f"our own events as SSE frames (`EventProtocol` feed + encode + `sse_message`), "
            f"cat fixture ({len(events)} events)",
            f"{per['ours']:.2f} µs/event",
            f"{per['before']:.2f} µs/event (the frames as written before the protocol layer)",
            ratio,
            "≤ 1.10×",
            ratio <= 1.10,
        )
    ]
    for figure, name, what in (
        ("U1b", "AG-UI", "AG-UI (`AGUIProtocol`): feed + encode"),
        ("U1c", "AI SDK", "AI SDK UI message stream (`UIMessageStreamProtocol`): feed + encode"),
    ):
        ratio = per[name] / per["normalize"]
        rows.append(
            Row(
                figure,
                f"{what}, cat fixture ({len(events)} events)",
                f"{per[name]:.2f} µs/event",
                f"{per['normalize']:.2f} µs/event (`normalize` of the same run)",
                ratio,
                "≤ 1× normalizing",
                ratio <= 1,
            )
        )
    return rows


# -- U2 / U3: the peer ---------------------------------------------------------------------


def _scaled(words: int) -> dict[str, list[list[Step]]]:
    """The cat scripts with every text ``words`` words long (tool texts included)."""

    def long(seed: str) -> list[Step]:
        body = " ".join((seed.split() * (words // len(seed.split()) + 1))[:words])
        return list(text(body))

    scripts = dict(CAT_SCRIPTS)
    scripts["agent"] = [*CAT_SCRIPTS["agent"][:2], long(ANSWER_TEXT)]
    for role in ("hiding", "items", "mood"):
        seed = "".join(s.text for s in CAT_SCRIPTS[role][0] if hasattr(s, "text"))
        scripts[role] = [long(seed)]
    return scripts


def _cat_graph(scripts: dict[str, list[list[Step]]]) -> Any:
    def make(role: str) -> ScriptedChatModel:
        return ScriptedChatModel(turns=scripts[role])

    model = make("agent").model_copy(update={"tags": ["agent_llm"]})
    return create_agent(model, cat_tools(make), name="cat_agent", checkpointer=InMemorySaver())


def _ours_v2(graph: Any, inputs: Any, config: Any) -> AsyncIterator[Event]:
    return aiter(normalize(graph.astream_events(inputs, config, version="v2")))


def _ours_modes(graph: Any, inputs: Any, config: Any) -> AsyncIterator[Event]:
    raw = graph.astream(
        inputs, config, stream_mode=list(STREAM_MODES), subgraphs=True, version="v2"
    )
    return aiter(normalize(raw))


OUR_ROUTES: dict[str, Callable[[Any, Any, Any], AsyncIterator[Event]]] = {
    "astream_events v2": _ours_v2,
    "stream modes": _ours_modes,
}
"""Our ways to a normalized stream, each measured against the peer."""


def _peer_input(thread_id: str, question: str) -> Any:
    from ag_ui.core import RunAgentInput

    return RunAgentInput(
        thread_id=thread_id,
        run_id="run-1",
        state={},
        messages=[{"id": "user-1", "role": "user", "content": question}],
        tools=[],
        context=[],
        forwarded_props={},
    )


async def _peer_body(graph: Any, question: str) -> list[str]:
    """The peer's AG-UI stream as SSE frames (its own encoder)."""
    from ag_ui.encoder import EventEncoder
    from ag_ui_langgraph import LangGraphAgent

    agent = LangGraphAgent(name="cat", graph=graph)
    encoder = EventEncoder()
    return [encoder.encode(e) async for e in agent.run(_peer_input(str(uuid.uuid4()), question))]


async def _our_body(graph: Any, question: str, route: str = "astream_events v2") -> list[str]:
    config = {"configurable": {"thread_id": str(uuid.uuid4())}}
    events = OUR_ROUTES[route](graph, {"messages": [("user", question)]}, config)
    stream = to_ag_ui(events, thread_id="t", run_id="run-1")
    return [sse_message(json.dumps(m, separators=(",", ":"))) async for m in stream]


def u2_peer_cost(quick: bool) -> list[Row]:
    words = 200 if quick else 1000
    graph = _cat_graph(_scaled(words))
    tokens = 4 * words  # the answer and the three tools' own texts

    async def baseline() -> object:
        config = {"configurable": {"thread_id": str(uuid.uuid4())}}
        return await graph.ainvoke({"messages": [("user", CAT_QUESTION)]}, config)

    async def peer() -> object:
        return await _peer_body(graph, CAT_QUESTION)

    contenders: dict[str, Callable[[], Any]] = {"ainvoke": baseline, "peer": peer}
    for route in OUR_ROUTES:
        contenders[route] = lambda route=route: _our_body(graph, CAT_QUESTION, route)
    times = alternate_async(contenders, rounds=3 if quick else 7)
    over = {name: (t - times["ainvoke"]) / tokens * 1e6 for name, t in times.items()}
    rows = []
    for route in OUR_ROUTES:
        ratio = over[route] / over["peer"] if over["peer"] > 0 else float("inf")
        rows.append(
            Row(
                "U2",
                f"AG-UI from the cat agent ({tokens:,} tokens), time per token over `ainvoke`: "
                f"`to_ag_ui(normalize({route}))` vs the peer's `LangGraphAgent.run`",
                f"+{over[route]:.1f} µs/token ({times[route]:.3f} s)",
                f"+{over['peer']:.1f} µs/token ({times['peer']:.3f} s; `ainvoke` "
                f"{times['ainvoke']:.3f} s)",
                ratio,
                "≤ 1× the peer",
                ratio <= 1,
            )
        )
    return rows


def _lookup_graph() -> Any:
    @tool
    def lookup(order: int) -> str:
        """Look an order up."""
        return f"order {order}: shipped"

    turns = [
        list(tool_call("lookup", {"order": 7}, id="call_one", pieces=0)),
        list(text("Shipped.")),
    ]
    model = ScriptedChatModel(turns=turns).model_copy(update={"tags": ["agent_llm"]})
    return create_agent(model, [lookup], name="one_chunk", checkpointer=InMemorySaver())


def _weather_graph() -> Any:
    @tool
    def get_weather(city: str) -> str:
        """The weather in a city right now."""
        return f"{city}: fine"

    cities = ("Paris", "Tokyo", "Lima")
    calls = interleave(
        *(
            tool_call("get_weather", {"city": c}, id=f"call_w{i}", index=i, pieces=3)
            for i, c in enumerate(cities)
        )
    )
    model = ScriptedChatModel(turns=[calls, list(text("Fine everywhere."))])
    model = model.model_copy(update={"tags": ["agent_llm"]})
    return create_agent(model, [get_weather], name="weather", checkpointer=InMemorySaver())


def _calls(result: dict[str, Any]) -> list[tuple[str, Any]]:
    """Each call as the client streamed it: its name, and its ``TOOL_CALL_ARGS`` parsed."""
    names: dict[str, str] = {}
    args: dict[str, str] = {}
    for event in result["events"]:
        if event["type"] == "TOOL_CALL_START":
            names[event["toolCallId"]] = event["toolCallName"]
            args[event["toolCallId"]] = ""
        elif event["type"] == "TOOL_CALL_ARGS":
            args[event["toolCallId"]] += event["delta"]
    out = []
    for call_id, name in names.items():
        try:
            out.append((name, json.loads(args[call_id])))
        except json.JSONDecodeError:
            out.append((name, args[call_id]))
    return out


def _answer(result: dict[str, Any]) -> str:
    """The assistant text the client streamed (before any snapshot rewrote history)."""
    return "".join(e["delta"] for e in result["events"] if e["type"] == "TEXT_MESSAGE_CONTENT")


CHECKS: list[tuple[str, Callable[[], Any], str, Callable[[dict[str, Any]], bool]]] = [
    (
        "one-chunk tool call",
        _lookup_graph,
        "Where is order 7?",
        lambda r: _calls(r) == [("lookup", {"order": 7})],
    ),
    (
        "interleaved parallel calls",
        _weather_graph,
        "Weather?",
        lambda r: _calls(r) == [("get_weather", {"city": c}) for c in ("Paris", "Tokyo", "Lima")],
    ),
    (
        "tool-internal tokens kept out of the answer",
        lambda: _cat_graph(CAT_SCRIPTS),
        CAT_QUESTION,
        lambda r: _answer(r) == ANSWER_TEXT,
    ),
]


def _run_clients(jobs: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
    node = shutil.which("node")
    if node is None or not (JS / "node_modules" / "@ag-ui" / "client").is_dir():
        return None
    done = subprocess.run(
        [node, str(JS / "clients.mjs")],
        input=json.dumps(jobs),
        capture_output=True,
        text=True,
        check=True,
        cwd=JS,
        timeout=120,
    )
    results: list[dict[str, Any]] = json.loads(done.stdout)
    return results


def u3_peer_checks(quick: bool) -> list[Row]:
    async def bodies() -> list[tuple[str, str]]:
        out = []
        for _name, build, question, _check in CHECKS:
            out.append(("".join(await _peer_body(build(), question)), "peer"))
            out.append(("".join(await _our_body(build(), question)), "ours"))
        return out

    streams = asyncio.run(bodies())
    user = {"id": "user-1", "role": "user", "content": "?"}
    results = _run_clients(
        [{"client": "ag-ui", "body": body, "messages": [user]} for body, _ in streams]
    )
    if results is None:
        reason = "not run: the JS clients are missing (npm ci in tests/js)"
        if os.environ.get("CI"):
            raise RuntimeError(f"CI must run U3: {reason}")
        return [Row("U3", reason, "-", "-", 0.0, "-", False)]
    passed: dict[str, list[str]] = {"peer": [], "ours": []}
    failures: dict[str, list[str]] = {"peer": [], "ours": []}
    for i, (name, _build, _question, check) in enumerate(CHECKS):
        for j, who in enumerate(("peer", "ours")):
            result = results[2 * i + j]
            ok = result["ok"] and check(result)
            (passed if ok else failures)[who].append(name)
            if not ok and result["error"]:
                failures[who][-1] += f" ({result['error'][:60]})"
    total = len(CHECKS)
    fixed = all(name in passed["ours"] for name in (f.split(" (")[0] for f in failures["peer"]))
    return [
        Row(
            "U3",
            "the real AG-UI client (`HttpAgent.runAgent`, `verifyEvents`) on each stream: "
            + "; ".join(name for name, *_ in CHECKS),
            f"{len(passed['ours'])}/{total} pass"
            + (f" (fails: {', '.join(failures['ours'])})" if failures["ours"] else ""),
            f"peer {len(passed['peer'])}/{total} pass"
            + (f" (fails: {', '.join(failures['peer'])})" if failures["peer"] else ""),
            len(passed["ours"]) / total,
            "every check the peer fails, passed by ours",
            fixed and not failures["ours"],
        )
    ]


FIGURES: list[Any] = [u1_protocol_cost, u2_peer_cost, u3_peer_checks]
