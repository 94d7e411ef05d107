"""Test kit: scripted models that stream the way providers do, and the cat agent.

For eventstream's own tests and for its users': no API key, no network.
"""

from eventstream.testing._cat import CAT_QUESTION, CAT_SCRIPTS, build_cat_agent, cat_tools
from eventstream.testing._model import ScriptedChatModel
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
    "CAT_QUESTION",
    "CAT_SCRIPTS",
    "Fail",
    "Reasoning",
    "ScriptedChatModel",
    "Step",
    "Text",
    "ToolCallPiece",
    "Turn",
    "build_cat_agent",
    "cat_tools",
    "interleave",
    "reasoning",
    "text",
    "tool_call",
]
