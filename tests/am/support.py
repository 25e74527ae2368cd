"""In-process plumbing for the AM tests: a key-value store client wired straight to a store."""
from __future__ import annotations

from typing import Optional

from pyarn.am.kvstore import KeyValueStore
from pyarn.application.kv import KeyValueStore as KvClient

_METHODS = {"kvRange": "range", "kvPut": "put", "kvDeleteRange": "delete_range",
            "kvTransaction": "transaction", "kvWatch": "watch"}


def local_client(store: KeyValueStore) -> KvClient:
    """A client whose calls go to ``store`` directly (no sockets), as the AM's handler would."""

    def call(method: str, request, timeout: Optional[float]):
        if method == "kvWait":
            return store.wait(request.key, request.timeout_ms / 1000.0)
        return getattr(store, _METHODS[method])(request)

    return KvClient(call)
