"""The AM's side of authentication: checking the tokens its callers present, and naming the callers.

Two kinds of token open ``pyarn-am``'s service:

* the application token (``PYARN_APP_TOKEN``), derived from the application
  secret: its holders are the submitter and the application's own containers,
  and act as the application's owner (see :mod:`pyarn.application.security`);
* YARN's client-to-AM token (``YARN_CLIENT_TOKEN``) that a secure
  ResourceManager gives any caller allowed to view the application
  (:mod:`pyarn.yarn.client_to_am`): it names the caller, whose access the
  application's ACLs then decide (:mod:`pyarn.am.access`). The AM can check
  these once it has registered and received the attempt's master key.
"""
from __future__ import annotations

import hmac
import threading
from typing import Optional, Tuple

import attrs

from ..application.security import AppIdLike, app_token
from ..errors import InvalidTokenError
from ..ipc.auth import SecretManager
from ..yarn.client_to_am import ClientToAMIdentifier, client_to_am_password
from ..yarn.ids import ApplicationAttemptId, ApplicationId

__all__ = ["AppSecretManager", "Caller"]


@attrs.frozen
class Caller:
    """Who a token stands for: ``name`` as the ResourceManager vouched for it (``alice@REALM``), or
    the owner's name for a holder of the application secret (``via_secret``)."""

    name: str
    via_secret: bool = False


class AppSecretManager(SecretManager):
    """Checks the passwords of the AM's callers for its IPC server.

    ``owner`` is the application's user. :meth:`set_client_token_master_key` gives the
    attempt's client-to-AM master key (from the registration response); until then, and on
    clusters without security, only the application token is accepted.
    """

    def __init__(self, app_id: AppIdLike, secret: bytes, owner: str) -> None:
        self._token = app_token(app_id, secret)
        self._app_id = ApplicationId.coerce(app_id)
        self.owner = owner
        self._lock = threading.Lock()
        self._client_key: Optional[bytes] = None
        self._attempt: Optional[ApplicationAttemptId] = None

    def set_client_token_master_key(self, attempt_id: ApplicationAttemptId, key: bytes) -> None:
        """Accept the ResourceManager's client-to-AM tokens for ``attempt_id`` from now on."""
        if not key:
            raise ValueError("the client-to-AM master key is empty")
        with self._lock:
            self._attempt, self._client_key = attempt_id, bytes(key)

    def _client_identifier(self, identifier: bytes) -> Tuple[ClientToAMIdentifier, bytes]:
        """The parsed client-to-AM identifier and the key that checks it."""
        parsed = ClientToAMIdentifier.from_bytes(identifier)
        with self._lock:
            attempt, key = self._attempt, self._client_key
        if parsed.attempt_id.application_id != self._app_id:
            raise InvalidTokenError(f"the client token is for {parsed.attempt_id.application_id}, "
                                    f"not {self._app_id}")
        if key is None:
            raise InvalidTokenError("this application master accepts no client-to-AM tokens (the "
                                    "ResourceManager gave it no master key: is the cluster secure?)")
        if parsed.attempt_id != attempt:
            raise InvalidTokenError(f"the client token is for attempt {parsed.attempt_id}, this is "
                                    f"{attempt}: ask the ResourceManager for a new application report")
        return parsed, key

    def retrieve_password(self, identifier: bytes) -> bytes:
        if hmac.compare_digest(identifier, self._token.identifier):
            return self._token.password
        _, key = self._client_identifier(identifier)
        return client_to_am_password(key, identifier)

    def caller_of(self, identifier: bytes) -> Caller:
        """Who a token this manager accepted stands for."""
        if hmac.compare_digest(identifier, self._token.identifier):
            return Caller(self.owner, via_secret=True)
        return Caller(self._client_identifier(identifier)[0].client_name)

    def user_of(self, identifier: bytes) -> Optional[str]:
        return self.caller_of(identifier).name
