"""The application secret, the token derived from it, and where a submitter keeps it.

Only holders of the application secret may talk to ``pyarn-am``. The
submitter makes a random secret (:func:`new_secret`), puts it into the AM's
credentials under :data:`SECRET_ALIAS` (YARN delivers it in the AM's token
file) and keeps a copy in ``~/.pyarn/apps/<app_id>/secret``
(:func:`save_secret`, mode 0600). Both ends turn the secret into the same
Hadoop token (:func:`app_token`):

* kind :data:`TOKEN_KIND` (``PYARN_APP_TOKEN``),
* identifier: the application id as ASCII bytes,
* password: HMAC-SHA256(secret, identifier).

The AM's IPC server accepts TOKEN auth only and checks the password
(:class:`pyarn.am.security.AppSecretManager`); service containers and the
master script receive the token (not the secret) in their credentials under
:data:`TOKEN_ALIAS`.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path
from typing import Union

from ..errors import PyarnError
from ..security.tokens import Token
from ..yarn.ids import ApplicationId

__all__ = [
    "SECRET_ALIAS", "TOKEN_ALIAS", "TOKEN_KIND", "SECRET_BYTES", "HOME_ENV", "AppIdLike", "app_token",
    "new_secret", "save_secret", "load_secret", "forget_secret", "secret_path", "apps_dir",
]

#: Alias of the application secret in the AM's credentials.
SECRET_ALIAS = "pyarn.app.secret"
#: Alias of the application token in the service containers' credentials.
TOKEN_ALIAS = "pyarn.app.token"
#: Kind of the token that authenticates callers of the AM.
TOKEN_KIND = "PYARN_APP_TOKEN"
#: Size of a fresh secret.
SECRET_BYTES = 32
#: Environment variable overriding ``~/.pyarn`` (for tests and shared hosts).
HOME_ENV = "PYARN_HOME"

AppIdLike = Union[ApplicationId, str]


def new_secret() -> bytes:
    """A fresh random application secret."""
    return secrets.token_bytes(SECRET_BYTES)


def _identifier(app_id: AppIdLike) -> bytes:
    return str(ApplicationId.coerce(app_id)).encode("ascii")


def app_token(app_id: AppIdLike, secret: bytes) -> Token:
    """The ``PYARN_APP_TOKEN`` of ``app_id`` derived from ``secret``."""
    if not secret:
        raise ValueError("app_token: the application secret is empty")
    identifier = _identifier(app_id)
    password = hmac.new(secret, identifier, hashlib.sha256).digest()
    return Token(identifier, password, TOKEN_KIND, "")


def apps_dir() -> Path:
    """``~/.pyarn/apps`` (or ``$PYARN_HOME/apps``)."""
    home = os.environ.get(HOME_ENV)
    base = Path(home) if home else Path.home() / ".pyarn"
    return base / "apps"


def secret_path(app_id: AppIdLike) -> Path:
    """Where the submitter keeps the secret of ``app_id``."""
    return apps_dir() / str(ApplicationId.coerce(app_id)) / "secret"


def save_secret(app_id: AppIdLike, secret: bytes) -> Path:
    """Store ``secret`` for ``app_id``, readable by the owner only; returns the file.

    The directory is made 0700 and the file written 0600 then renamed into
    place, so no other user ever sees it and readers never see half a file.
    """
    path = secret_path(app_id)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    tmp = path.with_name(f".secret.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(secret)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def load_secret(app_id: AppIdLike) -> bytes:
    """The secret :func:`save_secret` stored for ``app_id``.

    Raises :class:`~pyarn.errors.PyarnError` naming the file when it is
    missing, unreadable or readable by others.
    """
    path = secret_path(app_id)
    try:
        mode = path.stat().st_mode
        if mode & 0o077:
            raise PyarnError(f"{path}: the application secret is accessible to other users "
                             f"(mode {mode & 0o777:o}); expected 600")
        data = path.read_bytes()
    except FileNotFoundError:
        raise PyarnError(f"no secret for {app_id} at {path}: was the application submitted "
                         "by this user from this machine?") from None
    except OSError as exc:
        raise PyarnError(f"{path}: cannot read the application secret: {exc.strerror or exc}") from None
    if not data:
        raise PyarnError(f"{path}: the application secret is empty")
    return data


def forget_secret(app_id: AppIdLike) -> None:
    """Delete the secret :func:`save_secret` stored for ``app_id`` (and its directory when empty);
    nothing happens when there is none."""
    path = secret_path(app_id)
    path.unlink(missing_ok=True)
    try:
        path.parent.rmdir()
    except OSError:
        pass
