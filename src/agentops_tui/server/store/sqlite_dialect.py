"""What is particular to the SQLite driver: its connection type.

The SQL itself is shared by both backends (`dialect`); this module names what only code
that opens SQLite connections needs.
"""

from __future__ import annotations

import sqlite3

# The driver's own connection type, for code inside server/store/ that opens connections.
# Everything else is typed with `server.store.connection.Connection`.
SqliteConnection = sqlite3.Connection
