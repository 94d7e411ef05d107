"""astream_log (RunLogPatch streams) normalized into the same events as astream_events v2.

Real runs through ``astream_log`` are compared with ``astream_events`` v2 of the same
scripted run; hand-built patches cover what real runs of this LangChain version do not
write (older shapes, escaped keys, malformed ops).
"""

from __future__ import annotations

import asyncio
import json
import sys
import tracemalloc
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from langchain.agents import create_agent
from langchain_core.agents import AgentAction, AgentActionMessageLog, AgentFinish, AgentStep
from langchain_core.language_models.fake import FakeStreamingListLLM
from langchain_core.load import dumpd
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    FunctionMessage,
    HumanMessage,
)
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnableLambda
from langchain_core.runnables.utils import AddableDict
from langchain_core.tools import ToolException, tool

from eventstream import (
    End,
    MalformedItemError,
    Normalizer,
    RunStateError,
    Start,
    Token,
    ToolCall,
    ToolCallChunk,
    ToolResult,
    normalize,
    select,
)
from eventstream.testing import (
    CAT_QUESTION,
    CAT_SCRIPTS,
    ScriptedChatModel,
    Text,
    build_cat_agent,
    text,
    tool_call,
)

from ..conftest import assert_events_or_our_error, collect

pytestmark = pytest.mark.filterwarnings("ignore:astream_log is deprecated")

CAT_INPUT = {"messages": [("user", CAT_QUESTION)]}
CAT_TAGS = ("agent_llm", "hiding_spot", "get_items")


def script_text(role: str, turn: int = 0) -> str:
    return "".join(step.text for step in CAT_SCRIPTS[role][turn] if isinstance(step, Text))


def cat_agent() -> Any:
    return build_cat_agent(lambda role: ScriptedChatModel(turns=CAT_SCRIPTS[role]))


async def log_of(runnable: Any, value: Any, **kwargs: Any) -> list[Any]:
    """The raw astream_log items of one run."""
    return await collect(runnable.astream_log(value, **kwargs))


async def v2_of(runnable: Any, value: Any, **kwargs: Any) -> list[Any]:
    raw = runnable.astream_events(value, version="v2", **kwargs)
    return await collect(normalize(raw, strict=True))


def events_of(raw: list[Any]) -> list[Any]:
    return list(normalize(raw, strict=True))


def joined(events: list[Any], **criteria: Any) -> str:
    return "".join(e.text for e in select(events, types=["token"], **criteria))


def calls(events: list[Any]) -> list[tuple[str, str | None, dict[str, Any]]]:
    return [(e.name, e.tool_call_id, e.args) for e in events if isinstance(e, ToolCall)]


def results(events: list[Any]) -> list[tuple[str | None, Any, str | None]]:
    return sorted(
        ((e.tool_call_id, e.output, e.error) for e in events if isinstance(e, ToolResult)),
        key=repr,
    )


def starts(events: list[Any]) -> Counter[tuple[str, str]]:
    return Counter((e.name, e.run_type) for e in events if isinstance(e, Start))


def assert_well_formed(events: list[Any]) -> None:
    """Every run starts once and ends once; seq counts without gaps."""
    assert [e.seq for e in events] == list(range(len(events)))
    started = [e.run_id for e in events if isinstance(e, Start)]
    ended = [e.run_id for e in events if isinstance(e, End)]
    assert len(set(started)) == len(started)
    assert sorted(started) == sorted(ended)
    for event in events:
        assert event.parent_ids == ()


@pytest.fixture(scope="module")
def cat_log() -> list[Any]:
    return asyncio.run(log_of(cat_agent(), CAT_INPUT))


@pytest.fixture(scope="module")
def cat_v2() -> list[Any]:
    return asyncio.run(v2_of(cat_agent(), CAT_INPUT))


# -- conformance with astream_events v2 -------------------------------------------------


def test_cat_agent_log_gives_the_same_events_as_v2(cat_log: list[Any], cat_v2: list[Any]) -> None:
    events = events_of(cat_log)
    assert_well_formed(events)
    for tag in CAT_TAGS:
        assert joined(events, tags=tag) == joined(cat_v2, tags=tag), tag
    assert joined(events, tags="agent_llm") == script_text("agent", 2)
    assert calls(events) == calls(cat_v2)
    assert [c[:2] for c in calls(events)] == [
        ("where_cat_is_hiding", "call_hide_1"),
        ("get_items", "call_items_2"),
        ("cat_mood", "call_mood_3"),
    ]
    assert results(events) == results(cat_v2)
    assert len(results(events)) == 3
    assert starts(events) == starts(cat_v2)
    # Chat models are logged as "llm"; the key's ":2" counters are not part of names.
    assert starts(events)[("ScriptedChatModel", "chat_model")] == 4
    assert all(":" not in name for name, _ in starts(events))
    # Tool runs are linked to the call that started them.
    tool_starts = {e.name: e.tool_call_id for e in events if isinstance(e, Start)}
    assert tool_starts["get_items"] == "call_items_2"
    assert tool_starts["cat_mood"] == "call_mood_3"


def test_token_order_and_chunks_match_v2(cat_log: list[Any], cat_v2: list[Any]) -> None:
    events = events_of(cat_log)

    def pieces(stream: list[Any]) -> list[tuple[str, str]]:
        return [
            (e.type, e.text if isinstance(e, Token) else e.args_delta)
            for e in stream
            if isinstance(e, Token | ToolCallChunk) and "agent_llm" in e.tags
        ]

    assert pieces(events) == pieces(cat_v2)


async def test_lcel_chain_gives_the_same_events_as_v2() -> None:
    def chain() -> Any:
        model = ScriptedChatModel(turns=[text("Paris is the capital of France.")])
        return ChatPromptTemplate.from_messages([("human", "{q}")]) | model | StrOutputParser()

    events = events_of(await log_of(chain(), {"q": "capital?"}))
    v2 = await v2_of(chain(), {"q": "capital?"})
    assert_well_formed(events)
    # The parser and the sequence stream the same text again: no token twice.
    assert [t.text for t in events if isinstance(t, Token)] == [
        t.text for t in v2 if isinstance(t, Token)
    ]
    assert joined(events) == "Paris is the capital of France."
    assert starts(events) == starts(v2)
    assert sorted(run_type for _, run_type in starts(events)) == [
        "chain",
        "chat_model",
        "parser",
        "prompt",
    ]
    root_end = events[-1]
    assert isinstance(root_end, End) and root_end.name == "RunnableSequence"
    assert root_end.output == v2[-1].output == "Paris is the capital of France."


async def test_llm_that_is_not_a_chat_model() -> None:
    def chain() -> Any:
        llm = FakeStreamingListLLM(responses=["hello there world"])
        return ChatPromptTemplate.from_template("{q}") | llm

    events = events_of(await log_of(chain(), {"q": "hi"}))
    v2 = await v2_of(chain(), {"q": "hi"})
    assert joined(events) == joined(v2) == "hello there world"
    assert starts(events) == starts(v2)
    (llm_end,) = [e for e in events if isinstance(e, End) and e.run_type == "llm"]
    assert llm_end.output == "hello there world"


async def test_tool_error_as_tool_message_status_error() -> None:
    @tool
    def flaky(x: int) -> str:
        """Fails politely."""
        raise ToolException(f"cannot handle {x}")

    flaky.handle_tool_error = True

    def agent() -> Any:
        model = ScriptedChatModel(
            turns=[tool_call("flaky", {"x": 3}, id="f1"), text("Sorry, it failed.")]
        )
        return create_agent(model, [flaky], name="agent")

    value = {"messages": [("user", "go")]}
    events = events_of(await log_of(agent(), value))
    v2 = await v2_of(agent(), value)
    assert results(events) == results(v2) == [("f1", "cannot handle 3", "cannot handle 3")]
    assert calls(events) == calls(v2)
    assert joined(events) == joined(v2) == "Sorry, it failed."


async def test_tool_that_raises_gets_no_invented_result_or_error() -> None:
    class Boom(RuntimeError):
        pass

    @tool
    def explode(x: int) -> str:
        """Raises."""
        raise Boom(f"exploded on {x}")

    model = ScriptedChatModel(turns=[tool_call("explode", {"x": 1}, id="e1"), text("unused")])
    agent = create_agent(model, [explode], name="agent")
    events: list[Any] = []
    with pytest.raises(Boom):
        async for event in normalize(agent.astream_log({"messages": [("user", "go")]})):
            events.append(event)
    assert_well_formed(events)
    # The log records the tool's end but neither its error nor an output.
    assert not [e for e in events if isinstance(e, ToolResult)]
    (tool_end,) = [e for e in events if isinstance(e, End) and e.run_type == "tool"]
    assert tool_end.error is None and tool_end.output is None
    # The root ends with the error the source raised.
    assert events[-1].name == "agent" and "exploded on 1" in (events[-1].error or "")


async def test_model_that_does_not_stream_gives_text_and_calls_from_its_output() -> None:
    def chain() -> Any:
        model = ScriptedChatModel(
            turns=[[*text("all at once"), *tool_call("f", {"a": 1}, id="q1")]],
            disable_streaming=True,
        )
        return ChatPromptTemplate.from_messages([("human", "{q}")]) | model

    raw = await log_of(chain(), {"q": "x"})
    assert not [op for item in raw for op in item.ops if "streamed_output_str" in op["path"]]
    events = events_of(raw)
    v2 = await v2_of(chain(), {"q": "x"})
    assert joined(events) == joined(v2) == "all at once"
    assert calls(events) == calls(v2) == [("f", "q1", {"a": 1})]


# -- include filters ----------------------------------------------------------------


async def test_include_types_tool_and_llm_as_in_the_seed(cat_v2: list[Any]) -> None:
    raw = await log_of(cat_agent(), CAT_INPUT, include_types=["tool", "llm"])
    events = events_of(raw)
    assert_well_formed(events)
    for tag in CAT_TAGS:
        assert joined(events, tags=tag) == joined(cat_v2, tags=tag), tag
    assert calls(events) == calls(cat_v2)
    assert results(events) == results(cat_v2)
    # Only the root is a chain: the graph's nodes were left out of the log.
    assert [name for (name, run_type) in starts(events) if run_type == "chain"] == ["cat_agent"]
    assert {run_type for _, run_type in starts(events)} == {"chain", "tool", "chat_model"}


async def test_include_names_leaves_out_the_agent_model(cat_v2: list[Any]) -> None:
    names = ["get_items", "Get Items LLM"]
    raw = await log_of(cat_agent(), CAT_INPUT, include_names=names)
    events = events_of(raw)
    assert_well_formed(events)
    assert set(starts(events)) == {
        ("cat_agent", "chain"),
        ("get_items", "tool"),
        ("Get Items LLM", "chat_model"),
    }
    assert joined(events, tags="get_items") == script_text("items")
    assert not calls(events)  # the model that made them is not in the log
    # Only the tool in the log gives a result: the root's output shows the others',
    # but no source derives results from it (astream_events with the same filter
    # gives the same).
    by_run = {e.tool_call_id: e.run_type for e in events if isinstance(e, ToolResult)}
    assert by_run == {"call_items_2": "tool"}
    filtered_v2 = await v2_of(cat_agent(), CAT_INPUT, include_names=names)
    assert results(events) == results(filtered_v2)
    assert calls(events) == calls(filtered_v2)


async def test_include_tags_keeps_the_calls_and_derives_no_results() -> None:
    raw = await log_of(cat_agent(), CAT_INPUT, include_tags=["agent_llm"])
    events = events_of(raw)
    assert_well_formed(events)
    assert starts(events) == Counter(
        {("cat_agent", "chain"): 1, ("ScriptedChatModel", "chat_model"): 3}
    )
    assert joined(events, tags="agent_llm") == script_text("agent", 2)
    filtered_v2 = await v2_of(cat_agent(), CAT_INPUT, include_tags=["agent_llm"])
    assert calls(events) == calls(filtered_v2) and len(calls(events)) == 3
    assert not [e for e in events if isinstance(e, ToolResult)]
    assert results(filtered_v2) == []


# -- the other forms: RunLog, JSON ----------------------------------------------------


def summary(events: list[Any]) -> tuple[Any, ...]:
    return (
        tuple(joined(events, tags=tag) for tag in CAT_TAGS),
        calls(events),
        results(events),
        starts(events),
        # Parallel tools interleave differently from run to run: compare as multisets.
        Counter((e.type, e.name, e.run_type) for e in events),
    )


def sequence(events: list[Any]) -> list[tuple[Any, ...]]:
    return [(e.seq, e.type, e.run_id, e.name, getattr(e, "text", None)) for e in events]


async def test_diff_false_run_log_form(cat_log: list[Any]) -> None:
    raw = await log_of(cat_agent(), CAT_INPUT, diff=False)
    assert type(raw[-1]).__name__ == "RunLog"
    events = events_of(raw)
    assert_well_formed(events)
    assert summary(events) == summary(events_of(cat_log))


def test_json_forms_as_recorded(cat_log: list[Any]) -> None:
    as_json = [json.loads(json.dumps([dumpd(op) for op in patch.ops])) for patch in cat_log]
    expected = events_of(cat_log)
    # A patch as a list of op dicts, one op dict per item, LangServe's {"ops": [...]}.
    for raw in (as_json, [op for ops in as_json for op in ops], [{"ops": o} for o in as_json]):
        events = events_of(raw)
        assert sequence(events) == sequence(expected)
        assert summary(events) == summary(expected)


def test_input_items_are_not_changed(cat_log: list[Any]) -> None:
    before = [json.dumps([dumpd(op) for op in patch.ops]) for patch in cat_log]
    events_of(cat_log)
    assert [json.dumps([dumpd(op) for op in patch.ops]) for patch in cat_log] == before


# -- hand-built patches: keys, duplicates, older shapes --------------------------------


def root(name: str = "root", run_id: str = "root-id", type_: str = "chain") -> dict[str, Any]:
    value = {"id": run_id, "name": name, "type": type_}
    return {"op": "replace", "path": "", "value": {**value, "streamed_output": [], "logs": {}}}


def entry(
    key: str, run_id: str, type_: str, name: str | None = None, **extra: Any
) -> dict[str, Any]:
    value: dict[str, Any] = {
        "id": run_id,
        "type": type_,
        "tags": extra.pop("tags", []),
        "metadata": extra.pop("metadata", {}),
        "start_time": "2024-01-12T16:21:21.480+00:00",
        "streamed_output": [],
        "streamed_output_str": [],
        "final_output": None,
        "end_time": None,
        **extra,
    }
    if name is not None:
        value["name"] = name
    return {"op": "add", "path": f"/logs/{key}", "value": value}


def add(path: str, value: Any) -> dict[str, Any]:
    return {"op": "add", "path": path, "value": value}


def token_ops(key: str, chunk: Any, string: str) -> list[dict[str, Any]]:
    """One token as LogStreamCallbackHandler sends it: the string, then the chunk."""
    return [
        add(f"/logs/{key}/streamed_output_str/-", string),
        add(f"/logs/{key}/streamed_output/-", chunk),
    ]


def end_ops(key: str, output: Any) -> list[dict[str, Any]]:
    return [add(f"/logs/{key}/final_output", output), add(f"/logs/{key}/end_time", "t")]


def test_escaped_and_raw_keys_and_counters() -> None:
    chat = {"ls_model_type": "chat"}
    raw = [
        [root()],
        [entry("fetch~1docs", "a", "llm", "fetch/docs", metadata=chat)],
        # LangChain itself does not escape: the same name arrives raw, as the second run.
        [entry("fetch/docs:2", "b", "llm", "fetch/docs", metadata=chat)],
        [entry("a~0b", "c", "llm", metadata=chat)],
        token_ops("fetch~1docs", AIMessageChunk(content="one"), "one"),
        token_ops("fetch/docs:2", AIMessageChunk(content="two"), "two"),
        token_ops("a~0b", AIMessageChunk(content="three"), "three"),
        end_ops("fetch/docs:2", None),
        end_ops("fetch~1docs", None),
        end_ops("a~0b", None),
    ]
    events = events_of(raw)
    assert_well_formed(events)
    by_id = {e.run_id: e.name for e in events if isinstance(e, Start)}
    # Names come from the entry; a name-less entry is named by its unescaped key.
    assert by_id == {"root-id": "root", "a": "fetch/docs", "b": "fetch/docs", "c": "a~b"}
    assert [(t.run_id, t.text) for t in events if isinstance(t, Token)] == [
        ("a", "one"),
        ("b", "two"),
        ("c", "three"),
    ]


async def test_real_names_with_slash_and_tilde() -> None:
    model = ScriptedChatModel(turns=[text("slashed words")]).with_config(run_name="chat/model")
    first = RunnableLambda(lambda x: x).with_config(run_name="fetch/docs")
    chain = first | RunnableLambda(lambda x: x).with_config(run_name="a~b") | model
    raw = await log_of(chain, "hi")
    assert any(op["path"] == "/logs/fetch/docs" for item in raw for op in item.ops)
    events = events_of(raw)
    assert_well_formed(events)
    assert set(starts(events)) == {
        ("RunnableSequence", "chain"),
        ("fetch/docs", "chain"),
        ("a~b", "chain"),
        ("chat/model", "chat_model"),
    }
    assert joined(events, names="chat/model") == "slashed words"


def test_streamed_output_str_repeats_are_not_tokens_twice() -> None:
    raw = [
        [root()],
        [entry("chat", "a", "llm")],  # no hint: what it streams tells
        *(token_ops("chat", AIMessageChunk(content=w), w) for w in ["Hel", "lo", ""]),
        # A run that streams strings only (no object repeats them) still gives each.
        [entry("strings", "b", "llm")],
        [add("/logs/strings/streamed_output_str/-", "a")],
        [add("/logs/strings/streamed_output_str/-", "b")],
        [add("/logs/strings/streamed_output_str/-", "c")],
        end_ops("strings", None),
        end_ops("chat", None),
    ]
    events = events_of(raw)
    assert_well_formed(events)
    assert [(t.run_id, t.text) for t in events if isinstance(t, Token)] == [
        ("a", "Hel"),
        ("a", "lo"),
        ("b", "a"),
        ("b", "b"),
        ("b", "c"),
    ]
    types = {e.run_id: e.run_type for e in events if isinstance(e, Start)}
    assert types == {"root-id": "chain", "a": "chat_model", "b": "llm"}


def test_llm_result_output_with_tool_calls_when_the_model_did_not_stream() -> None:
    message = AIMessage(
        content="Let me look.",
        tool_calls=[{"name": "search", "args": {"q": "cats"}, "id": "s1", "type": "tool_call"}],
    )
    output = {
        "generations": [[{"text": "Let me look.", "type": "ChatGeneration", "message": message}]]
    }
    for form in (output, json.loads(json.dumps(dumpd(output)))):
        raw = [[root()], [entry("ChatOpenAI", "m", "llm")], end_ops("ChatOpenAI", form)]
        events = events_of(raw)
        assert_well_formed(events)
        model_start = next(e for e in events if isinstance(e, Start) and e.run_id == "m")
        assert model_start.run_type == "chat_model"
        assert joined(events) == "Let me look."
        assert calls(events) == [("search", "s1", {"q": "cats"})]


def seed_chunk(**tool_call: Any) -> dict[str, Any]:
    """An AIMessageChunk as a 2024 recording holds it: OpenAI's deltas in additional_kwargs."""
    return {
        "content": "",
        "additional_kwargs": {"tool_calls": [{"index": 0, "type": "function", **tool_call}]},
        "type": "AIMessageChunk",
        "example": False,
    }


def test_openai_function_calling_era_shapes_from_the_seed() -> None:
    final_message = {
        "content": "",
        "type": "AIMessageChunk",
        "additional_kwargs": {
            "tool_calls": [
                {
                    "index": 0,
                    "id": "call_7j1dxpnUzJ1OUQrGaJPqtZes",
                    "function": {"arguments": "{}", "name": "where_cat_is_hiding"},
                    "type": "function",
                }
            ]
        },
    }
    raw = [
        [root("AgentExecutor")],
        [entry("ChatOpenAI", "m", "llm", "ChatOpenAI", tags=["seq:step:3", "agent_llm"])],
        token_ops(
            "ChatOpenAI",
            seed_chunk(
                id="call_7j1dxpnUzJ1OUQrGaJPqtZes",
                function={"arguments": "", "name": "where_cat_is_hiding"},
            ),
            "",
        ),
        token_ops("ChatOpenAI", seed_chunk(function={"arguments": "{}"}), ""),
        end_ops(
            "ChatOpenAI",
            {"generations": [[{"text": "", "message": final_message}]], "llm_output": None},
        ),
        [entry("where_cat_is_hiding", "t", "tool", "where_cat_is_hiding")],
        [entry("ChatOpenAI:2", "h", "llm", "ChatOpenAI", tags=["hiding_spot"])],
        *(
            token_ops("ChatOpenAI:2", {"content": w, "type": "AIMessageChunk"}, w)
            for w in ["The", " Cozy"]
        ),
        end_ops("ChatOpenAI:2", None),
        end_ops("where_cat_is_hiding", {"output": "The Cozy"}),
    ]
    events = events_of(raw)
    assert_well_formed(events)
    assert calls(events) == [("where_cat_is_hiding", "call_7j1dxpnUzJ1OUQrGaJPqtZes", {})]
    chunks = [e for e in events if isinstance(e, ToolCallChunk)]
    assert [c.args_delta for c in chunks] == ["", "{}"]
    assert results(events) == [("call_7j1dxpnUzJ1OUQrGaJPqtZes", "The Cozy", None)]
    assert joined(events, tags="hiding_spot") == "The Cozy"
    assert {e.run_type for e in events if isinstance(e, Start) and e.name == "ChatOpenAI"} == {
        "chat_model"
    }


def test_observations_in_the_root_output_give_no_result() -> None:
    # An early LangGraph agent: the tool's run was filtered out of the log, its
    # observation comes back as a FunctionMessage in the graph's output. No source
    # derives a result from a graph's output: the call stays unanswered, as in v2.
    raw = [
        [root("LangGraph")],
        [entry("ChatOpenAI", "m", "llm")],
        token_ops(
            "ChatOpenAI",
            seed_chunk(id="c9", function={"name": "search", "arguments": '{"q": 1}'}),
            "",
        ),
        end_ops("ChatOpenAI", None),
        [
            add(
                "/streamed_output/-",
                {"action": {"messages": [FunctionMessage(name="search", content="42")]}},
            )
        ],
    ]
    events = events_of(raw)
    assert_well_formed(events)
    assert calls(events) == [("search", "c9", {"q": 1})]
    assert not [e for e in events if isinstance(e, ToolResult)]


def test_agent_actions_in_the_root_output_give_no_call() -> None:
    action = AgentAction(tool="search", tool_input={"q": "cats"}, log="Invoking search")
    finish = AgentFinish(return_values={"output": "Cats sleep a lot."}, log="done")
    raw = [
        [root("RunnableAgent")],
        [
            add("/streamed_output/-", [action]),
            {"op": "replace", "path": "/final_output", "value": [action]},
        ],
        [
            add("/streamed_output/-", finish),
            {"op": "replace", "path": "/final_output", "value": finish},
        ],
    ]
    events = events_of(raw)
    assert_well_formed(events)
    assert not [e for e in events if isinstance(e, ToolCall)]
    assert events[-1].output is finish


def classic_executor() -> Any:
    """An AgentExecutor-shaped runnable: it streams actions, steps and the output, as
    AddableDicts, while a real model and a real tool run inside it."""

    @tool
    def lookup(place: str) -> str:
        """What is in a place."""
        return f"a sock in {place}"

    model = ScriptedChatModel(
        turns=[tool_call("lookup", {"place": "the basket"}, id="c1"), text("A sock.")]
    ).with_config(tags=["agent_llm"])

    async def executor(inputs: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        messages: list[BaseMessage] = [HumanMessage(inputs["input"])]
        while True:
            message: Any = None
            async for chunk in model.astream(messages):
                message = chunk if message is None else message + chunk
            if not message.tool_calls:
                yield AddableDict(output=message.content, messages=[message])
                return
            actions = [
                AgentActionMessageLog(
                    tool=c["name"], tool_input=c["args"], log="", message_log=[message]
                )
                for c in message.tool_calls
            ]
            yield AddableDict(actions=actions, messages=[message])
            steps = [
                AgentStep(action=a, observation=await lookup.ainvoke(a.tool_input)) for a in actions
            ]
            observations = [
                FunctionMessage(name=s.action.tool, content=s.observation) for s in steps
            ]
            yield AddableDict(steps=steps, messages=observations)
            messages += [message, *observations]

    return RunnableLambda(executor).with_config(run_name="AgentExecutor")


@pytest.mark.parametrize(
    ("filters", "call_from", "result_from"),
    [
        ({}, "chat_model", "tool"),
        ({"include_types": ["tool"]}, None, "tool"),
        ({"include_types": ["llm"]}, "chat_model", None),
        ({"include_names": ["nothing"]}, None, None),
    ],
)
async def test_classic_agent_gives_what_the_runs_in_the_log_give(
    filters: dict[str, Any], call_from: str | None, result_from: str | None
) -> None:
    value = {"input": "what is in the basket?"}
    events = events_of(await log_of(classic_executor(), value, **filters))
    assert_well_formed(events)
    # The call comes from the model's run and the result from the tool's, when the
    # log holds them; the executor's actions and steps give nothing of their own.
    found_calls = [e for e in events if isinstance(e, ToolCall)]
    found_results = [e for e in events if isinstance(e, ToolResult)]
    assert [c.run_type for c in found_calls] == ([call_from] if call_from else [])
    assert [r.run_type for r in found_results] == ([result_from] if result_from else [])
    for call in found_calls:
        assert (call.name, call.args, call.tool_call_id) == (
            "lookup",
            {"place": "the basket"},
            "c1",
        )
    for result in found_results:
        assert (result.output, result.error) == ("a sock in the basket", None)
    # astream_events with the same filters gives the same calls and results (it types
    # chat models "chat_model" where the log types them "llm").
    if filters.get("include_types") == ["llm"]:
        filters = {"include_types": ["chat_model"]}
    v2 = await v2_of(classic_executor(), value, **filters)
    assert calls(events) == calls(v2) and results(events) == results(v2)
    if not filters:
        assert joined(events) == joined(v2) == "A sock."
    root_end = events[-1]
    assert root_end.name == "AgentExecutor" and root_end.output["output"] == "A sock."


# -- bad input ------------------------------------------------------------------------

GOOD_START = [[root()], [entry("m", "m1", "llm", "m", metadata={"ls_model_type": "chat"})]]


@pytest.mark.parametrize(
    ("bad", "error", "words"),
    [
        (
            [{"op": "frobnicate", "path": "/logs/m"}],
            MalformedItemError,
            ["item 2", "op 0", "frobnicate"],
        ),
        (
            [add("/logs/m/end_time", "t"), {"op": "add", "path": 7}],
            MalformedItemError,
            ["item 2", "op 1", "path"],
        ),
        (
            [add("/logs/ghost/streamed_output/-", "x")],
            MalformedItemError,
            ["op 0", "/logs/ghost/streamed_output/-"],
        ),
        (
            [add("/logs/m/streamed_output/3", "x")],
            MalformedItemError,
            ["op 0", "/logs/m/streamed_output/3"],
        ),
        (
            [{"op": "add", "path": "/logs/m/streamed_output/-"}],
            MalformedItemError,
            ["op 0", "'value'"],
        ),
        (
            [{"op": "replace", "path": "/logs/m/streamed_output/-", "value": 1}],
            MalformedItemError,
            ["op 0", "'add'"],
        ),
        (
            [add("/logs/m/streamed_output_str/-", 42)],
            MalformedItemError,
            ["op 0", "streamed string"],
        ),
        ([entry("m", "m2", "llm")], RunStateError, ["op 0", "added already"]),
        ([entry("n", "m1", "llm")], RunStateError, ["op 0", "m1", "started already"]),
        ([entry("n", "n1", "llm", tags="oops")], MalformedItemError, ["op 0", "tags"]),
        ([root("again", "other")], RunStateError, ["op 0", "second root"]),
        ([add("/name", "x")], MalformedItemError, ["op 0", "'/name'"]),
        (
            [{"op": "remove", "path": "/final_output/missing"}],
            MalformedItemError,
            ["op 0", "root's output"],
        ),
        ("not a patch", MalformedItemError, ["item 2", "RunLogPatch"]),
        ({"event": "on_chain_start", "run_id": "x"}, MalformedItemError, ["item 2", "one format"]),
    ],
)
def test_strict_mode_names_the_item_the_op_and_its_path(
    bad: Any, error: type[Exception], words: list[str]
) -> None:
    with pytest.raises(error) as raised:
        list(normalize([*GOOD_START, bad], strict=True))
    for word in words:
        assert word in str(raised.value)


def test_op_before_the_root_started() -> None:
    with pytest.raises(MalformedItemError, match=r"item 0: op 0 .*before its start"):
        list(normalize([[add("/streamed_output/-", 1)]], strict=True))


def test_lenient_mode_skips_the_bad_op_only() -> None:
    chunk = AIMessageChunk(content="kept")
    stream = normalize(
        [
            *GOOD_START,
            [add("/logs/m/streamed_output/-", chunk), {"op": "add"}, add("/logs/m/end_time", "t")],
        ]
    )
    events = list(stream)
    assert stream.normalizer.skipped == 1
    assert joined(events) == "kept"
    assert_well_formed(events)


def test_one_format_per_stream() -> None:
    event = {"event": "on_chain_start", "run_id": "x", "name": "x", "data": {}}
    with pytest.raises(MalformedItemError, match="item 1: an astream_log item"):
        list(normalize([event, [root()]], strict=True))
    stream = normalize([event, [root()], [add("/streamed_output/-", 1)]])
    assert [e.type for e in stream] == ["start", "end"]
    assert stream.normalizer.skipped == 2
    # RunLog items (diff=False) carry every op so far: they do not mix with patches.
    from langchain_core.tracers.log_stream import RunLog, RunLogPatch

    run_log = RunLog(root(), state={})  # type: ignore[typeddict-item]
    with pytest.raises(MalformedItemError, match="item 1: RunLog items"):
        list(normalize([RunLogPatch(root()), run_log], strict=True))


def test_stream_ending_early_ends_open_runs_and_the_root() -> None:
    raw = [
        *GOOD_START,
        token_ops("m", AIMessageChunk(content="cut"), "cut"),
        [entry("quiet", "q1", "llm")],  # no hint and nothing streamed yet
        [{"op": "replace", "path": "/final_output", "value": {"partial": True}}],
    ]
    events = events_of(raw)
    assert_well_formed(events)
    ends = {e.run_id: e for e in events if isinstance(e, End)}
    assert "before this run ended" in (ends["m1"].error or "")
    assert "before this run ended" in (ends["q1"].error or "")
    # The root ends with what its output was: the log never ends it explicitly.
    assert events[-1].run_id == "root-id" and events[-1].error is None
    assert events[-1].output == {"partial": True}


def test_deep_final_output_ops_build_the_root_output_without_changing_the_input() -> None:
    first = {"messages": ["a"]}
    raw = [
        [root()],
        [{"op": "replace", "path": "/final_output", "value": first}],
        [add("/final_output/messages/1", "b"), add("/final_output/output", "x")],
        [{"op": "replace", "path": "/final_output/output", "value": "xy"}],
        [{"op": "copy", "from": "/final_output/output", "path": "/final_output/again"}],
        [{"op": "remove", "path": "/final_output/messages/0"}],
        [{"op": "test", "path": "/final_output/output", "value": "xy"}],
    ]
    events = events_of(raw)
    assert events[-1].output == {"messages": ["b"], "output": "xy", "again": "xy"}
    assert first == {"messages": ["a"]}


ops = st.fixed_dictionaries(
    {
        "op": st.sampled_from(["add", "replace", "remove", "move", "copy", "test", "bogus"]),
        "path": st.sampled_from(
            [
                "",
                "/streamed_output/-",
                "/final_output",
                "/final_output/a",
                "/final_output/a/-",
                "/logs/m",
                "/logs/m~1x",
                "/logs/m/x/end_time",
                "/logs/m/streamed_output/-",
                "/logs/m/streamed_output_str/-",
                "/logs/m/final_output",
                "/logs/m/end_time",
                "/logs/t",
                "/logs/t/final_output",
                "/logs/t/end_time",
                "/nope",
            ]
        ),
    },
    optional={
        "from": st.sampled_from(["/final_output/a", "/final_output", "/logs/m", 3]),
        "value": st.one_of(
            st.none(),
            st.text(max_size=3),
            st.sampled_from(
                [
                    {"id": "r", "name": "root", "type": "chain"},
                    {"id": "m1", "name": "m", "type": "llm"},
                    {"id": "t1", "name": "t", "type": "tool"},
                    {"id": "x", "name": "m/x", "type": "llm", "inputs": {"messages": []}},
                    {"id": "r", "type": "chain", "logs": {"m": {"id": "m1", "type": "llm"}}},
                    {"output": "done"},
                    {"generations": [[{"text": "x"}]]},
                    {"content": "hi", "type": "AIMessageChunk"},
                    {"actions": [{"tool": "t", "tool_input": {}}]},
                    [1, 2],
                ]
            ),
        ),
    },
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(ops, min_size=1, max_size=4), max_size=8))
def test_any_ops_yield_events_or_our_error(raw: list[Any]) -> None:
    assert_events_or_our_error(raw)


# -- linear time and flat memory, structurally -------------------------------------


def answering_chain(tokens: int) -> Any:
    words = " ".join(f"w{i}" for i in range(tokens))
    model = ScriptedChatModel(turns=[text(words)])
    return ChatPromptTemplate.from_messages([("human", "{q}")]) | model | StrOutputParser()


@pytest.fixture(scope="module")
def small_and_large() -> tuple[list[Any], list[Any]]:
    async def both() -> tuple[list[Any], list[Any]]:
        return (
            await log_of(answering_chain(300), {"q": "go"}),
            await log_of(answering_chain(3000), {"q": "go"}),
        )

    return asyncio.run(both())


def count_calls(raw: list[Any]) -> int:
    normalizer = Normalizer(strict=True)
    count = 0

    def profile(frame: Any, event: str, arg: Any) -> None:
        nonlocal count
        if event in ("call", "c_call"):
            count += 1

    sys.setprofile(profile)
    try:
        for item in raw:
            normalizer.feed(item)
        normalizer.close()
    finally:
        sys.setprofile(None)
    return count


def test_work_per_op_does_not_grow_with_the_tokens(
    small_and_large: tuple[list[Any], list[Any]],
) -> None:
    small, large = small_and_large
    small_ops = sum(len(item.ops) for item in small)
    large_ops = sum(len(item.ops) for item in large)
    assert large_ops > 9 * small_ops
    # Function calls made while normalizing: proportional to the ops, not to their square.
    per_op_small = count_calls(small) / small_ops
    per_op_large = count_calls(large) / large_ops
    assert per_op_large <= per_op_small * 1.05


def retained_mid_run(raw: list[Any]) -> tuple[int, int]:
    """Bytes the normalizer holds after the model's last token (its run still open)."""
    last_token = max(
        i
        for i, item in enumerate(raw)
        if any(
            op["path"].endswith("/streamed_output/-") and "Scripted" in op["path"]
            for op in item.ops
        )
    )
    normalizer = Normalizer(strict=True)
    for item in raw[:3]:  # warm up: first allocations of a stream are not growth
        normalizer.feed(item)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for item in raw[3 : last_token + 1]:
            normalizer.feed(item)
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert normalizer.format == "astream_log"
    return held, len(normalizer.open_runs)


def test_memory_does_not_grow_with_the_tokens(
    small_and_large: tuple[list[Any], list[Any]],
) -> None:
    small, large = small_and_large
    held_small, entries_small = retained_mid_run(small)
    held_large, entries_large = retained_mid_run(large)
    assert entries_small == entries_large
    # 2,700 more tokens: a list of them alone would hold 21,600 bytes of pointers.
    assert held_large - held_small < 4_000


# -- the same events as every other source ---------------------------------------------


async def test_a_structured_response_gives_the_results_v2_gives() -> None:
    # ToolStrategy writes a "Returning structured response" ToolMessage with no tool
    # run behind it: only the log's root output shows it, so no source derives it.
    from langchain.agents.structured_output import ToolStrategy
    from pydantic import BaseModel

    class Answer(BaseModel):
        city: str

    def agent() -> Any:
        model = ScriptedChatModel(turns=[tool_call("Answer", {"city": "Paris"}, id="s1")])
        return create_agent(model, [], response_format=ToolStrategy(Answer))

    value = {"messages": [("user", "where?")]}
    log = events_of(await log_of(agent(), value))
    v2 = await v2_of(agent(), value)
    assert calls(log) == calls(v2) == [("Answer", "s1", {"city": "Paris"})]
    assert results(log) == results(v2) == []


async def test_concurrent_calls_of_one_tool_never_name_the_wrong_call() -> None:
    @tool
    async def lookup(place: str) -> str:
        """What is in a place."""
        return f"a sock in {place}"

    from eventstream.testing import interleave

    turn = interleave(
        tool_call("lookup", {"place": "the basket"}, id="c1"),
        tool_call("lookup", {"place": "the box"}, id="c2", index=1),
    )
    agent = create_agent(ScriptedChatModel(turns=[turn, text("Socks.")]), [lookup])
    raw = await log_of(agent, {"messages": [("user", "where are the socks?")]})
    # The tool runs started in the other order (threads, a busy loop): the second one's
    # add moves before the first one's (a swap could put an add after that run's output).
    adds = [
        i
        for i, item in enumerate(raw)
        if any(
            op["path"].startswith("/logs/lookup") and op["path"].count("/") == 2 for op in item.ops
        )
    ]
    assert len(adds) == 2
    raw.insert(adds[0], raw.pop(adds[1]))
    events = events_of(raw)
    result_of = {e.run_id: e.tool_call_id for e in events if isinstance(e, ToolResult)}
    assert sorted(result_of.values()) == ["c1", "c2"]
    for start in (e for e in events if isinstance(e, Start) and e.run_type == "tool"):
        # The log records no inputs: two calls of that tool wait, either could be it.
        assert start.tool_call_id in (None, result_of[start.run_id])


# -- the oracle: jsonpatch applying the same ops to the run log ---------------------------


def test_the_reader_agrees_with_jsonpatch_applied_to_the_run_log() -> None:
    """Our linear reader never rebuilds the log; ``jsonpatch`` does, op by op, and every
    run, token and output we report must agree with the state it builds."""
    import jsonpatch

    from eventstream import replay

    fixture = Path(__file__).parent.parent.parent / "fixtures" / "cat_agent.log.jsonl"
    normalizer = Normalizer(strict=True)
    state: Any = {}
    events: list[Any] = []
    for item in replay(fixture):
        events += normalizer.feed(item)
        state = jsonpatch.apply_patch(state, item.ops)
        logs = state["logs"].values()
        still_open = {e["id"] for e in logs if e["end_time"] is None} | {state["id"]}
        assert set(normalizer.open_runs) == still_open
    events += normalizer.close()
    starts = {e.run_id: e for e in events if isinstance(e, Start)}
    ends = {e.run_id: e for e in events if isinstance(e, End)}
    for entry in state["logs"].values():
        run_id = entry["id"]
        assert (starts[run_id].name, ends[run_id].name) == (entry["name"], entry["name"])
        assert starts[run_id].tags == tuple(entry["tags"])
        tokens = "".join(e.text for e in events if isinstance(e, Token) and e.run_id == run_id)
        if entry["type"] == "llm":
            assert tokens == "".join(entry["streamed_output_str"])
            message = entry["final_output"]["generations"][0][0]["message"]
            called = [
                (c.tool_call_id, c.args)
                for c in events
                if isinstance(c, ToolCall) and c.run_id == run_id
            ]
            assert called == [(c["id"], c["args"]) for c in message.tool_calls]
        else:
            assert tokens == ""
    assert ends[state["id"]].output == state["final_output"]
    assert set(starts) == set(ends) == {state["id"]} | {e["id"] for e in state["logs"].values()}
