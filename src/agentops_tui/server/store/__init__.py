"""The store: the event log (the truth), the writer's group commit, the state checkpoint."""
