"""The AM's side of the application token: checking the passwords of its callers.

The secret, the token derived from it and where a submitter keeps the secret
are shared with the AM's clients: :mod:`pyarn.application.security`.
"""
from __future__ import annotations

import hmac
from typing import Optional

from ..application.security import AppIdLike, app_token
from ..errors import InvalidTokenError
from ..ipc.auth import SecretManager

__all__ = ["AppSecretManager"]


class AppSecretManager(SecretManager):
    """Checks ``PYARN_APP_TOKEN`` passwords for the AM's IPC server."""

    def __init__(self, app_id: AppIdLike, secret: bytes) -> None:
        self._token = app_token(app_id, secret)

    def retrieve_password(self, identifier: bytes) -> bytes:
        if not hmac.compare_digest(identifier, self._token.identifier):
            raise InvalidTokenError("token is not for this application")
        return self._token.password

    def user_of(self, identifier: bytes) -> Optional[str]:
        return identifier.decode("ascii", "replace")
