"""Test kit: scripted models and a local OpenAI-compatible server, and the cat agent.

For eventstream's own tests and for its users': no API key, no network.
"""

from eventstream.testing._cat import (
    ANSWER_TEXT,
    CAT_QUESTION,
    CAT_SCRIPTS,
    HIDING_SPOT,
    ITEMS_TEXT,
    MOOD_TEXT,
    build_cat_agent,
    cat_tools,
)
from eventstream.testing._math import (
    MATH_ANSWER,
    MATH_INTRO,
    MATH_QUESTION,
    MATH_SCRIPTS,
    MATH_TOOLS_USED,
    build_math_agent,
    math_tools,
)
from eventstream.testing._model import ScriptedChatModel
from eventstream.testing._openai import OpenAIServer, chat_model, openai_cat_agent
from eventstream.testing._scenarios import (
    SCENARIOS,
    SOURCES,
    Scenario,
    raw_stream,
    source_stream,
)
from eventstream.testing._script import (
    Fail,
    Reasoning,
    Step,
    Text,
    ToolCallPiece,
    Turn,
    interleave,
    reasoning,
    text,
    tool_call,
)

__all__ = [
    "ANSWER_TEXT",
    "CAT_QUESTION",
    "CAT_SCRIPTS",
    "HIDING_SPOT",
    "ITEMS_TEXT",
    "MATH_ANSWER",
    "MATH_INTRO",
    "MATH_QUESTION",
    "MATH_SCRIPTS",
    "MATH_TOOLS_USED",
    "MOOD_TEXT",
    "SCENARIOS",
    "SOURCES",
    "Fail",
    "OpenAIServer",
    "Reasoning",
    "Scenario",
    "ScriptedChatModel",
    "Step",
    "Text",
    "ToolCallPiece",
    "Turn",
    "build_cat_agent",
    "build_math_agent",
    "cat_tools",
    "chat_model",
    "interleave",
    "math_tools",
    "openai_cat_agent",
    "raw_stream",
    "reasoning",
    "source_stream",
    "text",
    "tool_call",
]
