"""Integrations with agent runtimes we do not build: what runs on their side (Claude Code's
hook script) and what sets them up. Never imports textual or the server."""
