"""The recorded scenarios behind ``fixtures/``: agents, scripts and inputs.

Each scenario builds its runnable from ``make_model(role)``, so it runs on
:class:`ScriptedChatModel` in-process or on ``ChatOpenAI`` against
:class:`OpenAIServer` (how the fixtures are recorded). ``sources`` says which raw
formats are recorded for it: ``"v2"``/``"v1"`` (``astream_events``) and ``"log"``
(``astream_log``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.tools import ToolException, tool

from eventstream.testing._cat import CAT_QUESTION, CAT_SCRIPTS, build_cat_agent, tagged_agent
from eventstream.testing._script import Step, interleave, text, tool_call

__all__ = ["SCENARIOS", "SOURCES", "Scenario", "raw_stream", "source_stream"]

MakeModel = Callable[[str], BaseChatModel]


@dataclass(frozen=True)
class Scenario:
    """One recorded run: what it shows, its scripts, how to build and feed it."""

    name: str
    description: str
    scripts: dict[str, list[list[Step]]]
    build: Callable[[MakeModel], Any]
    question: str
    sources: tuple[str, ...] = ("v2",)
    raises: bool = False
    """Whether the run fails (the recording ends with the exception)."""

    @property
    def input(self) -> dict[str, Any]:
        return {"messages": [("user", self.question)]}


SOURCES = ("v2", "v1", "v3", "log", "modes", "callbacks")
"""The raw formats :func:`source_stream` makes (``"modes:<m>,<m>"`` too)."""


def raw_stream(scenario: Scenario, runnable: Any, source: str) -> AsyncIterator[Any]:
    """The raw stream of one run of ``scenario`` in the given format (see
    :func:`source_stream`)."""
    return source_stream(runnable, scenario.input, source)


def source_stream(runnable: Any, value: Any, source: str) -> AsyncIterator[Any]:
    """The raw stream of one run of ``runnable`` on ``value``, in the given format:
    ``"v2"``, ``"v1"``, ``"v3"`` (``astream_events``), ``"log"`` (``astream_log``),
    ``"modes"`` (``astream`` with ``eventstream.STREAM_MODES``, subgraphs,
    ``version="v2"``), ``"modes:<m>,<m>"`` (those stream modes only) or ``"callbacks"``
    (``ainvoke`` with an ``eventstream.CallbackSource``: the stream is the source)."""
    if source == "callbacks":
        return _callbacks(runnable, value)
    if source == "log":
        return runnable.astream_log(value)  # type: ignore[no-any-return]
    if source == "v3":
        return _v3(runnable, value)
    if source.startswith("modes"):
        from eventstream._readers.modes import STREAM_MODES

        _, _, named = source.partition(":")
        modes = named.split(",") if named else list(STREAM_MODES)
        return runnable.astream(  # type: ignore[no-any-return]
            value, stream_mode=modes, subgraphs=True, version="v2"
        )
    if source not in ("v1", "v2"):
        msg = f"unknown source {source!r}: pick one of {', '.join(SOURCES)} or 'modes:<modes>'"
        raise ValueError(msg)
    return runnable.astream_events(value, version=source)  # type: ignore[no-any-return]


async def _callbacks(runnable: Any, value: Any) -> AsyncIterator[Any]:
    import asyncio

    from eventstream import CallbackSource

    source = CallbackSource()
    task = source.follow(asyncio.ensure_future(runnable.ainvoke(value, {"callbacks": [source]})))
    try:
        async for record in source:
            yield record
    finally:
        if not task.done():
            task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def _v3(runnable: Any, value: Any) -> AsyncIterator[Any]:
    import warnings

    with warnings.catch_warnings():  # LangGraph marks v3 experimental: we know
        warnings.filterwarnings("ignore", "The v3 streaming protocol")
        stream = await runnable.astream_events(value, version="v3")
    async for event in stream:
        yield event


def _agent(make_model: MakeModel, tools: list[Any], name: str, role: str = "agent") -> Any:
    return tagged_agent(make_model, lambda: tools, name, what="the test kit's agents", role=role)


# -- parallel tool calls -------------------------------------------------------------

CITIES = ("Paris", "Tokyo", "Lima")


def _weather_agent(make_model: MakeModel) -> Any:
    @tool
    def get_weather(city: str) -> str:
        """The weather in a city right now."""
        return {"Paris": "Paris: 18°C, light rain", "Tokyo": "Tokyo: 24°C, clear"}.get(
            city, f"{city}: 21°C, cloudy"
        )

    return _agent(make_model, [get_weather], "weather_agent")


PARALLEL_SCRIPTS: dict[str, list[list[Step]]] = {
    "agent": [
        interleave(
            *(
                tool_call("get_weather", {"city": city}, id=f"call_w{i}", index=i, pieces=3)
                for i, city in enumerate(CITIES)
            )
        ),
        list(text("Rain in Paris, clear in Tokyo, clouds over Lima.")),
    ]
}

# -- a tool that fails -------------------------------------------------------------------


def _orders_agent(make_model: MakeModel) -> Any:
    @tool
    def lookup_order(order_id: str) -> str:
        """Look up an order by its id."""
        raise ToolException(f"order {order_id} does not exist")

    lookup_order.handle_tool_error = True
    return _agent(make_model, [lookup_order], "orders_agent")


ERROR_SCRIPTS: dict[str, list[list[Step]]] = {
    "agent": [
        list(tool_call("lookup_order", {"order_id": "A-17"}, id="call_order_1")),
        list(text("I could not find order A-17. Could you check the number?")),
    ]
}


def _crashing_agent(make_model: MakeModel) -> Any:
    @tool
    def read_sensor(sensor: str) -> str:
        """Read a sensor of the house."""
        msg = f"sensor {sensor} is offline"
        raise ConnectionError(msg)

    return _agent(make_model, [read_sensor], "sensor_agent")


CRASH_SCRIPTS: dict[str, list[list[Step]]] = {
    "agent": [
        list(tool_call("read_sensor", {"sensor": "cat_flap"}, id="call_sensor_1")),
        list(text("unused: the tool raises first")),
    ]
}

# -- an agent used as a tool inside another agent ---------------------------------------

NESTED_QUESTION = "Ask the cat expert where the cat is and what is there, then sum it up."


def _nested_agent(make_model: MakeModel) -> Any:
    inner = build_cat_agent(make_model)

    @tool
    async def ask_cat_expert(question: str) -> str:
        """Ask the cat expert agent a question about the cat."""
        state = await inner.ainvoke({"messages": [("user", question)]})
        return str(state["messages"][-1].content)

    return _agent(make_model, [ask_cat_expert], "concierge", role="concierge")


NESTED_SCRIPTS: dict[str, list[list[Step]]] = {
    **CAT_SCRIPTS,
    "concierge": [
        list(tool_call("ask_cat_expert", {"question": CAT_QUESTION}, id="call_expert_1")),
        list(text("The expert says: laundry basket, with a sock, a towel and a hoodie.")),
    ],
}

SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario(
            "cat_agent",
            "The cat agent: where_cat_is_hiding (LLM tagged hiding_spot), then "
            "get_items (prompt + LLM tagged get_items) and cat_mood (untagged LLM) in "
            "parallel with interleaved argument fragments, then the answer.",
            CAT_SCRIPTS,
            build_cat_agent,
            CAT_QUESTION,
            sources=("v2", "v1", "log"),
        ),
        Scenario(
            "parallel_tools",
            "Three parallel get_weather calls whose argument fragments interleave.",
            PARALLEL_SCRIPTS,
            _weather_agent,
            "What is the weather in Paris, Tokyo and Lima?",
        ),
        Scenario(
            "tool_error",
            "A tool that fails with a ToolException handled as a ToolMessage with "
            'status="error"; the agent apologises.',
            ERROR_SCRIPTS,
            _orders_agent,
            "Where is my order A-17?",
        ),
        Scenario(
            "tool_crash",
            "A tool that raises (ConnectionError): the run fails; the recording ends "
            "with the exception.",
            CRASH_SCRIPTS,
            _crashing_agent,
            "Is the cat flap open?",
            raises=True,
        ),
        Scenario(
            "nested_agent",
            "An agent (concierge) whose tool runs the whole cat agent inside it.",
            NESTED_SCRIPTS,
            _nested_agent,
            NESTED_QUESTION,
        ),
    )
}
