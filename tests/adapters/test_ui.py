"""What goes where (``eventstream.adapters._ui``), on any well-formed normalized stream.

Streams are generated at random: model turns with text, reasoning and tool calls whose
fragments interleave (some sent in one chunk, some whose id comes late), tool runs with
models inside them, handled and raised tool errors, custom events, a source that fails.
For each: every AG-UI event is valid for the official models, with no ``null``; every
chunk is one the AI SDK knows; the assistant's text is exactly the top-level models'
text and tool text is only progress. Then a batch of them goes through both real
clients.
"""

from __future__ import annotations

import json
import random
from itertools import count
from typing import Any

from ag_ui.core import Event as AGUIEvent
from eventstream.adapters import AGUIProtocol, UIMessageStreamProtocol
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from eventstream import Custom, End, Event, Start, Token, ToolCall, ToolCallChunk, ToolResult

from .clients import no_nulls, run_clients, sse_body

AGUI_EVENT: TypeAdapter[Any] = TypeAdapter(AGUIEvent)
WORDS = ["cat", " sock", " basket", " warm", "\n", " é", " \u2028", ' "quoted"']
CHUNK_TYPES = {
    "start", "start-step", "finish-step", "text-start", "text-delta", "text-end",
    "reasoning-start", "reasoning-delta", "reasoning-end", "tool-input-start",
    "tool-input-delta", "tool-input-available", "tool-input-error", "tool-output-available",
    "tool-output-error", "finish", "error", "abort",
}  # fmt: skip


class Streams:
    """Builds one random stream: ``answer`` and ``inner`` collect the text it should show."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.seq = count()
        self.events: list[Event] = []
        self.answer = ""
        self.inner: dict[str, str] = {}

    def add(self, event_class: type[Any], **fields: Any) -> None:
        self.events.append(event_class(seq=next(self.seq), **fields))

    def words(self) -> list[str]:
        return [self.rng.choice(WORDS) for _ in range(self.rng.randint(1, 5))]

    def build(self) -> list[Event]:
        rng = self.rng
        self.add(Start, run_id="root", name="agent", run_type="chain")
        for turn in range(rng.randint(1, 3)):
            calls = self.model_turn(f"m{turn}")
            for call_id, name in calls:
                self.tool_run(call_id, name)
            if rng.random() < 0.2:
                self.add(Custom, run_id="root", name="progress", data={"turn": turn})
        self.add(End, run_id="root", name="agent", run_type="chain")
        return self.events

    def model_turn(self, run_id: str) -> list[tuple[str, str]]:
        rng = self.rng
        common = {"run_id": run_id, "parent_ids": ("root",), "run_type": "chat_model"}
        self.add(Start, name="model", **common)
        steps: list[tuple[Any, ...]] = []
        if rng.random() < 0.3:
            steps += [("token", w, "reasoning") for w in self.words()]
        if rng.random() < 0.7:
            steps += [("token", w, "text") for w in self.words()]
        calls = []
        lanes = []
        for index in range(rng.choice([0, 0, 1, 2, 3])):
            call_id, name = f"call_{run_id}_{index}", f"tool_{index}"
            text = json.dumps({"q": rng.choice(WORDS)})
            cuts = sorted(rng.sample(range(1, len(text)), min(rng.randint(0, 3), len(text) - 1)))
            pieces = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]
            late = rng.random() < 0.2  # the id and name arrive with the second fragment
            lane = []
            for k, piece in enumerate(pieces):
                known = k >= 1 if late else True
                lane.append(
                    ("chunk", index, call_id if known else None, name if known else "", piece)
                )
            lanes.append(lane)
            calls.append((call_id, name, text))
        while any(lanes):  # interleave the calls' fragments with each other and the text
            lane = rng.choice([lane for lane in lanes if lane])
            steps.insert(rng.randint(0, len(steps)), lane.pop(0))
        for step in steps:
            if step[0] == "token":
                self.add(Token, text=step[1], kind=step[2], name="model", **common)
                if step[2] == "text":
                    self.answer += step[1]
            else:
                _, index, call_id, name, piece = step
                self.add(
                    ToolCallChunk,
                    index=index,
                    tool_call_id=call_id,
                    name=name,
                    args_delta=piece,
                    **common,
                )
        for index, (call_id, name, text) in enumerate(calls):
            self.add(
                ToolCall,
                index=index,
                tool_call_id=call_id,
                name=name,
                args=json.loads(text),
                args_text=text,
                **common,
            )
        self.add(End, name="model", **common)
        return [(call_id, name) for call_id, name, _ in calls]

    def tool_run(self, call_id: str, name: str) -> None:
        rng = self.rng
        run_id = f"t_{call_id}"
        self.add(
            Start,
            run_id=run_id,
            parent_ids=("root",),
            name=name,
            run_type="tool",
            tool_call_id=call_id,
        )
        if rng.random() < 0.6:
            inner = {
                "run_id": f"i_{call_id}",
                "parent_ids": ("root", run_id),
                "run_type": "chat_model",
            }
            self.add(Start, name="inner", **inner)
            for word in self.words():
                self.add(Token, text=word, name="inner", **inner)
                self.inner[call_id] = self.inner.get(call_id, "") + word
            self.add(End, name="inner", **inner)
        outcome = rng.choice(["ok", "ok", "handled", "raised"])
        common = {"run_id": run_id, "parent_ids": ("root",), "name": name, "run_type": "tool"}
        if outcome == "raised":
            self.add(ToolResult, tool_call_id=call_id, error="Boom: secret", **common)
            self.add(End, error="Boom: secret", **common)
        else:
            error = "bad input" if outcome == "handled" else None
            self.add(
                ToolResult,
                tool_call_id=call_id,
                output=f"result of {call_id}",
                error=error,
                **common,
            )
            self.add(End, output=f"result of {call_id}", **common)


def run(protocol: Any, events: list[Event], fail: bool) -> list[dict[str, Any]]:
    out = [message for event in events for message in protocol.feed(event)]
    return out + (protocol.fail(RuntimeError("secret")) if fail else protocol.close())


@settings(max_examples=150, deadline=None)
@given(st.randoms(use_true_random=False), st.booleans())
def test_any_stream_gives_valid_messages_and_puts_text_where_it_belongs(
    rng: random.Random, fail: bool
) -> None:
    build = Streams(rng)
    events = build.build()
    agui = run(AGUIProtocol(thread_id="t", run_id="r"), events, fail)
    for message in agui:
        AGUI_EVENT.validate_python(message)
        assert no_nulls(message) == []
    shown = "".join(m["delta"] for m in agui if m["type"] == "TEXT_MESSAGE_CONTENT")
    assert shown == build.answer
    progress: dict[str, str] = {}
    for m in agui:
        if m["type"] == "ACTIVITY_SNAPSHOT":
            call = m["content"]["toolCallId"]
            progress[call] = progress.get(call, "") + "".join(m["content"]["deltas"])
        elif m["type"] == "ACTIVITY_DELTA":
            progress[call] += m["patch"][0]["value"]
    assert progress == build.inner
    assert "secret" not in json.dumps(agui)
    chunks = run(UIMessageStreamProtocol(), events, fail)
    assert {c["type"] for c in chunks} <= CHUNK_TYPES | {"data-progress"}
    assert all(no_nulls(c) == [] for c in chunks)
    assert "".join(c["delta"] for c in chunks if c["type"] == "text-delta") == build.answer
    assert "secret" not in json.dumps(chunks)


async def test_random_streams_pass_both_real_clients() -> None:
    jobs, expected = [], []
    for seed in range(40):
        build = Streams(random.Random(seed))
        events = build.build()
        fail = seed % 5 == 4
        agui = run(AGUIProtocol(thread_id="t", run_id="r"), events, fail)
        chunks = run(UIMessageStreamProtocol(), events, fail)
        jobs.append({"client": "ag-ui", "body": sse_body(agui)})
        jobs.append({"client": "ai-sdk", "body": sse_body(chunks, done=True)})
        expected.append((build.answer, fail))
    results = await run_clients(jobs)
    for (answer, fail), agui, ui in zip(expected, results[::2], results[1::2], strict=True):
        assert agui["ok"], agui["error"]
        assert agui["warnings"] == [] and ui["warnings"] == []
        text = "".join(m.get("content") or "" for m in agui["messages"] if m["role"] == "assistant")
        assert text == answer
        assert ui["ok"], ui["error"]
        assert ui["errors"] == (
            ["Error: the run failed; the server log has the details"] if fail else []
        )
        parts = ui["message"]["parts"] if ui["message"] else []
        assert "".join(p["text"] for p in parts if p["type"] == "text") == answer
