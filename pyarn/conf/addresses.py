"""Where the ResourceManagers and NameNodes are, HA included.

* ResourceManagers (``yarn.api.conf.HAUtil``, PROTOCOL-FACTS §5.8): without HA, the service's
  address key; with ``yarn.resourcemanager.ha.enabled``, for each id of
  ``yarn.resourcemanager.ha.rm-ids`` the key suffixed ``.<rm-id>``, else
  ``yarn.resourcemanager.hostname.<rm-id>`` with the service's default port.
* NameNodes (``hdfs.DFSUtilClient``, ``HAUtilClient``, PROTOCOL-FACTS §6.1): an ``hdfs://``
  URI whose host is a nameservice of ``dfs.nameservices`` or has a
  ``dfs.client.failover.proxy.provider.<ns>`` is logical: its NameNodes are
  ``dfs.ha.namenodes.<ns>`` with ``dfs.namenode.rpc-address.<ns>.<nn-id>`` (or
  ``dfs.namenode.rpc-address.<ns>`` for one NameNode). Otherwise the URI is ``host[:port]``.

``parse_address`` (:mod:`pyarn.net`) and ``substitute_host`` (:mod:`pyarn.security.principals`)
are re-exported here, where they used to live.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, List, Optional, Tuple

import attrs

from ..net import parse_address
from ..security.principals import substitute_host
from .errors import ConfigError

if TYPE_CHECKING:
    from .configuration import Configuration

NAMENODE_RPC_PORT = 8020
#: Default port of each ResourceManager service, by the key's suffix after ``yarn.resourcemanager.``.
RM_SERVICE_PORTS = {
    "address": 8032,
    "scheduler.address": 8030,
    "resource-tracker.address": 8031,
    "admin.address": 8033,
    "webapp.address": 8088,
    "webapp.https.address": 8090,
}

__all__ = ["NAMENODE_RPC_PORT", "RM_SERVICE_PORTS", "NameNodes", "namenode_addresses", "parse_address",
           "rm_addresses", "substitute_host"]

RMAddress = Tuple[Optional[str], str, int]
NNAddress = Tuple[Optional[str], str, int]


def rm_addresses(conf: Configuration, service: str = "address") -> List[RMAddress]:
    """The ResourceManager addresses of ``service`` (``address``, ``scheduler.address``,
    ``webapp.address``, ``webapp.https.address``, ``resource-tracker.address``,
    ``admin.address``) as ``[(rm_id, host, port)]``; ``rm_id`` is None without HA."""
    try:
        default_port = RM_SERVICE_PORTS[service]
    except KeyError:
        raise ValueError(f"unknown ResourceManager service {service!r}; "
                         f"one of {', '.join(RM_SERVICE_PORTS)}") from None
    key = f"yarn.resourcemanager.{service}"
    if not conf.get_bool("yarn.resourcemanager.ha.enabled", False):
        return [(None, *conf.get_address(key, default_port))]
    ids_key = "yarn.resourcemanager.ha.rm-ids"
    rm_ids = list(dict.fromkeys(conf.get_list(ids_key)))
    if not rm_ids:
        raise ConfigError("must list the ResourceManager ids when yarn.resourcemanager.ha.enabled "
                          "is true", key=ids_key, file=_dir(conf))
    out: List[RMAddress] = []
    for rm_id in rm_ids:
        id_key = f"{key}.{rm_id}"
        if conf.get_str(id_key, ""):
            out.append((rm_id, *conf.get_address(id_key, default_port)))
            continue
        host_key = f"yarn.resourcemanager.hostname.{rm_id}"
        host = conf.get_str(host_key, "")
        if not host:
            raise ConfigError(f"{host_key} or {id_key} needs to be set in an HA configuration",
                              key=id_key, file=_dir(conf))
        out.append((rm_id, host, default_port))
    return out


@attrs.frozen
class NameNodes:
    """The NameNodes behind an ``hdfs://`` URI. ``nameservice`` is the logical name when the
    URI names one (then ``namenodes`` lists its NameNodes, with their ids), else None and
    ``namenodes`` holds the URI's one ``(None, host, port)``."""

    uri: str
    nameservice: Optional[str]
    namenodes: Tuple[NNAddress, ...]

    @property
    def is_logical(self) -> bool:
        return self.nameservice is not None

    @property
    def is_ha(self) -> bool:
        return self.is_logical and len(self.namenodes) > 1


def namenode_addresses(conf: Configuration, uri: Optional[str] = None) -> NameNodes:
    """The NameNodes of ``uri`` (default ``fs.defaultFS``)."""
    key = None if uri is not None else "fs.defaultFS"
    if uri is None:
        uri = conf.get_str("fs.defaultFS")
    scheme, sep, rest = uri.partition("://")
    if not sep or scheme.lower() != "hdfs":
        raise _uri_error(conf, key, f"{uri!r} is not an hdfs:// URI")
    authority = rest.partition("/")[0]
    if not authority:
        raise _uri_error(conf, key, f"{uri!r} has no host (expected hdfs://host:port or "
                                    "hdfs://nameservice)")
    try:
        host, port = parse_address(authority, NAMENODE_RPC_PORT)
    except ValueError as e:
        raise _uri_error(conf, key, str(e)) from None
    provider = conf.get_str(f"dfs.client.failover.proxy.provider.{host}", "")
    if host not in conf.get_list("dfs.nameservices") and not provider:
        return NameNodes(uri, None, ((None, host, port),))
    if port != NAMENODE_RPC_PORT:
        raise _uri_error(conf, key, f"port {port} specified in {uri!r}, but {host!r} is a logical "
                                    "(HA) nameservice and does not use port information")
    namenodes: List[NNAddress] = []
    nn_ids = list(dict.fromkeys(conf.get_list(f"dfs.ha.namenodes.{host}")))
    for nn_id in nn_ids:
        addr_key = f"dfs.namenode.rpc-address.{host}.{nn_id}"
        if conf.get_str(addr_key, ""):
            namenodes.append((nn_id, *conf.get_address(addr_key, NAMENODE_RPC_PORT)))
    if not nn_ids and conf.get_str(f"dfs.namenode.rpc-address.{host}", ""):
        namenodes.append((None, *conf.get_address(f"dfs.namenode.rpc-address.{host}",
                                                   NAMENODE_RPC_PORT)))
    if not namenodes:
        raise ConfigError(f"no NameNode RPC address for nameservice {host!r}: set "
                          f"dfs.ha.namenodes.{host} and dfs.namenode.rpc-address.{host}.<nn-id>",
                          key=f"dfs.ha.namenodes.{host}", file=_dir(conf))
    return NameNodes(uri, host, tuple(namenodes))


def _dir(conf: Configuration) -> Optional[str]:
    return str(conf.source_dir) if conf.source_dir is not None else None


def _uri_error(conf: Configuration, key: Optional[str], message: str) -> ConfigError:
    if key is None:
        return ConfigError(message)
    file, line = conf.origin(key) or (None, None)
    return ConfigError(message, key=key, file=file, line=line)
