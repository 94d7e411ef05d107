"""Only the answer: the three ways agents mark it, on real agents (scripted models in
process, and ChatOpenAI against the local OpenAI-compatible server)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.language_models import BaseChatModel

from eventstream import (
    AnswerEnd,
    AnswerReader,
    AnswerText,
    End,
    Event,
    NoAncestryError,
    Start,
    Token,
    ToolCall,
    ToolCallChunk,
    answer,
    normalize,
    replay,
)
from eventstream.testing import (
    ANSWER_TEXT,
    CAT_QUESTION,
    CAT_SCRIPTS,
    MATH_ANSWER,
    MATH_INTRO,
    MATH_QUESTION,
    MATH_SCRIPTS,
    MOOD_TEXT,
    Fail,
    OpenAIServer,
    ScriptedChatModel,
    Step,
    Text,
    build_cat_agent,
    build_math_agent,
    chat_model,
    interleave,
    reasoning,
    text,
    tool_call,
)

from .conftest import cat_events

AnswerItem = AnswerText | AnswerEnd

FIXTURES = Path(__file__).parent.parent / "fixtures"

Route = Callable[[dict[str, list[list[Step]]]], Any]


def texts(items: list[AnswerItem], turn: int | None = None) -> str:
    return "".join(
        i.text for i in items if isinstance(i, AnswerText) and (turn is None or i.turn == turn)
    )


def ends(items: list[AnswerItem]) -> list[AnswerEnd]:
    return [i for i in items if isinstance(i, AnswerEnd)]


async def run_answer(agent: Any, question: str, **options: Any) -> list[AnswerItem]:
    """Live: the agent's astream_events v2, normalized, through answer(), async."""
    raw = agent.astream_events({"messages": [("user", question)]}, version="v2")
    return [item async for item in answer(normalize(raw), **options)]


@pytest.fixture(params=["scripted", "openai"])
def route(request: pytest.FixtureRequest) -> Iterator[Route]:
    """How the models are made: ScriptedChatModel, or ChatOpenAI on the local server.
    Gives a function from scripts (per role) to a ``make_model(role)``."""
    if request.param == "scripted":
        yield lambda scripts: lambda role: ScriptedChatModel(turns=scripts[role])
        return
    servers: list[OpenAIServer] = []

    def on_server(scripts: dict[str, list[list[Step]]]) -> Any:
        server = OpenAIServer(scripts).start()
        servers.append(server)
        return lambda role: chat_model(server, role)

    yield on_server
    for server in servers:
        server.stop()


# -- 1. the agent's own text, each turn marked final or not ------------------------------

SAYING = "Let me find where the cat is hiding."
THEN = "It is in the laundry basket; now the items and its mood."
TALKATIVE_CAT = {
    **CAT_SCRIPTS,
    "agent": [
        [*text(SAYING), *tool_call("where_cat_is_hiding", {}, id="call_hide_1")],
        [
            *text(THEN),
            *interleave(
                tool_call("get_items", {"place": "the laundry basket"}, id="call_items_2"),
                tool_call("cat_mood", {"spot": "the laundry basket"}, id="call_mood_3", index=1),
            ),
        ],
        list(text(ANSWER_TEXT)),
    ],
}


async def test_intermediate_turns_say_text_and_only_the_last_is_final(route: Route) -> None:
    agent = build_cat_agent(route(TALKATIVE_CAT))
    items = await run_answer(agent, CAT_QUESTION)
    assert [(e.turn, e.final, e.tool_calls) for e in ends(items)] == [
        (0, False, ("where_cat_is_hiding",)),
        (1, False, ("get_items", "cat_mood")),
        (2, True, ()),
    ]
    assert (texts(items, 0), texts(items, 1), texts(items, 2)) == (SAYING, THEN, ANSWER_TEXT)
    # Each turn's text comes before its end; turns never interleave here.
    order = [(i.turn, i.type) for i in items]
    assert order == sorted(order, key=lambda t: (t[0], t[1] == "answer_end"))
    # The tools' own LLMs (the items list, the mood) never reach the answer.
    assert "warm and fuzzy" not in texts(items) and "smug and very" not in texts(items)


@pytest.mark.parametrize(
    ("fixture", "options"),
    [
        ("cat_agent.v2.jsonl", {}),
        ("cat_agent.v2.jsonl", {"tags": "agent_llm"}),
        ("cat_agent.v1.jsonl", {"tags": ["agent_llm"]}),
        ("cat_agent.log.jsonl", {"tags": "agent_llm"}),
        ("cat_agent.v2.jsonl", {"names": "ChatOpenAI"}),
    ],
)
def test_every_recorded_source_gives_the_same_answer(fixture: str, options: Any) -> None:
    items = list(answer(normalize(replay(FIXTURES / fixture)), **options))
    assert texts(items) == ANSWER_TEXT
    assert [e.final for e in ends(items)][-1] is True
    assert texts(items, ends(items)[-1].turn) == ANSWER_TEXT


def test_without_ancestry_names_and_tags_are_all_there_is() -> None:
    # cat_mood's LLM is also a ChatOpenAI: with parent ids it is inside a tool; without
    # them only a tag the agent's model alone carries tells them apart.
    with_ids = list(answer(normalize(replay(FIXTURES / "cat_agent.v2.jsonl")), names="ChatOpenAI"))
    assert texts(with_ids) == ANSWER_TEXT
    log = list(answer(normalize(replay(FIXTURES / "cat_agent.log.jsonl")), names="ChatOpenAI"))
    assert texts(log) == MOOD_TEXT + ANSWER_TEXT


@pytest.mark.parametrize("fixture", ["cat_agent.v1.jsonl", "cat_agent.log.jsonl"])
def test_without_ancestry_the_default_mode_asks_for_tags_or_names(fixture: str) -> None:
    with pytest.raises(NoAncestryError) as raised:
        list(answer(normalize(replay(FIXTURES / fixture))))
    message = str(raised.value)
    assert "carries no parent ids" in message
    assert "pass tags=[...] or names=[...]" in message
    assert "'agent_llm'" in message  # the run's own tags, to copy from


def test_the_agent_inside_a_tool_is_not_the_answer() -> None:
    # nested_agent: the concierge's tool runs the whole cat agent (its model tagged
    # agent_llm too); ancestry keeps the inner agent's text out, tags or not.
    events = list(normalize(replay(FIXTURES / "nested_agent.v2.jsonl")))
    for options in ({}, {"tags": "agent_llm"}):
        items = list(answer(events, **options))
        assert [(e.turn, e.final, e.tool_calls) for e in ends(items)] == [
            (0, False, ("ask_cat_expert",)),
            (1, True, ()),
        ]
        assert ANSWER_TEXT not in texts(items)
        assert texts(items).startswith("The expert says:")


def test_reasoning_is_not_answer_text() -> None:
    model = ScriptedChatModel(
        turns=[[*reasoning("Think it over."), *text("Forty-two.")]], content_format="blocks"
    )
    agent = create_agent(model, [], name="thinker")
    items = asyncio.run(run_answer(agent, "?"))
    assert texts(items) == "Forty-two."
    assert [e.final for e in ends(items)] == [True]


def test_a_failing_turn_ends_with_its_error_and_is_not_final() -> None:
    model = ScriptedChatModel(turns=[[*text("Half an"), Fail("provider dropped")]])
    agent = create_agent(model, [], name="fragile")

    async def run() -> list[AnswerItem]:
        got: list[AnswerItem] = []
        raw = agent.astream_events({"messages": [("user", "?")]}, version="v2")
        with pytest.raises(RuntimeError, match="provider dropped"):
            async for item in answer(normalize(raw)):
                got.append(item)
        return got

    items = asyncio.run(run())
    assert texts(items) == "Half an"
    [end] = ends(items)
    assert end.final is False and end.error is not None and "provider dropped" in end.error


# -- 2. a string argument of the final_answer tool ---------------------------------------------


async def test_final_answer_tool_streams_its_answer_field(route: Route) -> None:
    agent = build_math_agent(route(MATH_SCRIPTS))
    items = await run_answer(agent, MATH_QUESTION, tool="final_answer", field="answer")
    pieces = [i for i in items if isinstance(i, AnswerText)]
    assert texts(items) == MATH_ANSWER  # every character exactly once, in order
    assert len(pieces) > 20  # as the fragments came, not at the end
    assert {p.turn for p in pieces} == {1}
    [end] = ends(items)
    assert end.final and end.error is None and end.turn == 1
    assert end.args == {"answer": MATH_ANSWER, "tools_used": ["add"]}
    # The turn before only talked and called add: nothing of it is the answer.
    assert MATH_INTRO not in texts(items)


def test_the_answer_streams_before_the_call_completes() -> None:
    raw = asyncio.run(math_events())
    reader = AnswerReader(tool="final_answer", field="answer")
    first_text_at = None
    for event in normalize(raw):
        got = reader.feed(event)
        if first_text_at is None and any(isinstance(i, AnswerText) for i in got):
            first_text_at = event.seq
        if isinstance(event, ToolCall) and event.name == "final_answer":
            call_at = event.seq
    assert first_text_at is not None and first_text_at < call_at - 20


async def math_events(scripts: dict[str, list[list[Step]]] = MATH_SCRIPTS) -> list[Any]:
    agent = build_math_agent(lambda role: ScriptedChatModel(turns=scripts[role]))
    return [
        e async for e in agent.astream_events({"messages": [("user", MATH_QUESTION)]}, version="v2")
    ]


def final_answer_scripts(args: str | dict[str, Any], pieces: int) -> dict[str, list[list[Step]]]:
    return {
        "agent": [
            MATH_SCRIPTS["agent"][0],
            list(tool_call("final_answer", args, id="call_final", pieces=pieces)),
        ]
    }


def test_one_character_per_fragment_gives_each_character_once() -> None:
    tricky = 'Quote: "x"\nNew line, tab\t, e\u0301, \u00e9, \U0001f408 and \U0001f600.'
    args = json.dumps({"answer": tricky, "tools_used": ["add"]})  # \ud83d\udc08 escapes
    raw = asyncio.run(math_events(final_answer_scripts(args, pieces=len(args))))
    items = list(answer(normalize(raw), tool="final_answer", field="answer"))
    pieces = [i.text for i in items if isinstance(i, AnswerText)]
    assert pieces == list(tricky)  # one character per piece, none split, none repeated
    assert ends(items)[0].args["answer"] == tricky


def test_a_call_that_does_not_stream_gives_the_answer_whole() -> None:
    common: dict[str, Any] = {"run_id": "m", "run_type": "chat_model", "name": "model"}
    events: list[Event] = [
        Start(seq=0, **common),
        ToolCall(
            seq=1,
            index=0,
            args={"answer": "All at once.", "tools_used": []},
            **{**common, "name": "final_answer"},
        ),
        End(seq=2, **common),
    ]
    items = list(answer(events, tool="final_answer", field="answer"))
    assert items == [
        AnswerText(text="All at once.", turn=0, run_id="m"),
        AnswerEnd(
            turn=0, run_id="m", final=True, args={"answer": "All at once.", "tools_used": []}
        ),
    ]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        ({"answer": 20, "tools_used": ["add"]}, "the field 'answer' is not a string"),
        ({"reply": "20", "tools_used": ["add"]}, "the call has no 'answer' argument"),
        ('{"answer": "20", oops}', "reading the final_answer call's arguments: expected a key"),
    ],
)
def test_an_answer_the_model_got_wrong_ends_with_an_error(
    args: dict[str, Any] | str, says: str
) -> None:
    raw = asyncio.run(math_events(final_answer_scripts(args, pieces=4)))
    items = list(answer(normalize(raw), tool="final_answer", field="answer"))
    [end] = ends(items)
    assert end.final is False
    assert end.error is not None and says in end.error


def test_the_answer_tool_on_sources_without_ancestry() -> None:
    # astream_events v1: no parent ids, but the tool's name is enough.
    agent = build_math_agent(lambda role: ScriptedChatModel(turns=MATH_SCRIPTS[role]))

    async def v1() -> list[Any]:
        return [
            e
            async for e in agent.astream_events(
                {"messages": [("user", MATH_QUESTION)]}, version="v1"
            )
        ]

    items = list(answer(normalize(asyncio.run(v1())), tool="final_answer", field="answer"))
    assert texts(items) == MATH_ANSWER
    assert ends(items)[0].final


# -- 3. ReAct text after a prefix ---------------------------------------------------------------

REACT = [
    "Thought:",
    " I know",
    " this.\n",
    "Final",
    " Ans",
    "wer:",
    " The",
    " cat is",
    " in the basket.",
]


def react_agent(make: Callable[[str], BaseChatModel]) -> Any:
    return create_agent(make("agent"), [], name="react")


async def test_a_prefix_split_across_tokens(route: Route) -> None:
    agent = react_agent(route({"agent": [[Text(t) for t in REACT]]}))
    items = await run_answer(agent, "Where is the cat?", prefix="Final Answer:")
    assert [i.text for i in items if isinstance(i, AnswerText)] == [
        "The",
        " cat is",
        " in the basket.",
    ]
    assert [(e.turn, e.final) for e in ends(items)] == [(0, True)]


async def test_a_prefix_that_never_comes_gives_nothing(route: Route) -> None:
    agent = react_agent(route({"agent": [[Text(t) for t in REACT[:3]] + text(" Final answer.")]}))
    assert await run_answer(agent, "Where is the cat?", prefix="Final Answer:") == []


@pytest.mark.parametrize(
    "tokens",
    [
        ["Final Answer: 42"],
        ["Final Answer:", "\n", " ", "42"],
        ["F", "i", "n", "a", "l", " ", "A", "n", "s", "w", "e", "r", ":", "4", "2"],
        ["Final Ans", "Final Answer", ":  4", "2"],
        ["Thought: Final", " thoughts. Final Answer:42"],
    ],
)
def test_prefix_splits(tokens: list[str]) -> None:
    common: dict[str, Any] = {"run_id": "m", "run_type": "llm", "name": "react"}
    events: list[Event] = [
        Start(seq=0, **common),
        *(Token(seq=i + 1, text=t, **common) for i, t in enumerate(tokens)),
        End(seq=len(tokens) + 1, **common),
    ]
    items = list(answer(events, prefix="Final Answer:"))
    assert texts(items) == "42"
    assert ends(items) == [AnswerEnd(turn=0, run_id="m", final=True)]


# -- the stream: sync and async, read afresh, closed early, bad options -----------------------


def test_sync_and_async_iteration_give_the_same_items() -> None:
    events = list(normalize(asyncio.run(cat_events("v2"))))
    selection = answer(events)
    sync_items = list(selection)
    assert list(selection) == sync_items  # a second reading starts afresh

    async def read() -> list[AnswerItem]:
        return [item async for item in selection]

    assert asyncio.run(read()) == sync_items
    assert texts(sync_items) == ANSWER_TEXT


def test_stopping_early_closes_the_source() -> None:
    events = list(normalize(asyncio.run(cat_events("v2"))))
    closed = []

    def source() -> Iterator[Event]:
        try:
            yield from events
        finally:
            closed.append(True)

    for item in answer(source()):
        if isinstance(item, AnswerText):
            break
    assert closed == [True]


@pytest.mark.parametrize(
    ("options", "says"),
    [
        ({"tool": "final_answer", "prefix": "Final Answer:"}, "tool= or prefix=, not both"),
        ({"tool": "final_answer"}, "needs field=: the name of the string argument"),
        ({"field": "answer"}, "field='answer' needs tool="),
        ({"prefix": ""}, "prefix must be a non-empty string"),
        ({"tool": "final_answer", "field": ""}, "field must be a non-empty string"),
        ({"tags": []}, "tags must be non-empty strings"),
    ],
)
def test_options_that_cannot_work_raise_at_once(options: dict[str, Any], says: str) -> None:
    with pytest.raises(ValueError, match=says):
        answer([], **options)


def test_the_per_piece_factory_builds_the_same_frozen_item() -> None:
    from dataclasses import FrozenInstanceError, fields

    from eventstream._answer import new_text

    fast, built = new_text("hi", 3, "r"), AnswerText(text="hi", turn=3, run_id="r")
    assert fast == built and hash(fast) == hash(built)
    assert all(getattr(fast, f.name) == getattr(built, f.name) for f in fields(AnswerText))
    with pytest.raises(FrozenInstanceError):
        fast.text = "changed"  # type: ignore[misc]


# -- edges: a bare model, names that come late, streams that stop --------------------------


def test_a_bare_model_needs_no_ancestry() -> None:
    model = ScriptedChatModel(turns=[text("Just text.")])

    async def v1() -> list[Any]:
        return [e async for e in model.astream_events("hi", version="v1")]

    items = list(answer(normalize(asyncio.run(v1()))))
    assert texts(items) == "Just text."
    assert [(e.turn, e.final) for e in ends(items)] == [(0, True)]


def chunk(seq: int, args: str, name: str = "", index: int = 0) -> ToolCallChunk:
    return ToolCallChunk(
        seq=seq, run_id="m", run_type="chat_model", name=name, index=index, args_delta=args
    )


def test_fragments_before_the_tool_is_named_are_kept_until_it_is() -> None:
    model: dict[str, Any] = {"run_id": "m", "run_type": "chat_model"}
    events: list[Event] = [
        Start(seq=0, name="model", **model),
        chunk(1, '{"ans'),
        chunk(2, 'wer": "he', name="final_answer"),
        chunk(3, '{"place": "x"}', name="get_items", index=1),
        chunk(4, 'llo"}', name="final_answer"),
        ToolCall(seq=5, index=0, name="final_answer", args={"answer": "hello"}, **model),
        ToolCall(seq=6, index=1, name="get_items", args={"place": "x"}, **model),
        End(seq=7, name="model", **model),
    ]
    items = list(answer(events, tool="final_answer", field="answer"))
    assert [i.text for i in items if isinstance(i, AnswerText)] == ["he", "llo"]
    assert ends(items) == [AnswerEnd(turn=0, run_id="m", final=True, args={"answer": "hello"})]


def test_a_stream_that_stops_early_or_raises_ends_the_open_turns() -> None:
    events = list(normalize(asyncio.run(cat_events("v2"))))
    last_token = max(i for i, e in enumerate(events) if isinstance(e, Token))
    cut = events[: last_token + 1]  # the answer's model run never ends
    items = list(answer(cut))
    assert ends(items)[-1] == AnswerEnd(
        turn=2,
        run_id=events[last_token].run_id,
        final=False,
        error="the stream ended before this turn's model run ended",
    )

    def failing() -> Iterator[Event]:
        yield from cut
        raise RuntimeError("connection lost")

    got: list[AnswerItem] = []
    with pytest.raises(RuntimeError, match="connection lost"):
        got.extend(answer(failing()))
    assert ends(got)[-1].error == "RuntimeError: connection lost"
    assert texts(got, 2) == ANSWER_TEXT


def test_a_source_exception_whose_str_raises_still_ends_the_open_turns() -> None:
    class Unprintable(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no")

    reader = AnswerReader()
    assert reader.fail(Unprintable()) == []  # nothing open, and nothing raised
