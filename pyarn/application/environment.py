"""Environment variables and file names of the application protocol, shared by ``pyarn-am``,
its submitter and its containers.

Given by the submitter to the AM (see :mod:`pyarn.application`):

======================== =========================================================
``PYARN_STAGING_DIR``    the application's staging directory URL, deleted when the
                         application ends; the AM keeps its journal there, in ``.pyarn.journal``
                         (:data:`JOURNAL_DIR`), for its next attempts
``HADOOP_CONF_DIR``,
``YARN_CONF_DIR``        where to find the cluster's configuration (scheduler address, ...)
======================== =========================================================

(What the AM reads of its container's environment besides is in
:mod:`pyarn.am.environment`.)

Given by the AM to each service container (and to the master script, with the
service and container names empty), as in Skein's ``SKEIN_*`` variables:

========================== ====================================================
``PYARN_APPLICATION_ID``   the application id
``PYARN_AM_ADDRESS``       ``host:port`` of the AM's RPC server (of the attempt that started the
                           container: a client looks the AM up again in the ResourceManager's
                           application report when that address no longer answers)
``PYARN_SERVICE_NAME``     the container's service
``PYARN_CONTAINER_ID``     ``<service>_<instance>``, e.g. ``worker_0`` (the owner name for keys)
``PYARN_RESOURCE_MEMORY``  the container's memory in MiB
``PYARN_RESOURCE_VCORES``  its virtual cores
``SKEIN_*``                the same values under Skein's names (``SKEIN_APPLICATION_ID``,
                           ``SKEIN_CONTAINER_ID``, ``SKEIN_RESOURCE_MEMORY``,
                           ``SKEIN_RESOURCE_VCORES``) for scripts written for Skein
``HADOOP_USER_NAME``       the submitting user, on clusters without Kerberos
``PYARN_CONF_DIR``         the Hadoop configuration the application was submitted with: the
                           staged ``.pyarn_conf.zip`` (:data:`CONF_ARCHIVE`), unpacked in the
                           container as ``.pyarn_conf`` (absent when the submitter staged none)
========================== ====================================================

With that configuration (or, failing it, ``YARN_CONF_DIR``/``HADOOP_CONF_DIR``,
which containers may inherit from their NodeManager) a client inside the
application reaches the ResourceManager, to look the AM's address up again.

The containers' credentials (``HADOOP_TOKEN_FILE_LOCATION``) hold the
``PYARN_APP_TOKEN`` under alias ``pyarn.app.token``, with the AM's delegation
tokens, but neither the AMRM token nor the application secret. The master
script gets the same credentials in a token file of its own.
"""
from __future__ import annotations

__all__ = [
    "SPEC_FILE", "JOURNAL_DIR", "STAGING_DIR_ENV", "APPLICATION_ID_ENV", "AM_ADDRESS_ENV", "SERVICE_NAME_ENV",
    "CONTAINER_ID_ENV", "RESOURCE_MEMORY_ENV", "RESOURCE_VCORES_ENV", "SKEIN_ALIASES",
    "CONF_DIR", "CONF_ARCHIVE", "CONF_DIR_ENV",
]

#: The application spec the submitter stages into the AM's working directory (``ApplicationSpec.to_json()``,
#: with each file's ``size`` and ``timestamp`` filled in).
SPEC_FILE = ".pyarn.spec.json"
#: The AM's journal (:mod:`pyarn.am.recovery`) in the staging directory: a name staged files must not take.
JOURNAL_DIR = ".pyarn.journal"
#: The Hadoop configuration of the submitting client, for the AM and the containers: a directory in
#: their working directories (``pyarn-am --conf-dir .pyarn_conf``) ...
CONF_DIR = ".pyarn_conf"
#: ... unpacked from this zip archive of the staging directory (one ``core-site.xml``).
CONF_ARCHIVE = f"{CONF_DIR}.zip"
#: Where a container (or the master script) finds that configuration.
CONF_DIR_ENV = "PYARN_CONF_DIR"
STAGING_DIR_ENV = "PYARN_STAGING_DIR"
APPLICATION_ID_ENV = "PYARN_APPLICATION_ID"
AM_ADDRESS_ENV = "PYARN_AM_ADDRESS"
SERVICE_NAME_ENV = "PYARN_SERVICE_NAME"
CONTAINER_ID_ENV = "PYARN_CONTAINER_ID"
RESOURCE_MEMORY_ENV = "PYARN_RESOURCE_MEMORY"
RESOURCE_VCORES_ENV = "PYARN_RESOURCE_VCORES"
#: Skein's names for the same values.
SKEIN_ALIASES = {
    APPLICATION_ID_ENV: "SKEIN_APPLICATION_ID",
    CONTAINER_ID_ENV: "SKEIN_CONTAINER_ID",
    RESOURCE_MEMORY_ENV: "SKEIN_RESOURCE_MEMORY",
    RESOURCE_VCORES_ENV: "SKEIN_RESOURCE_VCORES",
}
