"""Who may do what through ``pyarn-am``'s service: the application's ACLs, enforced by the AM.

Each method of ``pyarn.am.ApplicationMasterProtocol`` needs VIEW (reading the
spec, the containers, the key-value store) or MODIFY (scaling, killing,
shutting down, writing the store) access (:data:`METHOD_ACCESS`). The
caller (:class:`~pyarn.am.security.Caller`) is allowed when:

* it holds the application secret (the submitter, the application's own
  containers): always;
* it is the application's owner (the ResourceManager's client-to-AM token
  names the caller; its short name comes from ``hadoop.security.auth_to_local``);
* the cluster's ACLs are on (``yarn.acl.enable``) and ``yarn.admin.acl`` names it;
* the spec's ``acls`` are enabled and their VIEW or MODIFY users or groups name it,
  as YARN reads application ACLs (``*``: everybody; groups from this host).

With the spec's ACLs disabled (the default) only the owner (and cluster
admins) get in: as YARN treats an application that sets no ACLs.
"""
from __future__ import annotations

import enum
import functools
import logging
from typing import Any, Callable, FrozenSet, Mapping, Optional

from hadoop_protos.pyarn_rpc import PYARN_APP_MASTER

from ..conf import Configuration
from ..errors import AccessControlError
from ..ipc import CallContext, IpcSettings
from ..security.acl import AccessControlList
from ..security.auth_to_local import AuthToLocal
from ..security.groups import GroupMapping
from ..spec import ACLs
from .security import Caller

log = logging.getLogger(__name__)

__all__ = ["Access", "AccessPolicy", "AuthorizedHandler", "METHOD_ACCESS"]


class Access(enum.Enum):
    """What a call does to the application (YARN's ``VIEW_APP`` and ``MODIFY_APP``)."""

    VIEW = "VIEW"
    MODIFY = "MODIFY"


#: The access each RPC method of the AM's protocol needs.
METHOD_ACCESS: Mapping[str, Access] = {
    "getSpec": Access.VIEW, "getContainers": Access.VIEW, "kvRange": Access.VIEW, "kvWait": Access.VIEW,
    "kvWatch": Access.VIEW,
    "scale": Access.MODIFY, "addContainer": Access.MODIFY, "killContainer": Access.MODIFY,
    "shutdown": Access.MODIFY, "setProgress": Access.MODIFY, "kvPut": Access.MODIFY,
    "kvDeleteRange": Access.MODIFY, "kvTransaction": Access.MODIFY,
}


class AccessPolicy:
    """Decides each call: see the module docstring.

    ``short_name`` maps the name a client-to-AM token carries to a user name
    (auth_to_local); ``groups`` names a user's groups.
    """

    def __init__(self, app_id: str, owner: str, acls: ACLs, *, admins: Optional[AccessControlList] = None,
                 short_name: Callable[[str], str] = lambda name: name,
                 groups: Optional[Callable[[str], FrozenSet[str]]] = None) -> None:
        self.app_id = app_id
        self.owner = owner
        self.admins = admins
        self._acls: Mapping[Access, Optional[AccessControlList]] = {
            Access.VIEW: acls.view_acl() if acls.enable else None,
            Access.MODIFY: acls.modify_acl() if acls.enable else None,
        }
        self._short_name = short_name
        self._groups = groups if groups is not None else GroupMapping()

    @classmethod
    def from_conf(cls, app_id: str, owner: str, acls: ACLs, conf: Configuration) -> AccessPolicy:
        """The policy with the cluster's ``yarn.acl.enable``/``yarn.admin.acl`` and
        ``hadoop.security.auth_to_local`` rules."""
        admins = None
        if conf.get_bool("yarn.acl.enable", False):
            admins = AccessControlList.parse(conf.get_str("yarn.admin.acl", "*"))
        if not IpcSettings.from_conf(conf).security_enabled:  # no client-to-AM tokens come
            return cls(app_id, owner, acls, admins=admins)
        short_name = functools.lru_cache(maxsize=256)(AuthToLocal.from_conf(conf).short_name)
        return cls(app_id, owner, acls, admins=admins, short_name=short_name)

    def check(self, caller: Caller, access: Access) -> None:
        """Return when ``caller`` has ``access``; raise :class:`~pyarn.errors.AccessControlError`
        (Hadoop's ``AccessControlException``) naming the user, the access and the application."""
        if caller.via_secret:
            return
        user = self._short_name(caller.name)
        if user == self.owner:
            return
        groups: Optional[FrozenSet[str]] = None
        if self.admins is not None:
            groups = self._groups(user)
            if self.admins.allows(user, groups):
                return
        acl = self._acls[access]
        if acl is not None and acl.allows(user, groups if groups is not None else self._groups(user)):
            return
        log.warning("refused %s access to %s for %s", access.value, self.app_id, caller.name)
        why = "" if acl is not None else " (the application's ACLs are not enabled: only its owner may)"
        raise AccessControlError(f"User {user} does not have {access.value} access to {self.app_id}{why}")


class AuthorizedHandler:
    """The AM's protocol handler behind ``policy``: each RPC method first checks that the caller
    (named by ``callers`` from the call's token identifier) has the access :data:`METHOD_ACCESS`
    says it needs."""

    def __init__(self, handler: object, policy: AccessPolicy, callers: Callable[[bytes], Caller]) -> None:
        unlisted = [name for name in PYARN_APP_MASTER.methods if name not in METHOD_ACCESS]
        if unlisted:
            raise ValueError(f"no access rule for the AM methods {', '.join(unlisted)}")
        self._handler = handler
        self._checked = {name: self._check(name, getattr(handler, name), access)
                         for name, access in METHOD_ACCESS.items()}
        self._policy = policy
        self._callers = callers

    def _check(self, name: str, function: Callable[..., Any], access: Access) -> Callable[..., Any]:
        @functools.wraps(function)
        def checked(request, ctx: CallContext):
            if ctx.token_identifier is None:
                raise AccessControlError(f"{name}: the caller authenticated without a token")
            self._policy.check(self._callers(ctx.token_identifier), access)
            return function(request, ctx)
        return checked

    def __getattr__(self, name: str) -> Any:
        checked = self.__dict__.get("_checked", {}).get(name)
        return checked if checked is not None else getattr(self._handler, name)
