"""The runs of a LangGraph graph, as its stream modes and its v3 protocol report them.

Contract. ``GraphRuns`` turns what LangGraph's streams say (a task started or finished,
a model's chunk, a tool started or finished, a custom payload) into run-table calls,
for the two readers that read LangGraph's own streams (``modes.py``: ``graph.astream``;
``v3.py``: ``astream_events(version="v3")``). Those streams carry no run tree, so the
runs are built from what they do carry:

- the **root** run: the graph, named by ``lc_agent_name`` (``create_agent``'s name) or
  ``"LangGraph"``; it starts at the first item and ends when the stream ends (output:
  the last ``values`` seen, when that mode is requested; else ``None``);
- a **subgraph** run per namespace (``("tools:<task id>",)``), inside the run of the
  task it runs in (the tool run of that task when the task is a tool call);
- a **node** run (``chain``) per task, when the ``tasks`` mode (or ``debug``) says when
  it starts and ends; its id is LangGraph's task id;
- a **model** run (``chat_model``) per message id (``lc_run--<run id>``: the model's
  LangChain run id, the same as in ``astream_events``), from its first chunk to its
  ``chunk_position="last"`` chunk (or the end of its task). Its parent is the tool run
  of its task (the ``tasks`` mode names the tool call a task runs), else its node run,
  else the one tool run open in its graph, else, in a task of LangGraph's tools node
  (``langgraph_node == "tools"``) whose call the stream does not name, a ``tool`` run
  named ``tools`` for that task (so it is inside a tool: one of those running then),
  else its graph;
- a **tool** run per tool call (id ``tool:<tool_call_id>``), from the task that runs
  the call or ``tool-started`` (the ``tools`` mode) to its ``ToolMessage`` (from
  ``messages``, ``updates``, ``tools`` or the task's result), linked to its call by id.

Nothing of LangChain's own internal runs (prompts, parsers, sequences inside a tool)
is in these streams, so they give no events; nor do LangGraph's internal tags
(``seq:step:N``), which ``messages`` metadata leaves out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from eventstream._content import (
    FinalCall,
    tool_message,
    usage_of,
)
from eventstream._errors import Problem, describe
from eventstream._events import Event, Usage
from eventstream._readers._base import frozen
from eventstream._readers.events import message_end
from eventstream._table import ModelEnd, Run, RunFields, RunTable, ToolEnd

__all__ = ["GraphRuns", "model_id", "task_of"]

LC_RUN = "lc_run--"
TOOLS_NODE = "tools"
"""The name of LangGraph's ``ToolNode`` (and ``create_agent``'s node that runs tools)."""
NS_SEP = "|"


def model_id(message_id: Any) -> str | None:
    """The run id of a model run from its message id (``lc_run--<uuid>`` → the uuid)."""
    if not isinstance(message_id, str) or not message_id:
        return None
    return message_id[len(LC_RUN) :] if message_id.startswith(LC_RUN) else message_id


def task_of(metadata: Mapping[str, Any]) -> str | None:
    """The id of the task a model ran in, from its ``langgraph_checkpoint_ns``."""
    ns = metadata.get("langgraph_checkpoint_ns")
    if not isinstance(ns, str) or not ns:
        return None
    last = ns.rsplit(NS_SEP, 1)[-1]
    _, sep, task = last.partition(":")
    return task if sep and task else None


def tool_calls_of_input(value: Any) -> list[Mapping[str, Any]]:
    """The tool calls a task's input names: ``create_agent`` sends each call to the
    tools node as its own task (``[{"type": "tool_call", ...}]``, or a
    ``ToolCallWithContext``)."""
    if isinstance(value, Mapping) and value.get("__type") == "tool_call_with_context":
        value = [value.get("tool_call")]
    if not isinstance(value, list | tuple):
        return []
    return [
        call
        for call in value
        if isinstance(call, Mapping)
        and call.get("type") == "tool_call"
        and isinstance(call.get("id"), str)
        and isinstance(call.get("name"), str)
    ]


class _Model:
    """What is known of one model run while it streams (reader-side)."""

    __slots__ = ("run", "task", "usage")

    def __init__(self, run: Run, task: str | None) -> None:
        self.run = run
        self.task = task
        self.usage: Usage | None = None


class GraphRuns:
    """The synthesized runs of one LangGraph stream; see the module doc."""

    def __init__(self, table: RunTable) -> None:
        self.table = table
        self.bare = False
        """A single model's stream (v3 of a chat model): its runs are roots, no graph."""
        self.root: Run | None = None
        self.output: Any = None
        """The root's output: the last ``values`` seen."""
        self._root_name: str | None = None
        self._root_hint: str | None = None
        self._scopes: dict[tuple[str, ...], Run] = {}
        self._scope_names: dict[tuple[str, ...], str] = {}
        self._tasks: dict[str, Run] = {}
        self._task_calls: dict[str, str] = {}  # task id -> the tool call it runs
        self._tool_tasks: dict[str, Run] = {}  # tools tasks whose call is not known
        self._tool_task_steps: dict[str, Any] = {}
        self._tools: dict[str, Run] = {}  # tool call id -> open tool run
        self._tool_scope: dict[str, tuple[str, ...]] = {}  # its graph's namespace
        self._done_calls: set[str] = set()
        self._models: dict[str, _Model] = {}  # message id -> open model run
        self.models = self._models
        """Open model runs by message id (a reader's fast path reads it)."""
        self._done_models: set[str] = set()

    # -- scopes ----------------------------------------------------------------

    def note(self, metadata: Mapping[str, Any] | None, hint: str) -> None:
        """What the first items say of the root (its name, an id to make its id from),
        before anything starts: readers note it, then call an entry point, which checks
        what it was given before the root (or anything else) starts."""
        if self.root is None:
            if self._root_name is None and metadata is not None:
                name = metadata.get("lc_agent_name")
                if isinstance(name, str) and name:
                    self._root_name = name
            if self._root_hint is None and hint:
                self._root_hint = hint

    def begin(self, out: list[Event]) -> Run:
        """The root run, started when the first thing inside it starts."""
        root = self.root
        if root is None:
            hint = self._root_hint
            root_id = f"graph:{hint}" if hint else "graph"
            root = self.root = self.table.start(
                RunFields(root_id, self._root_name or "LangGraph", "chain", (), frozen({}), ()),
                None,
                out,
            )
            self._scopes[()] = root
        return root

    def scope(
        self, ns: tuple[str, ...], metadata: Mapping[str, Any] | None, out: list[Event]
    ) -> Run:
        """The run of the graph or subgraph of namespace ``ns``."""
        run = self._scopes.get(ns)
        if run is not None:
            return run
        if not ns:
            self.note(metadata, "")
        root = self.begin(out)
        if not ns:
            return root
        parent = self.scope(ns[:-1], None, out)
        node, _, task = ns[-1].partition(":")
        call = self._task_calls.get(task)
        holder = self._tools.get(call) if call else None
        holder = holder or self._tasks.get(task) or parent
        name = node
        if metadata is not None and isinstance(metadata.get("lc_agent_name"), str):
            name = metadata["lc_agent_name"]
        run = self.table.start(
            RunFields(
                f"graph:{NS_SEP.join(ns)}",
                name,
                "chain",
                (),
                frozen({"langgraph_checkpoint_ns": NS_SEP.join(ns)}),
                (*holder.parent_ids, holder.run_id),
            ),
            None,
            out,
        )
        self._scopes[ns] = run
        return run

    def link_task(self, segment: str, call_id: Any) -> None:
        """Namespace segment ``"<node>:<task id>"`` runs tool call ``call_id`` (v3's
        lifecycle ``cause``): its subgraph and its models are inside that tool."""
        _, sep, task = segment.partition(":")
        if sep and task and isinstance(call_id, str) and call_id:
            self._task_calls.setdefault(task, call_id)

    def end_scope(self, ns: tuple[str, ...], error: str | None, out: list[Event]) -> None:
        """A subgraph finished (v3's lifecycle): its run ends, what it holds first."""
        run = self._scopes.pop(ns, None)
        if run is None or self.table.get(run.run_id) is not run:
            return
        for model in [m for m in self._models.values() if run.run_id in m.run.parent_ids]:
            self.end_model(model, out, error=error)
        self._end_scopes_under(run, out)
        self.table.end(run, out, error=error)

    def _end_scopes_under(self, holder: Run, out: list[Event]) -> None:
        """End the subgraph runs inside ``holder`` (they end with it, not with an error)."""
        for ns, run in list(self._scopes.items()):
            if ns and run.parent_ids and run.parent_ids[-1] == holder.run_id:
                self._end_scopes_under(run, out)
                if self.table.get(run.run_id) is run:
                    self.table.end(run, out)
                del self._scopes[ns]

    # -- tasks -----------------------------------------------------------------

    def task_started(
        self,
        ns: tuple[str, ...],
        task_id: str,
        name: str,
        input_: Any,
        metadata: Mapping[str, Any] | None,
        out: list[Event],
    ) -> None:
        """A node's task started; a task that runs one tool call starts that tool's run."""
        if task_id in self._tasks:
            raise Problem(f"task {task_id} started already", run_id=task_id)
        self.table.check_new(task_id)
        calls = tool_calls_of_input(input_)
        if len(calls) == 1:
            self._check_tool(calls[0]["id"])
        parent = self.scope(ns, metadata, out)
        node_metadata = dict(metadata or {})
        node_metadata.setdefault("langgraph_node", name)
        run = self.table.start(
            RunFields(
                task_id,
                name,
                "chain",
                (),
                frozen(node_metadata),
                (*parent.parent_ids, parent.run_id),
            ),
            input_,
            out,
        )
        self._tasks[task_id] = run
        if len(calls) == 1:
            call = calls[0]
            self._task_calls[task_id] = call["id"]
            self.tool_started(call["id"], call["name"], call.get("args"), run, ns, out)

    def task_finished(self, task_id: str, error: Any, result: Any, out: list[Event]) -> None:
        """A task finished: what it still holds open ends, then its node run."""
        run = self._tasks.pop(task_id, None)
        if run is None or self.table.get(run.run_id) is not run:
            return  # a task this stream never said started
        message = error if isinstance(error, str) and error else None
        call = self._task_calls.pop(task_id, None)
        for model in [m for m in self._models.values() if m.task == task_id]:
            self.end_model(model, out, error=message)
        if call is not None and call in self._tools:
            found = _tool_message_in(result, call)
            if found is not None:
                self.tool_finished(call, found, None, out)
            elif message is not None:
                self.tool_finished(call, None, message, out)
        self._end_scopes_under(run, out)
        for tool_call, tool in list(self._tools.items()):
            if tool.parent_ids and tool.parent_ids[-1] == run.run_id:
                self.tool_finished(tool_call, None, message, out)
        self.table.end(run, out, output=result, error=message)

    # -- tools -----------------------------------------------------------------

    def tool_started(
        self,
        call_id: str,
        name: str,
        args: Any,
        parent: Run | None,
        ns: tuple[str, ...],
        out: list[Event],
    ) -> Run:
        """A tool run for call ``call_id`` (once: the tasks and tools modes both say)."""
        run = self._tools.get(call_id)
        if run is not None:
            return run
        self._check_tool(call_id)
        if parent is None:
            parent = self.scope(ns, None, out)
        run = self.table.start(
            RunFields(
                f"tool:{call_id}", name, "tool", (), frozen({}), (*parent.parent_ids, parent.run_id)
            ),
            args,
            out,
            tool_call_id=call_id,
        )
        self._tools[call_id] = run
        self._tool_scope[call_id] = ns
        return run

    def _check_tool(self, call_id: str) -> None:
        """Raise :class:`Problem` when call ``call_id`` cannot start a tool run now."""
        if call_id in self._tools:
            return
        if call_id in self._done_calls:
            raise Problem(f"tool call {call_id} started again after its result")
        self.table.check_new(f"tool:{call_id}")

    def tool_run(self, call_id: str) -> Run | None:
        """The open tool run of call ``call_id``."""
        return self._tools.get(call_id)

    def tool_finished(self, call_id: str, output: Any, error: str | None, out: list[Event]) -> None:
        """A tool's result (a ``ToolMessage``, or what it returned) or its error."""
        run = self._tools.pop(call_id, None)
        if run is None:
            return
        del self._tool_scope[call_id]
        self._done_calls.add(call_id)
        if run.ended:
            return  # its parent ended first and took it along
        self._end_scopes_under(run, out)
        if error is not None:
            self.table.end(run, out, error=error, tool=ToolEnd(None, call_id, error))
            return
        _, content, message_call, failure = tool_message(output)
        self.table.end(
            run, out, output=output, tool=ToolEnd(content, message_call or call_id, failure)
        )

    def check_tool_message(self, message: Any) -> None:
        """Raise :class:`Problem` when this ``ToolMessage`` cannot give a result now."""
        is_message, _, call_id, _ = tool_message(message)
        if is_message and call_id is not None and call_id not in self._done_calls:
            self._check_tool(call_id)

    def tool_message(
        self,
        message: Any,
        ns: tuple[str, ...],
        metadata: Mapping[str, Any] | None,
        out: list[Event],
    ) -> None:
        """A ``ToolMessage`` seen in ``messages`` or ``updates``: its call's result. A
        call whose run was never reported starts and ends here."""
        is_message, _, call_id, _ = tool_message(message)
        if not is_message or call_id is None or call_id in self._done_calls:
            return
        self._check_tool(call_id)
        self.end_steps_before(metadata, out)
        if call_id not in self._tools:
            task = task_of(metadata) if metadata is not None else None
            parent = (self._tasks.get(task) or self._tool_tasks.get(task)) if task else None
            name = getattr(message, "name", None)
            if name is None and isinstance(message, Mapping):
                name = message.get("name")
            self.tool_started(
                call_id,
                name if isinstance(name, str) else "",
                None,
                parent or self.scope(ns, metadata, out),
                ns,
                out,
            )
        self.tool_finished(call_id, message, None, out)

    # -- models ----------------------------------------------------------------

    def model(
        self,
        message_id: str,
        ns: tuple[str, ...],
        metadata: Mapping[str, Any],
        out: list[Event],
    ) -> _Model:
        """The open model run of ``message_id``, started now if new."""
        model = self._models.get(message_id)
        if model is not None:
            if not model.run.ended:
                return model
            # Its parent ended first and took it along: the stream never ended it.
            del self._models[message_id]
            self._done_models.add(message_id)
        run_id = self.check_model(message_id)
        self.end_steps_before(metadata, out)
        task = task_of(metadata)
        parent = None if self.bare else self._parent_of_model(task, ns, metadata, out)
        tags = metadata.get("tags")
        name = metadata.get("ls_model_name")
        own = {k: v for k, v in metadata.items() if k != "tags"}
        run = self.table.start(
            RunFields(
                run_id,
                name if isinstance(name, str) and name else "chat_model",
                "chat_model",
                tuple(t for t in tags if isinstance(t, str)) if isinstance(tags, list) else (),
                frozen(own),
                () if parent is None else (*parent.parent_ids, parent.run_id),
            ),
            None,
            out,
        )
        model = self._models[message_id] = _Model(run, task)
        return model

    def check_model(self, message_id: str) -> str:
        """The run id of a new model run for ``message_id``; :class:`Problem` when that
        model run ended already (or its id is taken)."""
        run_id = model_id(message_id) or message_id
        if message_id in self._done_models:
            raise Problem(f"a chunk of model run {run_id}, which already ended", run_id=run_id)
        if message_id not in self._models:
            self.table.check_new(run_id)
        return run_id

    def _parent_of_model(
        self,
        task: str | None,
        ns: tuple[str, ...],
        metadata: Mapping[str, Any],
        out: list[Event],
    ) -> Run:
        if task is not None:
            call = self._task_calls.get(task)
            if call is not None and call in self._tools:
                return self._tools[call]
            if task in self._tasks:
                return self._tasks[task]
        scope = self.scope(ns, metadata, out)
        here = [self._tools[call] for call, where in self._tool_scope.items() if where == ns]
        if len(here) == 1:
            return here[0]  # the one tool running in this graph now: the model runs in it
        if task is not None and metadata.get("langgraph_node") == TOOLS_NODE:
            return self._tool_task(task, scope, metadata, out)
        return scope

    def _tool_task(
        self, task: str, scope: Run, metadata: Mapping[str, Any], out: list[Event]
    ) -> Run:
        """The run of a task of LangGraph's tools node whose tool call the stream does not
        name: a ``tool`` run named ``tools`` (one of the tools running then), so what runs
        in it is inside a tool, never the agent's own."""
        run = self._tool_tasks.get(task)
        if run is None or self.table.get(run.run_id) is not run:
            run = self.table.start(
                RunFields(
                    task,
                    TOOLS_NODE,
                    "tool",
                    (),
                    frozen({"langgraph_node": TOOLS_NODE, "langgraph_checkpoint_ns": task}),
                    (*scope.parent_ids, scope.run_id),
                ),
                None,
                out,
            )
            self._tool_tasks[task] = run
            self._tool_task_steps[task] = metadata.get("langgraph_step")
        return run

    def end_steps_before(self, metadata: Mapping[str, Any] | None, out: list[Event]) -> None:
        """Tools tasks of earlier steps are over once a later step streams (LangGraph runs
        a step's tasks to their end before the next step starts)."""
        if not self._tool_tasks or metadata is None:
            return
        step = metadata.get("langgraph_step")
        if not isinstance(step, int):
            return
        for task, started in list(self._tool_task_steps.items()):
            if isinstance(started, int) and started < step:
                self._end_tool_task(task, out)

    def _end_tool_task(self, task: str, out: list[Event]) -> None:
        run = self._tool_tasks.pop(task)
        del self._tool_task_steps[task]
        if self.table.get(run.run_id) is not run:
            return
        for model in [m for m in self._models.values() if m.run.parent_ids[-1:] == (run.run_id,)]:
            self.end_model(model, out)
        for call, tool in list(self._tools.items()):
            if tool.parent_ids[-1:] == (run.run_id,):  # ended with no result reported
                del self._tools[call], self._tool_scope[call]
                self._done_calls.add(call)
                self.table.end(tool, out)
        self.table.end(run, out)

    def end_model(
        self,
        model: _Model,
        out: list[Event],
        *,
        error: str | None = None,
        message: Any = None,
        calls: list[FinalCall] | None = None,
        end: ModelEnd | None = None,
    ) -> None:
        """End a model run: its tool calls (``calls`` as the source parsed them, or
        LangChain's parse of ``message``, or of the streamed fragments) and its usage."""
        run = model.run
        for key, value in list(self._models.items()):
            if value is model:
                del self._models[key]
                self._done_models.add(key)
        if self.table.get(run.run_id) is not run:
            return
        if error is not None:
            self.table.end(run, out, error=error)
            return
        if end is None:
            end = message_end(message, calls)
        if end.usage is None and model.usage is not None:
            end = end._replace(usage=model.usage)
        self.table.end(run, out, output=message, model=end)

    def whole_message(
        self,
        message: Any,
        ns: tuple[str, ...],
        metadata: Mapping[str, Any],
        out: list[Event],
    ) -> None:
        """A model's message given whole (a model that did not stream, or a node that
        returned one): a model run with its text, its calls and its end at once. A
        message whose chunks were streamed already gives nothing more."""
        read = self.read_whole(message)
        if read is not None:
            self.apply_whole(*read, ns, metadata, out)

    def read_whole(self, message: Any) -> tuple[str, ModelEnd] | None:
        """Check and read a whole message before anything starts: its id and what it
        says; ``None`` when it gives nothing (its run streamed, or ended, already)."""
        message_id = getattr(message, "id", None)
        if message_id is None and isinstance(message, Mapping):
            message_id = message.get("id")
        if not isinstance(message_id, str) or not message_id:
            raise Problem(f"a whole message without an id: {describe(message)}")
        if message_id in self._done_models or message_id in self._models:
            return None
        self.check_model(message_id)
        return message_id, message_end(message)

    def apply_whole(
        self,
        message_id: str,
        end: ModelEnd,
        ns: tuple[str, ...],
        metadata: Mapping[str, Any],
        out: list[Event],
    ) -> None:
        """A whole message read by :meth:`read_whole`: its model run, at once."""
        if message_id in self._done_models or message_id in self._models:
            return  # the same message twice in one item
        model = self.model(message_id, ns, metadata, out)
        self.end_model(model, out, end=end)

    def add_usage(self, model: _Model, message: Any) -> None:
        usage = usage_of(message)
        if usage is None:
            return
        if model.usage is None:
            model.usage = usage
        else:
            model.usage = Usage(
                input_tokens=model.usage.input_tokens + usage.input_tokens,
                output_tokens=model.usage.output_tokens + usage.output_tokens,
                total_tokens=model.usage.total_tokens + usage.total_tokens,
            )

    # -- the end -------------------------------------------------------------------

    def close(self, out: list[Event]) -> None:
        """The stream ended: the graph (and what it still holds) ends."""
        for model in list(self._models.values()):
            self.end_model(model, out)
        for task in list(self._tool_tasks):
            self._end_tool_task(task, out)
        root = self.root
        if root is not None and self.table.get(root.run_id) is root:
            self._end_scopes_under(root, out)
            self.table.end(root, out, output=self.output)


def _tool_message_in(result: Any, call_id: str) -> Any:
    """The ``ToolMessage`` answering ``call_id`` in a task's result (its writes)."""
    messages = result.get("messages") if isinstance(result, Mapping) else None
    if isinstance(messages, Sequence) and not isinstance(messages, str):
        for message in messages:
            is_message, _, message_call, _ = tool_message(message)
            if is_message and message_call == call_id:
                return message
    return None
