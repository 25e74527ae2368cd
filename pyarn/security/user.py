"""The user pyarn acts as: a name, an optional real (login) user, and tokens."""
from __future__ import annotations

import getpass
import os
from typing import Iterable, Mapping, Optional, Tuple

import attrs

from .tokens import Token


@attrs.frozen
class User:
    """Who calls: ``name`` is the effective user; ``real_user`` is set when
    ``real_user`` impersonates ``name`` (a proxy user)."""

    name: str
    real_user: Optional[str] = None
    tokens: Tuple[Token, ...] = attrs.field(default=(), converter=tuple, repr=False)

    @classmethod
    def current(cls, env: Optional[Mapping[str, str]] = None) -> User:
        """The user of this process as Hadoop sees it on an insecure cluster:
        ``HADOOP_USER_NAME`` when set, else the operating-system user."""
        env = os.environ if env is None else env
        name = env.get("HADOOP_USER_NAME") or _os_user()
        return cls(name)

    def with_tokens(self, tokens: Iterable[Token]) -> User:
        return attrs.evolve(self, tokens=(*self.tokens, *tokens))

    def find_token(self, kind: str, service: Optional[str] = None) -> Optional[Token]:
        """The first token of ``kind`` (and ``service``, when given)."""
        for token in self.tokens:
            if token.matches(kind, service):
                return token
        return None

    def proxy_for(self, name: str) -> User:
        """This user impersonating ``name``."""
        return User(name, real_user=self.name, tokens=self.tokens)


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry for this uid (e.g. in containers)
        return str(os.getuid())
