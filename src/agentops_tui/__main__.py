"""`python -m agentops_tui`: the `agentops` command."""

import sys

from agentops_tui.cli import main

sys.exit(main())
