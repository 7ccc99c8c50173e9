"""Run the performance suite from a checkout: `python benchmarks/run.py [--quick] [--json P]`.

The same as `agentops bench`. The benchmarks themselves live in the package
(`src/agentops_tui/bench/`) so an installed console can run them too.
"""

from __future__ import annotations

import sys
from pathlib import Path

try:
    from agentops_tui.bench.runner import main
except ImportError:  # a checkout that is not installed: use its sources
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
    from agentops_tui.bench.runner import main

if __name__ == "__main__":
    sys.exit(main())
