"""Claude Code hooks, both ways: events in, the console's answers out."""
