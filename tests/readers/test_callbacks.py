"""CallbackSource: a run's callbacks read as the same events as ``astream_events`` v2.

Every run here is a real LangChain runnable under ``ainvoke`` (no ``astream``): the
source is a streaming handler, so its models stream anyway. Conformance compares each
scenario with ``normalize(astream_events(version="v2"))`` of the same scripted run;
the differences the callback route forces are pinned in their own tests.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections import Counter
from typing import Any
from uuid import uuid4

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from langchain_core.callbacks import AsyncCallbackHandler, adispatch_custom_event
from langchain_core.messages import AIMessageChunk
from langchain_core.output_parsers import StrOutputParser
from langchain_core.outputs import ChatGenerationChunk
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnableLambda
from langchain_core.tracers._streaming import _StreamingCallbackHandler

from eventstream import (
    CallbackSource,
    CallbackSourceError,
    Custom,
    End,
    Normalizer,
    RunStateError,
    Start,
    Token,
    ToolCall,
    ToolResult,
    normalize,
    select,
)
from eventstream._readers.callbacks import Callback
from eventstream.testing import (
    ANSWER_TEXT,
    CAT_SCRIPTS,
    HIDING_SPOT,
    ITEMS_TEXT,
    SCENARIOS,
    OpenAIServer,
    ScriptedChatModel,
    build_cat_agent,
    text,
)

from ..conftest import CAT_INPUT, assert_events_or_our_error, collect, scripted
from ..test_conformance import CASES, events_of
from ..test_conformance import summary as conformance_summary


def cat_agent() -> Any:
    return build_cat_agent(scripted)


def chain(words: str = "Paris is the capital of France.") -> Any:
    model = ScriptedChatModel(turns=[text(words)])
    return ChatPromptTemplate.from_messages([("human", "{q}")]) | model | StrOutputParser()


async def via_callbacks(runnable: Any, value: Any, **options: Any) -> list[Any]:
    """The events of one ``ainvoke`` read through a CallbackSource."""
    source = CallbackSource(**options)
    run = runnable.ainvoke(value, config={"callbacks": [source]})
    task = source.follow(asyncio.create_task(run))
    events = await collect(normalize(source, strict=True))
    await task
    return events


async def until_raise(stream: Any) -> tuple[list[Any], BaseException | None]:
    events: list[Any] = []
    try:
        async for event in stream:
            events.append(event)
    except Exception as exc:
        return events, exc
    return events, None


async def via_v2(runnable: Any, value: Any) -> list[Any]:
    return await collect(normalize(runnable.astream_events(value, version="v2"), strict=True))


def summary(events: list[Any]) -> dict[str, Any]:
    """What conformance compares: the run tree (by names), the text of each run, the
    calls, the results, how each run ended. Run ids differ from run to run."""
    names = {e.run_id: e.name for e in events if isinstance(e, Start)}

    def path(event: Any) -> tuple[str, ...]:
        return (*(names.get(p, "?") for p in event.parent_ids), names[event.run_id])

    text: dict[tuple[str, ...], str] = {}
    for event in events:
        if isinstance(event, Token):
            text[path(event)] = text.get(path(event), "") + event.text
    return {
        "tree": Counter(
            (path(e), e.run_type, e.tags, e.tool_call_id) for e in events if isinstance(e, Start)
        ),
        "text": text,
        "calls": [
            (e.name, e.tool_call_id, e.args, e.index) for e in events if isinstance(e, ToolCall)
        ],
        "results": sorted(
            (repr(e.tool_call_id), repr(e.output), repr(e.error))
            for e in events
            if isinstance(e, ToolResult)
        ),
        # A model's output is an AIMessage under ainvoke and an AIMessageChunk when a
        # chain streams it (astream_events): how the chain ran, not the source.
        "ends": Counter(
            (path(e), e.error, repr(getattr(e.output, "content", e.output))[:60], e.usage)
            for e in events
            if isinstance(e, End)
        ),
    }


def assert_well_formed(events: list[Any]) -> None:
    assert [e.seq for e in events] == list(range(len(events)))
    started = [e.run_id for e in events if isinstance(e, Start)]
    ended = [e.run_id for e in events if isinstance(e, End)]
    assert len(set(started)) == len(started) and sorted(started) == sorted(ended)


# -- conformance with astream_events v2 ------------------------------------------------


async def test_cat_agent_under_ainvoke_gives_the_same_events_as_v2() -> None:
    events = await via_callbacks(cat_agent(), CAT_INPUT)
    v2 = await via_v2(cat_agent(), CAT_INPUT)
    assert_well_formed(events)
    assert summary(events) == summary(v2)
    assert Counter(e.type for e in events) == Counter(e.type for e in v2)
    assert "".join(e.text for e in select(events, types=["token"], tags=["agent_llm"])) == (
        ANSWER_TEXT
    )
    # Ancestry as v2 builds it: select(inside=...) finds the tool's own LLM.
    assert "".join(e.text for e in select(events, types=["token"], inside=["get_items"])) == (
        ITEMS_TEXT
    )
    root = events[-1]
    assert isinstance(root, End) and root.name == "cat_agent" and root.parent_ids == ()
    items_llm = next(e for e in events if isinstance(e, Start) and e.name == "Get Items LLM")
    assert [next(s.name for s in events if s.run_id == p) for p in items_llm.parent_ids] == [
        "cat_agent",
        "tools",
        "get_items",
        "RunnableSequence",
    ]


@pytest.mark.parametrize("name", ["parallel_tools", "tool_error", "nested_agent"])
async def test_scenarios_give_the_same_events_as_v2(name: str) -> None:
    scenario = SCENARIOS[name]

    def build() -> Any:
        return scenario.build(lambda role: ScriptedChatModel(turns=scenario.scripts[role]))

    events = await via_callbacks(build(), scenario.input)
    v2 = await via_v2(build(), scenario.input)
    assert_well_formed(events)
    assert summary(events) == summary(v2)
    if name == "tool_error":
        (result,) = [e for e in events if isinstance(e, ToolResult)]
        assert result.error == "order A-17 does not exist"
        assert result.tool_call_id == "call_order_1"


async def test_a_plain_chain_streams_under_ainvoke() -> None:
    events = await via_callbacks(chain(), {"q": "capital?"})
    v2 = await via_v2(chain(), {"q": "capital?"})
    assert summary(events) == summary(v2)
    assert [e.text for e in events if isinstance(e, Token)] == [
        "Paris",
        " is",
        " the",
        " capital",
        " of",
        " France.",
    ]
    assert sorted(e.run_type for e in events if isinstance(e, Start)) == [
        "chain",
        "chat_model",
        "parser",
        "prompt",
    ]
    root = events[-1]
    assert isinstance(root, End) and root.output == "Paris is the capital of France."


async def test_without_a_streaming_handler_ainvoke_gives_no_tokens() -> None:
    """Why the source is a streaming handler: a plain async handler sees no token."""

    class Plain(AsyncCallbackHandler):
        def __init__(self) -> None:
            self.tokens: list[str] = []

        async def on_llm_new_token(self, token: str, **kwargs: Any) -> None:
            self.tokens.append(token)

    plain = Plain()
    await chain().ainvoke({"q": "capital?"}, config={"callbacks": [plain]})
    assert plain.tokens == []
    assert isinstance(CallbackSource(), _StreamingCallbackHandler)
    # LangGraph checks the class itself, not the protocol.
    assert _StreamingCallbackHandler in type(CallbackSource()).__mro__


async def test_chat_openai_without_streaming_true_streams_to_the_source() -> None:
    """The cat agent on ChatOpenAI against the local server, ``streaming`` left unset:
    the source alone makes each model stream over HTTP."""
    from langchain_openai import ChatOpenAI
    from pydantic import SecretStr

    async with OpenAIServer(CAT_SCRIPTS) as server:

        def make(role: str) -> Any:
            return ChatOpenAI(
                base_url=server.base_url, api_key=SecretStr("test"), model=role, max_retries=0
            )

        agent = build_cat_agent(make)
        events = await via_callbacks(agent, CAT_INPUT)
        assert all(body.get("stream") is True for body in server.requests)
    assert "".join(e.text for e in select(events, types=["token"], tags=["agent_llm"])) == (
        ANSWER_TEXT
    )
    assert "".join(e.text for e in select(events, types=["token"], tags=["hiding_spot"])) == (
        HIDING_SPOT
    )
    assert [(e.name, e.tool_call_id) for e in events if isinstance(e, ToolCall)] == [
        ("where_cat_is_hiding", "call_hide_1"),
        ("get_items", "call_items_2"),
        ("cat_mood", "call_mood_3"),
    ]


async def test_a_model_alone_is_the_root_and_ends_the_stream() -> None:
    model = ScriptedChatModel(turns=[text("just a model")])
    events = await via_callbacks(model, "hi")
    assert [e.type for e in events] == ["start", "token", "token", "token", "end"]
    assert events[0].run_type == "chat_model" and events[0].parent_ids == ()
    (messages,) = events[0].input["messages"]
    assert [m.content for m in messages] == ["hi"]
    assert events[-1].output.content == "just a model"


async def test_custom_events_are_read_as_v2_reads_them() -> None:
    async def step(value: str) -> str:
        await adispatch_custom_event("progress", {"done": 1})
        return value.upper()

    runnable = RunnableLambda(step)
    events = await via_callbacks(runnable, "x")
    v2 = await via_v2(RunnableLambda(step), "x")
    custom = [e for e in events if isinstance(e, Custom)]
    assert [(e.name, e.data) for e in custom] == [("progress", {"done": 1})]
    assert custom[0].run_id == events[0].run_id
    assert [(e.name, e.data) for e in v2 if isinstance(e, Custom)] == [("progress", {"done": 1})]


# -- what the callback route carries that v2 does not ----------------------------------


async def test_a_failing_run_raises_its_own_exception_after_ending_every_run() -> None:
    scenario = SCENARIOS["tool_crash"]

    def build() -> Any:
        return scenario.build(lambda role: ScriptedChatModel(turns=scenario.scripts[role]))

    source = CallbackSource()
    task = source.follow(
        asyncio.create_task(build().ainvoke(scenario.input, config={"callbacks": [source]}))
    )
    events, raised = await until_raise(normalize(source, strict=True))
    with pytest.raises(ConnectionError) as failed:
        await task
    assert raised is failed.value  # the run's own exception, not a copy
    v2_events, v2_raised = await until_raise(
        normalize(build().astream_events(scenario.input, version="v2"))
    )
    assert isinstance(v2_raised, ConnectionError)
    assert_well_formed(events)
    ours, theirs = summary(events), summary(v2_events)
    for key in ("tree", "text", "calls", "results"):
        assert ours[key] == theirs[key], key
    (result,) = [e for e in events if isinstance(e, ToolResult)]
    assert result.error == "ConnectionError: sensor cat_flap is offline"
    # Every run ends with the error here, as v2 ends the runs it never saw end.
    errors = {e.name: e.error for e in events if isinstance(e, End)}
    assert errors["read_sensor"] == errors["sensor_agent"] == result.error


async def test_models_and_chains_that_raise_end_with_their_own_error() -> None:
    """v2 has no error event for a chain or a model: a model that raised inside a tool
    that caught it ends there when its parent ends, with a note; here, with its error."""

    async def careful(question: str) -> str:
        try:
            return await ScriptedChatModel(turns=[[]]).ainvoke([("user", "a"), ("ai", "b")])  # type: ignore[return-value]
        except ValueError:
            return "no answer"

    runnable = RunnableLambda(careful)
    events = await via_callbacks(runnable, "q")
    v2 = await via_v2(RunnableLambda(careful), "q")
    model_end = next(e for e in events if isinstance(e, End) and e.run_type == "chat_model")
    v2_end = next(e for e in v2 if isinstance(e, End) and e.run_type == "chat_model")
    assert model_end.error is not None and model_end.error.startswith(
        "ValueError: ScriptedChatModel"
    )
    assert v2_end.error == "the run's parent ended before this run reported an end"
    assert events[-1].output == v2[-1].output == "no answer"


async def test_tool_runs_name_their_call_from_the_callback() -> None:
    events = await via_callbacks(cat_agent(), CAT_INPUT)
    tools = {
        e.name: e.tool_call_id for e in events if isinstance(e, Start) and e.run_type == "tool"
    }
    assert tools == {
        "where_cat_is_hiding": "call_hide_1",
        "get_items": "call_items_2",
        "cat_mood": "call_mood_3",
    }


# -- memory: the bound, backpressure, a reader that leaves ---------------------------


async def settle(turns: int = 200) -> None:
    """Let the loop run everything that can run (the run stops only where it waits)."""
    for _ in range(turns):
        await asyncio.sleep(0)


async def test_at_the_bound_the_run_waits_for_the_reader_and_nothing_is_lost() -> None:
    words = " ".join(f"w{i}" for i in range(40))
    source = CallbackSource(maxsize=4)
    task = asyncio.create_task(chain(words).ainvoke({"q": "go"}, config={"callbacks": [source]}))
    await settle()
    assert source.buffered == 4 and not task.done()  # waiting: 40 tokens to go
    await settle()
    assert source.buffered == 4 and not task.done()
    events = await collect(normalize(source, strict=True))
    assert await task == words
    assert "".join(e.text for e in events if isinstance(e, Token)) == words
    assert source.dropped == 0 and source.buffered == 0
    assert_well_formed(events)


async def test_a_cancelled_run_finishes_at_the_bound_and_its_runs_end_with_the_cancel() -> None:
    # Room for the chain's and prompt's starts, the prompt's end, the model's start and
    # two tokens: the run waits inside the model's stream.
    source = CallbackSource(maxsize=6)
    words = " ".join(f"w{i}" for i in range(30))
    task = asyncio.create_task(chain(words).ainvoke({"q": "go"}, config={"callbacks": [source]}))
    await settle()
    assert source.buffered == 6 and not task.done()
    task.cancel()
    await settle()
    assert task.cancelled()  # its error callbacks never wait for room
    events = await collect(normalize(source, strict=True))
    assert_well_formed(events)
    errors = {e.name: e.error for e in events if isinstance(e, End)}
    assert errors["ChatPromptTemplate"] is None  # it ended before the cancel
    assert errors["RunnableSequence"] == "CancelledError: "
    # LangChain reports no error for the model run it cancelled: it ends with its parent.
    assert errors["ScriptedChatModel"] == "the run's parent ended before this run reported an end"


async def test_a_reader_that_stops_early_frees_the_run() -> None:
    words = " ".join(f"w{i}" for i in range(50))
    source = CallbackSource(maxsize=2)
    task = asyncio.create_task(chain(words).ainvoke({"q": "go"}, config={"callbacks": [source]}))
    events = aiter(normalize(source))
    while not isinstance(await anext(events), Token):
        pass
    await events.aclose()  # type: ignore[attr-defined]  # what leaving ``async for`` does
    assert await asyncio.wait_for(task, 10) == words
    assert source.dropped > 0 and source.buffered == 0


# -- threads: read with `for` while the run runs on another thread's loop -------------


def test_sync_reading_from_a_thread_while_the_run_runs_on_another_loop() -> None:
    source = CallbackSource(maxsize=3)
    outcome: dict[str, Any] = {}

    def run() -> None:
        agent = cat_agent()
        outcome["state"] = asyncio.run(agent.ainvoke(CAT_INPUT, config={"callbacks": [source]}))

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        future = source.follow(pool.submit(run))
        events = list(normalize(source, strict=True))
        future.result()
    v2 = asyncio.run(via_v2(cat_agent(), CAT_INPUT))
    assert summary(events) == summary(v2)
    assert outcome["state"]["messages"][-1].content == ANSWER_TEXT


def test_async_reading_on_one_loop_while_the_run_runs_on_another() -> None:
    source = CallbackSource(maxsize=2)
    thread = threading.Thread(
        target=lambda: asyncio.run(chain().ainvoke({"q": "go"}, config={"callbacks": [source]}))
    )

    async def read() -> list[Any]:
        thread.start()
        return await collect(normalize(source, strict=True))

    events = asyncio.run(read())
    thread.join(10)
    assert (
        "".join(e.text for e in events if isinstance(e, Token)) == "Paris is the capital of France."
    )


def test_sync_invoke_in_a_thread_streams_to_a_sync_reader() -> None:
    source = CallbackSource()
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        future = source.follow(
            pool.submit(chain().invoke, {"q": "go"}, config={"callbacks": [source]})
        )
        events = list(normalize(source, strict=True))
        assert future.result() == "Paris is the capital of France."
    assert [e.text for e in events if isinstance(e, Token)][:2] == ["Paris", " is"]


# -- misuse fails loudly ------------------------------------------------------------


async def test_reading_with_for_inside_an_event_loop_is_refused() -> None:
    with pytest.raises(CallbackSourceError, match="use 'async for'"):
        list(normalize(CallbackSource()))


async def test_a_source_is_read_once() -> None:
    source = CallbackSource()
    source.follow(asyncio.create_task(chain().ainvoke({"q": "go"}, config={"callbacks": [source]})))
    await collect(normalize(source))
    with pytest.raises(CallbackSourceError, match="read once"):
        await collect(normalize(source))


async def test_a_run_that_never_calls_the_source_is_an_error_not_silence() -> None:
    source = CallbackSource()
    source.follow(asyncio.create_task(chain().ainvoke({"q": "go"})))  # not in config
    with pytest.raises(CallbackSourceError, match=r"config=\{'callbacks': \[source\]\}"):
        await collect(normalize(source))


async def test_a_run_that_fails_before_its_first_callback_raises_its_error() -> None:
    async def broken() -> None:
        raise KeyError("no such agent")

    source = CallbackSource()
    source.follow(asyncio.create_task(broken()))
    with pytest.raises(KeyError, match="no such agent"):
        await collect(normalize(source))


def test_maxsize_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive integer"):
        CallbackSource(maxsize=0)


# -- the reader alone: records in, events or our error out ---------------------------

RUN, CHILD = uuid4(), uuid4()


def record(event: str, run_id: Any = RUN, parent: Any = None, *data: Any, **kwargs: Any) -> Any:
    return Callback(event, run_id, parent, data, kwargs)


def test_a_token_for_a_run_that_ended_is_a_run_state_error() -> None:
    chunk = ChatGenerationChunk(message=AIMessageChunk(content="hi"))
    raw = [
        record("chat_model_start", RUN, None, {"name": "m"}, [[]]),
        record("llm_end", RUN, None, None),
        record("llm_new_token", RUN, None, "hi", chunk=chunk),
    ]
    with pytest.raises(RunStateError, match="which already ended"):
        list(normalize(raw, strict=True))
    normalizer = Normalizer()
    events = [e for item in raw for e in normalizer.feed(item)]
    assert normalizer.skipped == 1 and [e.type for e in events] == ["start", "end"]


def test_parent_ids_are_built_root_first_from_parent_run_ids() -> None:
    grandchild = uuid4()
    raw = [
        record("chain_start", RUN, None, {"name": "root"}, {}),
        record("chain_start", CHILD, RUN, {"name": "child"}, {}),
        record("tool_start", grandchild, CHILD, {"name": "t"}, "", tool_call_id="c1"),
    ]
    events = list(normalize(raw, strict=True))
    assert [e.parent_ids for e in events if isinstance(e, Start)] == [
        (),
        (str(RUN),),
        (str(RUN), str(CHILD)),
    ]
    assert events[2].tool_call_id == "c1"


names = st.sampled_from(
    [
        "chain_start",
        "chat_model_start",
        "llm_start",
        "tool_start",
        "retriever_start",
        "llm_new_token",
        "chain_end",
        "llm_end",
        "tool_end",
        "chain_error",
        "tool_error",
        "custom_event",
        "nonsense",
    ]
)
values = st.one_of(
    st.none(),
    st.integers(),
    st.text(max_size=3),
    st.dictionaries(st.sampled_from(["name", "id", "input"]), st.text(max_size=3), max_size=2),
    st.lists(st.text(max_size=2), max_size=2),
)
records = st.builds(
    Callback,
    st.one_of(names, st.just(["llm_new_token"])),
    st.sampled_from([RUN, CHILD, "r3", 7, ["unhashable"]]),
    st.sampled_from([None, RUN, CHILD]),
    st.one_of(st.tuples(values, values), st.tuples(values), values),
    st.dictionaries(st.sampled_from(["tags", "metadata", "name", "chunk", "tool_call_id"]), values),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(records, max_size=10))
def test_any_records_yield_events_or_our_error(raw: list[Any]) -> None:
    assert_events_or_our_error(raw)


# -- every conformance scenario, by the conformance suite's own measure ---------------


@pytest.mark.parametrize("name", sorted(CASES))
async def test_every_conformance_scenario_matches_v2(name: str) -> None:
    """``tests/test_conformance.py``'s scenarios (reasoning blocks included) and its
    summary of what every source must agree on, for the callback route."""
    scenario = CASES[name]
    content_format = "blocks" if name == "reasoning" else "string"

    def make(role: str) -> Any:
        return ScriptedChatModel(turns=scenario.scripts[role], content_format=content_format)

    source = CallbackSource()
    run = scenario.build(make).ainvoke(scenario.input, config={"callbacks": [source]})
    task = source.follow(asyncio.create_task(run))
    events, raised = await until_raise(normalize(source, strict=True))
    outcome = await asyncio.gather(task, return_exceptions=True)
    assert (raised is not None) == scenario.raises
    if raised is not None:
        assert outcome[0] is raised
    got = conformance_summary(events)
    want = conformance_summary(await events_of(name, "v2"))
    assert got == want
