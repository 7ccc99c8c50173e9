"""Connectors: bridges from external agent runtimes into agentops."""
