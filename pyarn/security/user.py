"""The user pyarn acts as: a name, an optional real (login) user, and tokens."""
from __future__ import annotations

import getpass
import os
from typing import Iterable, Mapping, Optional, Tuple

import attrs

from .tokens import Token


def _token_tuple(tokens: Iterable[Token]) -> Tuple[Token, ...]:
    return tuple(tokens)


@attrs.frozen
class User:
    """Who calls: ``name`` is the effective user; ``real_user`` is set when
    ``real_user`` impersonates ``name`` (a proxy user)."""

    name: str
    real_user: Optional[str] = None
    #: Any iterable of tokens is accepted (stored as a tuple).
    tokens: Tuple[Token, ...] = attrs.field(default=(), converter=_token_tuple, repr=False)

    @classmethod
    def current(cls, env: Optional[Mapping[str, str]] = None) -> User:
        """The user of this process as Hadoop sees it on an insecure cluster:
        ``HADOOP_USER_NAME`` when set, else the operating-system user. No tokens: see
        :meth:`login` for the user with the tokens this process was given."""
        env = os.environ if env is None else env
        name = env.get("HADOOP_USER_NAME") or _os_user()
        return cls(name)

    @classmethod
    def login(cls, conf: Optional[Mapping[str, str]] = None,
              env: Optional[Mapping[str, str]] = None) -> User:
        """The login user as ``UserGroupInformation.getLoginUser`` makes it: :meth:`current`
        with the tokens Hadoop loads at login (:meth:`Credentials.from_env
        <pyarn.security.credentials.Credentials.from_env>`): the token files of
        ``HADOOP_TOKEN_FILE_LOCATION`` and ``hadoop.token.files``, the encoded tokens of
        ``HADOOP_TOKEN`` and ``hadoop.tokens``. In a YARN container this is how code finds the
        delegation tokens the application was given.

        The token files are read at each call (they are small); a named file that is missing
        is skipped, one that does not parse raises
        :class:`~pyarn.security.credentials.CredentialsError`.
        """
        from .credentials import Credentials

        env = os.environ if env is None else env
        credentials = Credentials.from_env(env, conf)
        user = cls.current(env)
        if conf is not None and conf.get("hadoop.security.authentication", "simple").lower() == "kerberos":
            # Under Kerberos the user is the ticket's principal (HADOOP_USER_NAME is ignored);
            # with no ticket (a container holding tokens) it stays the OS user, as in Java.
            principal = _ticket_principal(env)
            user = cls(kerberos_short_name(principal, conf) if principal else _os_user())
        return user.with_tokens(credentials.tokens.values())

    def with_tokens(self, tokens: Iterable[Token]) -> User:
        return attrs.evolve(self, tokens=(*self.tokens, *tokens))

    def find_token(self, kind: str, service: Optional[str] = None) -> Optional[Token]:
        """The first token of ``kind`` (and ``service``, when given)."""
        for token in self.tokens:
            if token.matches(kind, service):
                return token
        return None

    def proxy_for(self, name: str) -> User:
        """This user impersonating ``name``, as Java's ``UserGroupInformation.createProxyUser``:
        the proxy authenticates with this user's Kerberos login and carries no tokens (this user's
        tokens are this user's: a connection made with one of them would act as this user, not as
        ``name``). Add tokens issued to ``name`` with :meth:`with_tokens`."""
        return User(name, real_user=self.name)


def _ticket_principal(env: Mapping[str, str]) -> Optional[str]:
    """The principal of the process's keytab login, else of the ticket cache (``KRB5CCNAME``);
    None without a usable ticket."""
    try:
        from .kerberos import KerberosCredentials, login_user

        login = login_user()
        if login is not None:
            return login.principal
        return KerberosCredentials.from_ticket_cache(env.get("KRB5CCNAME")).principal
    except Exception:  # no gssapi, no cache, expired: the connection will say which
        return None


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry for this uid (e.g. in containers)
        return str(os.getuid())


def kerberos_short_name(principal: str, conf: Mapping[str, str]) -> str:
    """The user name of ``principal`` by the cluster's ``hadoop.security.auth_to_local`` rules, as
    Java's ``UserGroupInformation.getShortUserName``; :class:`~pyarn.errors.PyarnError` naming the
    principal when no rule maps it (Java: "Illegal principal name")."""
    from ..errors import PyarnError
    from .auth_to_local import AuthToLocal, NoMatchingRule

    try:
        return AuthToLocal.from_conf(conf).short_name(principal)
    except NoMatchingRule as exc:
        raise PyarnError(f"Illegal principal name {principal}: {exc} "
                         "(hadoop.security.auth_to_local maps it to no user)") from None
