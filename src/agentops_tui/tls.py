"""One TLS context per process, shared by every HTTP client the process opens.

httpx builds a verifying context (and reads the CA bundle) for each new client: 30–50 ms of
CPU each. The demo opens one client per simulated agent plus the console's, and paid that a
dozen times while the operator waited for the first screen.
"""

from __future__ import annotations

import functools
import ssl

import httpx


@functools.cache
def client_tls() -> ssl.SSLContext:
    """The default verifying context (honours SSL_CERT_FILE and SSL_CERT_DIR)."""
    return httpx.create_ssl_context()
