"""agentops: a terminal console for operating fleets of AI agents."""

__version__ = "0.1.0"
