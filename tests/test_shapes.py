"""Provider streaming shapes through real LangChain runnables, v1 and v2."""

from __future__ import annotations

from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.callbacks import adispatch_custom_event
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnableLambda
from langchain_core.tools import ToolException, tool

from eventstream import End, Start, Token, ToolCall, ToolResult, normalize, select
from eventstream.testing import (
    Fail,
    ScriptedChatModel,
    ToolCallPiece,
    interleave,
    reasoning,
    text,
    tool_call,
)

from .conftest import collect

VERSIONS = ["v1", "v2"]


async def run(runnable: Any, value: Any, version: str = "v2", **kwargs: Any) -> list[Any]:
    return await collect(
        normalize(runnable.astream_events(value, version=version, **kwargs), strict=True)
    )


def joined(events: list[Any], **criteria: Any) -> str:
    return "".join(e.text for e in select(events, types=["token"], **criteria))


@pytest.mark.parametrize("version", VERSIONS)
async def test_lcel_chain_tokens_come_once_from_the_model(version: str) -> None:
    model = ScriptedChatModel(turns=[text("Paris is the capital of France.")])
    chain = ChatPromptTemplate.from_messages([("human", "{q}")]) | model | StrOutputParser()
    events = await run(chain, {"q": "capital?"}, version)
    tokens = [e for e in events if isinstance(e, Token)]
    # The parser and the sequence stream the same text again: no token twice.
    assert "".join(t.text for t in tokens) == "Paris is the capital of France."
    assert {t.run_type for t in tokens} == {"chat_model"}
    assert [t.text for t in tokens] == [s.text for s in text("Paris is the capital of France.")]
    run_types = [e.run_type for e in events if isinstance(e, Start)]
    assert sorted(run_types) == ["chain", "chat_model", "parser", "prompt"]
    root_end = events[-1]
    assert isinstance(root_end, End) and root_end.output == "Paris is the capital of France."


@pytest.mark.parametrize("content_format", ["blocks", "anthropic"])
@pytest.mark.parametrize("version", VERSIONS)
async def test_content_blocks_give_reasoning_and_text(version: str, content_format: str) -> None:
    model = ScriptedChatModel(
        turns=[[*reasoning("Cats like warm places."), *text("The basket.")]],
        content_format=content_format,
    )
    events = await run(model, "where?", version)
    tokens = [e for e in events if isinstance(e, Token)]
    assert "".join(t.text for t in tokens if t.kind == "reasoning") == "Cats like warm places."
    assert "".join(t.text for t in tokens if t.kind == "text") == "The basket."
    assert all(t.text for t in tokens)


@pytest.mark.parametrize("version", VERSIONS)
async def test_sequential_interleaved_and_one_shot_calls(version: str) -> None:
    turn = [
        *tool_call("search", {"q": "cats"}, id="c1", index=0, pieces=4),
        *interleave(
            tool_call("lookup", {"id": 7}, id="c2", index=1),
            tool_call("lookup", {"id": 8}, id="c3", index=2),
        ),
        *tool_call("ping", {}, id="c4", index=3, pieces=0),
        ToolCallPiece(index=4, id="c5", name="noargs"),
    ]
    events = await run(ScriptedChatModel(turns=[turn]), "go", version)
    calls = [e for e in events if isinstance(e, ToolCall)]
    assert [(c.index, c.tool_call_id, c.name, c.args, c.error) for c in calls] == [
        (0, "c1", "search", {"q": "cats"}, None),
        (1, "c2", "lookup", {"id": 7}, None),
        (2, "c3", "lookup", {"id": 8}, None),
        (3, "c4", "ping", {}, None),
        (4, "c5", "noargs", {}, None),
    ]
    chunks = [e for e in events if e.type == "tool_call_chunk"]
    assert len(chunks) == sum(1 for _ in turn)
    # Calls are announced when the model run ends, right before its End.
    end_index = next(
        i for i, e in enumerate(events) if isinstance(e, End) and e.run_type == "chat_model"
    )
    assert all(events.index(c) < end_index for c in calls)
    assert all(events.index(c) > events.index(chunks[-1]) for c in calls)


@pytest.mark.parametrize("version", VERSIONS)
async def test_arguments_that_do_not_parse_give_an_error_not_an_exception(version: str) -> None:
    turn = [
        *tool_call("search", '{"q": cats}', id="bad", pieces=2),
        *tool_call("search", "[1, 2]", id="list", index=1, pieces=1),
    ]
    events = await run(ScriptedChatModel(turns=[turn]), "go", version)
    bad, not_object = [e for e in events if isinstance(e, ToolCall)]
    assert (
        bad.args == {} and bad.args_text == '{"q": cats}' and "not valid JSON" in (bad.error or "")
    )
    assert not_object.args == {} and "not an object" in (not_object.error or "")


@pytest.mark.parametrize("version", VERSIONS)
async def test_cut_off_arguments_are_what_langchain_will_run(version: str) -> None:
    # A model cut off mid-arguments: LangChain parses the partial JSON and runs the tool
    # with {"city": "Par"} under this call id; the ToolCall says the same, not "invalid".
    turn = tool_call("weather", '{"city": "Par', id="cut", pieces=3)
    events = await run(ScriptedChatModel(turns=[turn]), "go", version)
    (call,) = [e for e in events if isinstance(e, ToolCall)]
    assert (call.args, call.error, call.args_text) == ({"city": "Par"}, None, '{"city": "Par')


def agent_with(tools: list[Any], turns: list[Any]) -> Any:
    return create_agent(ScriptedChatModel(turns=turns), tools, name="agent")


async def test_tool_error_as_tool_message_status_error() -> None:
    @tool
    def flaky(x: int) -> str:
        """Fails politely."""
        raise ToolException(f"cannot handle {x}")

    flaky.handle_tool_error = True

    agent = agent_with([flaky], [tool_call("flaky", {"x": 3}, id="f1"), text("Sorry, it failed.")])
    events = await run(agent, {"messages": [("user", "go")]})
    (result,) = [e for e in events if isinstance(e, ToolResult)]
    assert result.tool_call_id == "f1"
    assert result.error == "cannot handle 3"
    assert result.output == "cannot handle 3"
    assert joined(events, run_types=["chat_model"]) == "Sorry, it failed."


async def test_tool_that_raises_ends_with_the_error_and_the_source_raises() -> None:
    class Boom(RuntimeError):
        pass

    @tool
    def explode(x: int) -> str:
        """Raises."""
        raise Boom(f"exploded on {x}")

    agent = agent_with([explode], [tool_call("explode", {"x": 1}, id="e1"), text("unused")])
    events: list[Any] = []
    stream = normalize(agent.astream_events({"messages": [("user", "go")]}, version="v2"))
    with pytest.raises(Boom) as raised:
        async for event in stream:
            events.append(event)
    assert str(raised.value) == "exploded on 1"
    (result,) = [e for e in events if isinstance(e, ToolResult)]
    assert result.tool_call_id == "e1" and result.error == "Boom: exploded on 1"
    assert result.output is None
    # Every run that started also ended, the root last, all with the error.
    starts = [e.run_id for e in events if isinstance(e, Start)]
    ends = [e for e in events if isinstance(e, End)]
    assert sorted(starts) == sorted(e.run_id for e in ends)
    assert ends[-1].name == "agent" and "exploded on 1" in (ends[-1].error or "")


@pytest.mark.parametrize("version", VERSIONS)
async def test_failure_mid_stream_ends_open_runs_innermost_first(version: str) -> None:
    model = ScriptedChatModel(turns=[[*text("one two three"), Fail("provider hung up")]])
    chain = (ChatPromptTemplate.from_messages([("human", "{q}")]) | model).with_config(
        run_name="outer"
    )
    events: list[Any] = []
    with pytest.raises(RuntimeError) as raised:
        async for event in normalize(chain.astream_events({"q": "x"}, version=version)):
            events.append(event)
    assert str(raised.value) == "provider hung up"
    assert joined(events) == "one two three"
    ends = [e for e in events if isinstance(e, End)]
    open_before_failure = {e.run_id for e in events if isinstance(e, Start)} - {
        e.run_id for e in ends if e.error is None
    }
    failed = [e for e in ends if e.error]
    assert {e.run_id for e in failed} == open_before_failure
    # v1 reports the model run as ended (with no output and no error): it cannot know.
    expected = ["chat_model", "chain"] if version == "v2" else ["chain"]
    assert [e.run_type for e in failed] == expected
    assert all("provider hung up" in (e.error or "") for e in failed)


async def test_custom_events_carry_their_name_and_data() -> None:
    async def work(x: str) -> str:
        await adispatch_custom_event("progress", {"step": 1, "of": 2})
        await adispatch_custom_event("progress", {"step": 2, "of": 2})
        return x.upper()

    chain = RunnableLambda(work).with_config(run_name="worker")
    events = await run(chain, "hi")
    customs = [e for e in events if e.type == "custom"]
    assert [(c.name, c.data) for c in customs] == [
        ("progress", {"step": 1, "of": 2}),
        ("progress", {"step": 2, "of": 2}),
    ]
    worker = next(e for e in events if isinstance(e, Start))
    assert {c.run_id for c in customs} == {worker.run_id}
    assert [e.name for e in select(events, names=["progress"])] == ["progress", "progress"]


async def test_stream_filtered_by_include_tags_starts_runs_when_first_seen() -> None:
    model = ScriptedChatModel(turns=[text("tagged text")]).with_config(tags=["keep"])
    chain = ChatPromptTemplate.from_messages([("human", "{q}")]) | model
    raw = await collect(chain.astream_events({"q": "x"}, version="v2", include_tags=["keep"]))
    assert all("keep" in item["tags"] for item in raw)
    # Drop the model's start, as a stream picked up mid-run would.
    raw = [item for item in raw if item["event"] != "on_chat_model_start"]
    events = list(normalize(raw, strict=True))
    assert isinstance(events[0], Start) and events[0].input is None
    assert joined(events) == "tagged text"
    assert isinstance(events[-1], End) and events[-1].output.content == "tagged text"


async def test_model_that_does_not_stream_still_gives_its_text_and_calls() -> None:
    model = ScriptedChatModel(
        turns=[[*text("all at once"), *tool_call("f", {"a": 1}, id="q1")]],
        disable_streaming=True,
    )
    raw = await collect(model.astream_events("x", version="v2"))
    assert not [item for item in raw if item["event"] == "on_chat_model_stream"]
    events = list(normalize(raw, strict=True))
    assert joined(events) == "all at once"
    (call,) = [e for e in events if isinstance(e, ToolCall)]
    assert (call.name, call.tool_call_id, call.args) == ("f", "q1", {"a": 1})
