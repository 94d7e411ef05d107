"""The math agent: arithmetic tools and a ``final_answer`` tool that carries the
answer in its arguments.

The agent (``create_agent``, its model tagged ``agent_llm``) says what it will do and
calls ``add``; then it answers by calling ``final_answer(answer=..., tools_used=[...])``,
whose arguments stream in small JSON fragments: the answer has quotes, newlines, a
``\\u`` escape and an emoji written as a surrogate pair, so a fragment boundary falls
inside escapes. ``final_answer`` returns directly: the agent stops after it. Built by
``make_model(role)``, so it runs on :class:`ScriptedChatModel` in-process or on
``ChatOpenAI`` against the local server.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.tools import BaseTool, tool

from eventstream.testing._cat import tagged_agent
from eventstream.testing._script import Step, text, tool_call

__all__ = [
    "MATH_ANSWER",
    "MATH_INTRO",
    "MATH_QUESTION",
    "MATH_SCRIPTS",
    "MATH_TOOLS_USED",
    "build_math_agent",
    "math_tools",
]

MATH_QUESTION = "What is 10 + 10?"
MATH_INTRO = "I'll add the two numbers first."
MATH_ANSWER = (
    '10 + 10 = **20**.\n\nI asked the "add" tool \u2014 it said 20.0, '
    "so the answer is twenty \U0001f408."
)
MATH_TOOLS_USED = ["add"]

_FINAL_ARGS = json.dumps({"answer": MATH_ANSWER, "tools_used": MATH_TOOLS_USED})

#: The agent's two turns: text and a call of ``add``; then ``final_answer``, its
#: arguments in fragments of about 4 characters.
MATH_SCRIPTS: dict[str, list[list[Step]]] = {
    "agent": [
        [*text(MATH_INTRO), *tool_call("add", {"x": 10, "y": 10}, id="call_add_1")],
        list(
            tool_call("final_answer", _FINAL_ARGS, id="call_final_2", pieces=len(_FINAL_ARGS) // 4)
        ),
    ],
}


def math_tools() -> list[BaseTool]:
    """The math agent's tools: four arithmetic tools and ``final_answer``."""

    @tool
    def add(x: float, y: float) -> float:
        """Add 'x' and 'y'."""
        return x + y

    @tool
    def multiply(x: float, y: float) -> float:
        """Multiply 'x' and 'y'."""
        return x * y

    @tool
    def exponentiate(x: float, y: float) -> float:
        """Raise 'x' to the power of 'y'."""
        return float(x**y)

    @tool
    def subtract(x: float, y: float) -> float:
        """Subtract 'x' from 'y'."""
        return y - x

    @tool(return_direct=True)
    def final_answer(answer: str, tools_used: list[str]) -> dict[str, Any]:
        """Use this tool to provide a final answer to the user. The answer should be in
        natural language as this will be provided to the user directly. The tools_used
        must include a list of tool names that were used within the scratchpad."""
        return {"answer": answer, "tools_used": tools_used}

    return [add, multiply, exponentiate, subtract, final_answer]


def build_math_agent(make_model: Callable[[str], BaseChatModel]) -> Any:
    """The math agent: ``create_agent`` with the model tagged ``agent_llm``."""
    return tagged_agent(make_model, math_tools, "math_agent", what="build_math_agent()")
