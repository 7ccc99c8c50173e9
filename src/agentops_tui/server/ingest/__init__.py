"""Ingest: every way events come in (REST, OTLP, Claude Code hooks), validated and redacted."""
