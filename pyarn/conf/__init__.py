"""Hadoop configuration: the one loader pyarn uses.

``Configuration.load()`` reads ``core-site.xml``, ``hdfs-site.xml`` and ``yarn-site.xml`` from
the configuration directory (``YARN_CONF_DIR``, else ``HADOOP_CONF_DIR``, else
``$HADOOP_HOME/etc/hadoop``) over Hadoop's defaults, with Hadoop's rules for ``${...}``
expansion, final properties and deprecated keys. :func:`rm_addresses` and
:func:`namenode_addresses` resolve ResourceManagers and NameNodes, HA included.
"""
from .addresses import (
    NAMENODE_RPC_PORT,
    RM_SERVICE_PORTS,
    NameNodes,
    namenode_addresses,
    parse_address,
    rm_addresses,
    substitute_host,
)
from .configuration import MAX_SUBST, SITE_FILES, Configuration, find_conf_dir
from .defaults import DEFAULTS, DEPRECATIONS
from .errors import ConfigError

__all__ = [
    "Configuration",
    "ConfigError",
    "DEFAULTS",
    "DEPRECATIONS",
    "MAX_SUBST",
    "NAMENODE_RPC_PORT",
    "NameNodes",
    "RM_SERVICE_PORTS",
    "SITE_FILES",
    "find_conf_dir",
    "namenode_addresses",
    "parse_address",
    "rm_addresses",
    "substitute_host",
]
