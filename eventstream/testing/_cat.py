"""The cat agent from LangChain's streaming docs, with its tools' own tagged LLMs.

An agent LLM tagged ``agent_llm`` asks ``where_cat_is_hiding`` (no arguments; its LLM
is tagged ``hiding_spot`` and named ``where_cat_at``), then calls ``get_items`` (its
prompt-and-LLM chain is tagged ``get_items``, the LLM named ``Get Items LLM``) and
``cat_mood`` (its LLM has no tag) in parallel, with interleaved argument fragments,
and answers. The tools' LLMs become child runs of their tool through LangChain's
context propagation (passing the tool's injected ``config`` on would attach them to
the tool's parent instead). Every model is built by ``make_model(role)`` so the same agent runs on
:class:`ScriptedChatModel` in-process or on ``ChatOpenAI`` against the local server.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.tools import BaseTool, tool

from eventstream._extras import missing
from eventstream.testing._script import Step, interleave, text, tool_call

__all__ = [
    "ANSWER_TEXT",
    "CAT_QUESTION",
    "CAT_SCRIPTS",
    "HIDING_SPOT",
    "ITEMS_TEXT",
    "MOOD_TEXT",
    "build_cat_agent",
    "cat_tools",
]

CAT_QUESTION = "What items are located where the cat is hiding?"

HIDING_SPOT = "the laundry basket"
ITEMS_TEXT = (
    "In the laundry basket you might find:\n\n1. A lost sock: warm and fuzzy.\n"
    "2. A beach towel: still sandy.\n3. A hoodie: the cat's favourite blanket."
)
MOOD_TEXT = "The cat is smug and very pleased with its hiding spot."
ANSWER_TEXT = (
    "The cat is hiding in the laundry basket, next to a lost sock, a beach towel "
    "and a hoodie. It looks smug about it."
)

#: The scripts per model role: the agent's three turns and one turn per tool LLM.
CAT_SCRIPTS: dict[str, list[list[Step]]] = {
    "agent": [
        list(tool_call("where_cat_is_hiding", {}, id="call_hide_1")),
        interleave(
            tool_call("get_items", {"place": HIDING_SPOT}, id="call_items_2", index=0),
            tool_call("cat_mood", {"spot": HIDING_SPOT}, id="call_mood_3", index=1),
        ),
        list(text(ANSWER_TEXT)),
    ],
    "hiding": [list(text(HIDING_SPOT))],
    "items": [list(text(ITEMS_TEXT))],
    "mood": [list(text(MOOD_TEXT))],
}


def cat_tools(make_model: Callable[[str], BaseChatModel]) -> list[BaseTool]:
    """The three tools, each running its own LLM as a child run of the tool."""
    hiding_llm = make_model("hiding").with_config(
        {"tags": ["hiding_spot"], "run_name": "where_cat_at"}
    )
    items_prompt = ChatPromptTemplate.from_messages(
        [
            (
                "human",
                "Can you tell me what kind of items i might find in the following "
                "place: '{place}'. List at least 3 such items separating them by a "
                "comma. And include a brief description of each item.",
            )
        ]
    )
    items_chain = (
        items_prompt | make_model("items").with_config({"run_name": "Get Items LLM"})
    ).with_config({"tags": ["get_items"]})
    mood_llm = make_model("mood")

    @tool
    async def where_cat_is_hiding() -> str:
        """Where is the cat hiding right now?"""
        chunks = [
            chunk.text
            async for chunk in hiding_llm.astream(
                "Make up a place in the house where the cat might be hiding."
            )
        ]
        return "".join(chunks)

    @tool
    async def get_items(place: str) -> str:
        """Use this tool to look up which items are in the given place."""
        chunks = [chunk.text async for chunk in items_chain.astream({"place": place})]
        return "".join(chunks)

    @tool
    async def cat_mood(spot: str) -> str:
        """How does the cat feel about its hiding spot?"""
        chunks = [chunk.text async for chunk in mood_llm.astream(f"How does a cat in {spot} feel?")]
        return "".join(chunks)

    return [where_cat_is_hiding, get_items, cat_mood]


def tagged_agent(
    make_model: Callable[[str], BaseChatModel],
    tools: Callable[[], list[Any]],
    name: str,
    *,
    what: str,
    role: str = "agent",
) -> Any:
    """``create_agent`` on ``make_model(role)`` tagged ``agent_llm`` and ``tools()``:
    the test kit's agents. ``what`` names the caller in the message when LangChain is
    not installed (said before any model or tool is made)."""
    try:
        from langchain.agents import create_agent
    except ModuleNotFoundError as exc:
        raise missing(exc, what, "demo") from exc

    # ``create_agent`` unwraps ``with_config`` bindings to bind tools, so the tag goes
    # on the model itself.
    model = make_model(role).model_copy(update={"tags": ["agent_llm"]})
    return create_agent(model, tools(), name=name)


def build_cat_agent(make_model: Callable[[str], BaseChatModel]) -> Any:
    """The cat agent: ``create_agent`` with the agent LLM tagged ``agent_llm``."""
    return tagged_agent(
        make_model, lambda: cat_tools(make_model), "cat_agent", what="build_cat_agent()"
    )
