"""The control plane: commands, approvals, work queues and agent presence."""
