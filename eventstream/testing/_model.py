"""A real LangChain chat model that streams a script, the way providers stream.

It is a ``BaseChatModel`` subclass, so callbacks, ``astream_events``, ``astream_log``
and agents see it exactly as they see a provider's model. Which turn it plays is
derived from the input (the number of AI messages already in the conversation), so one
model serves many concurrent runs and an agent loop without shared counters.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any, Literal

from langchain_core.callbacks import (
    AsyncCallbackManagerForLLMRun,
    CallbackManagerForLLMRun,
)
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from pydantic import Field

from eventstream.testing._script import Fail, Reasoning, Step, Text, ToolCallPiece

__all__ = ["ScriptedChatModel"]

ContentFormat = Literal["string", "blocks", "anthropic"]


class ScriptedChatModel(BaseChatModel):
    """Streams scripted turns: text, reasoning blocks, tool-call fragments, failures.

    ``content_format`` picks how text travels: ``"string"`` (``content="..."``, as
    OpenAI), ``"blocks"`` (LangChain's standard ``{"type": "text"}`` and
    ``{"type": "reasoning"}`` blocks) or ``"anthropic"`` (``{"type": "thinking"}``
    blocks with an ``index``). Reasoning is always sent as a content block.
    ``delay`` sleeps that many seconds before each chunk.
    """

    turns: list[list[Step]] = Field(default_factory=list)
    content_format: ContentFormat = "string"
    delay: float = 0.0

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def bind_tools(
        self, tools: Sequence[Any], **kwargs: Any
    ) -> Runnable[LanguageModelInput, AIMessage]:
        # The script decides what is called; the tools only need to be accepted.
        return self.bind(**kwargs)

    def _turn(self, messages: list[BaseMessage]) -> list[Step]:
        number = sum(isinstance(m, AIMessage) for m in messages)
        if number >= len(self.turns):
            msg = (
                f"ScriptedChatModel has {len(self.turns)} turn(s) but the conversation "
                f"asks for turn {number + 1}: add a turn to the script"
            )
            raise ValueError(msg)
        return self.turns[number]

    def _chunk(self, step: Step, position: int) -> AIMessageChunk:
        if isinstance(step, Fail):
            raise RuntimeError(step.message)
        if isinstance(step, ToolCallPiece):
            return AIMessageChunk(
                content="",
                tool_call_chunks=[
                    {
                        "name": step.name,
                        "args": step.args,
                        "id": step.id,
                        "index": step.index,
                        "type": "tool_call_chunk",
                    }
                ],
            )
        if isinstance(step, Reasoning):
            block: dict[str, Any]
            if self.content_format == "anthropic":
                block = {"type": "thinking", "thinking": step.text, "index": 0}
            else:
                block = {"type": "reasoning", "reasoning": step.text}
            return AIMessageChunk(content=[block])
        assert isinstance(step, Text)
        if self.content_format == "string":
            return AIMessageChunk(content=step.text)
        if self.content_format == "anthropic":
            return AIMessageChunk(content=[{"type": "text", "text": step.text, "index": 1}])
        return AIMessageChunk(content=[{"type": "text", "text": step.text}])

    def _chunks(self, messages: list[BaseMessage]) -> Iterator[AIMessageChunk]:
        steps = self._turn(messages)
        for position, step in enumerate(steps):
            yield self._chunk(step, position)
        yield AIMessageChunk(content="", chunk_position="last")

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        for message in self._chunks(messages):
            if self.delay:
                time.sleep(self.delay)
            yield _emit(message, run_manager.on_llm_new_token if run_manager else None)

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        for message in self._chunks(messages):
            if self.delay:
                await asyncio.sleep(self.delay)
            chunk = ChatGenerationChunk(message=message)
            if run_manager:
                await run_manager.on_llm_new_token(_token_text(message), chunk=chunk)
            yield chunk

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        merged: AIMessageChunk | None = None
        for message in self._chunks(messages):
            merged = message if merged is None else merged + message
        assert merged is not None
        final = AIMessage(
            content=merged.content,
            tool_calls=merged.tool_calls,
            invalid_tool_calls=merged.invalid_tool_calls,
        )
        return ChatResult(generations=[ChatGeneration(message=final)])


def _token_text(message: AIMessageChunk) -> str:
    return message.content if isinstance(message.content, str) else ""


def _emit(message: AIMessageChunk, on_token: Callable[..., Any] | None) -> ChatGenerationChunk:
    chunk = ChatGenerationChunk(message=message)
    if on_token is not None:
        on_token(_token_text(message), chunk=chunk)
    return chunk
