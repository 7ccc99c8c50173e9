"""What an operator calls "an agent" and "a run", where an instrumentation's span kinds say
otherwise. Each rule reads only the span's own attributes (children arrive before parents, so
a rule cannot wait for the tree), and each is documented in docs/ingest-otel.md.

- LangGraph + OpenInference: OpenInference marks every run whose name contains "agent" as
  an AGENT span, so the ReAct graph's model node `agent` looks like an agent. A graph node's
  span carries `metadata.langgraph_node` equal to its own name; a nested graph (a real
  agent called from a node, e.g. from a tool) carries its caller's node name instead.
- LangGraph + OpenLLMetry: a graph run is wrapped in an `invoke_agent <graph>` span of the
  LangGraph patch (no `traceloop.span.kind`), while the callback handler traces the run
  itself: at the top level as `<graph>.workflow` under that wrapper, when nested (a graph
  invoked inside a tool) as `execute_task <graph>` beside it. The callback spans hold the
  model calls, so they are the run; the wrapper is not. A nested graph run is told from
  the other tasks by its input (`gen_ai.task.input`): a message state, no `tags` of its own
  (LangGraph tags node and sequence steps `graph:step:N` / `seq:step:N`), and a name that
  is not the node it runs in. OpenLLMetry sets `gen_ai.agent.id` to the run id, so it is
  not taken as the agent's id.
- OpenAI Agents SDK + OpenInference: the trace root (`Agent workflow`, or the run's
  `workflow_name`) is an AGENT span without `agent.name`; the agents are the spans with it.
"""

from __future__ import annotations

from agentops_tui.server.ingest.otlp.decode import SpanRecord
from agentops_tui.server.ingest.otlp.texts import parse_json

OPENAI_AGENTS_SCOPE = "openinference.instrumentation.openai_agents"
_NODE = "traceloop.association.properties.langgraph_node"


def is_wrapper(span: SpanRecord) -> bool:
    """An AGENT-looking span that is the framework's wrapper, not an agent run."""
    a = span.attrs
    if str(a.get("openinference.span.kind") or "").upper() == "AGENT":
        metadata = parse_json(a.get("metadata"))
        if isinstance(metadata, dict) and metadata.get("langgraph_node") == span.name:
            return True  # LangGraph node
        return span.scope == OPENAI_AGENTS_SCOPE and not a.get("agent.name")
    return (
        a.get("gen_ai.operation.name") == "invoke_agent"
        and a.get("gen_ai.provider.name") == "langgraph"
        and "traceloop.span.kind" not in a
    )


def nested_graph_name(span: SpanRecord) -> str | None:
    """The graph's name when an OpenLLMetry task span is a graph run nested in a node."""
    a = span.attrs
    if a.get("traceloop.span.kind") != "task" or a.get("gen_ai.provider.name") != "langgraph":
        return None
    name = str(a.get("gen_ai.task.name") or a.get("traceloop.entity.name") or "")
    if not name or name == a.get(_NODE):
        return None
    task = parse_json(a.get("gen_ai.task.input"))
    if not isinstance(task, dict) or task.get("tags") != []:
        return None
    inputs = task.get("inputs")
    return name if isinstance(inputs, dict) and "messages" in inputs else None


def run_scoped_agent_id(span: SpanRecord) -> bool:
    """True when `gen_ai.agent.id` names one run rather than the agent (OpenLLMetry)."""
    return "traceloop.span.kind" in span.attrs
