"""Hadoop's defaults for the keys pyarn reads, and the deprecated key names it maps.

Values are those of Hadoop 3.3.6's ``core-default.xml``, ``yarn-default.xml`` and
``hdfs-default.xml`` (the release the integration cluster runs), except
``ipc.client.rpc-timeout.ms``: 120000 as since Hadoop 3.4 (HADOOP-17552), where 3.3.6 has 0
(wait forever). Keys whose Hadoop default is empty or absent are left out, as Hadoop leaves them
unset. Like the ``*-default.xml`` files, defaults may refer to other keys with ``${...}``.
"""
from __future__ import annotations

from typing import Dict

DEFAULTS: Dict[str, str] = {
    # core-default.xml
    "fs.defaultFS": "file:///",
    "fs.permissions.umask-mode": "022",
    "hadoop.security.authentication": "simple",
    "hadoop.security.authorization": "false",
    "hadoop.rpc.protection": "authentication",
    "hadoop.security.token.service.use_ip": "true",
    "ipc.client.connect.timeout": "20000",
    "ipc.client.connect.max.retries": "10",
    "ipc.client.connect.retry.interval": "1000",
    "ipc.client.connect.max.retries.on.timeouts": "45",
    "ipc.client.connection.maxidletime": "10000",
    "ipc.client.tcpnodelay": "true",
    "ipc.client.low-latency": "false",
    "ipc.client.ping": "true",
    "ipc.ping.interval": "60000",
    "ipc.client.rpc-timeout.ms": "120000",
    "ipc.client.fallback-to-simple-auth-allowed": "false",
    "ipc.client.bind.wildcard.addr": "false",
    "ipc.maximum.data.length": "134217728",
    "ipc.maximum.response.length": "134217728",
    # yarn-default.xml
    "yarn.resourcemanager.hostname": "0.0.0.0",
    "yarn.resourcemanager.address": "${yarn.resourcemanager.hostname}:8032",
    "yarn.resourcemanager.scheduler.address": "${yarn.resourcemanager.hostname}:8030",
    "yarn.resourcemanager.resource-tracker.address": "${yarn.resourcemanager.hostname}:8031",
    "yarn.resourcemanager.admin.address": "${yarn.resourcemanager.hostname}:8033",
    "yarn.resourcemanager.webapp.address": "${yarn.resourcemanager.hostname}:8088",
    "yarn.resourcemanager.webapp.https.address": "${yarn.resourcemanager.hostname}:8090",
    "yarn.http.policy": "HTTP_ONLY",
    "yarn.resourcemanager.ha.enabled": "false",
    "yarn.resourcemanager.ha.automatic-failover.enabled": "true",
    "yarn.client.failover-proxy-provider": "org.apache.hadoop.yarn.client.ConfiguredRMFailoverProxyProvider",
    "yarn.client.failover-no-ha-proxy-provider":
        "org.apache.hadoop.yarn.client.DefaultNoHARMFailoverProxyProvider",
    "yarn.client.failover-retries": "0",
    "yarn.client.failover-retries-on-socket-timeouts": "0",
    "yarn.resourcemanager.connect.max-wait.ms": "900000",
    "yarn.resourcemanager.connect.retry-interval.ms": "30000",
    "yarn.resourcemanager.am.max-attempts": "2",
    "yarn.resourcemanager.delegation-token.max-conf-size-bytes": "12800",
    "yarn.am.liveness-monitor.expiry-interval-ms": "600000",
    "yarn.client.application-client-protocol.poll-interval-ms": "200",
    "yarn.client.application-client-protocol.poll-timeout-ms": "-1",
    "yarn.client.nodemanager-connect.max-wait-ms": "180000",
    "yarn.client.nodemanager-connect.retry-interval-ms": "10000",
    "yarn.nodemanager.hostname": "0.0.0.0",
    "yarn.nodemanager.address": "${yarn.nodemanager.hostname}:0",
    "yarn.nodemanager.webapp.address": "${yarn.nodemanager.hostname}:8042",
    "yarn.nodemanager.remote-app-log-dir": "/tmp/logs",
    "yarn.log-aggregation-enable": "false",
    "yarn.scheduler.minimum-allocation-mb": "1024",
    "yarn.scheduler.maximum-allocation-mb": "8192",
    "yarn.scheduler.minimum-allocation-vcores": "1",
    "yarn.scheduler.maximum-allocation-vcores": "4",
    "yarn.timeline-service.enabled": "false",
    # hdfs-default.xml
    "dfs.namenode.http-address": "0.0.0.0:9870",
    "dfs.namenode.https-address": "0.0.0.0:9871",
    "dfs.replication": "3",
    "dfs.blocksize": "134217728",
    "dfs.bytes-per-checksum": "512",
    "dfs.checksum.type": "CRC32C",
    "dfs.client-write-packet-size": "65536",
    "dfs.client.socket-timeout": "60000",
    "dfs.datanode.socket.write.timeout": "480000",
    "dfs.client.use.datanode.hostname": "false",
    "dfs.client.failover.max.attempts": "15",
    "dfs.client.failover.sleep.base.millis": "500",
    "dfs.client.failover.sleep.max.millis": "15000",
    "dfs.client.failover.connection.retries": "0",
    "dfs.client.failover.connection.retries.on.timeouts": "0",
    "dfs.client.failover.random.order": "false",
    "dfs.client.retry.policy.enabled": "false",
    "dfs.client.block.write.retries": "3",
    "dfs.client.block.write.locateFollowingBlock.retries": "5",
    "dfs.client.block.write.locateFollowingBlock.initial.delay.ms": "400",
    "dfs.client.block.write.replace-datanode-on-failure.enable": "true",
    "dfs.client.block.write.replace-datanode-on-failure.policy": "DEFAULT",
    "dfs.client.block.write.replace-datanode-on-failure.best-effort": "false",
    "dfs.client.max.block.acquire.failures": "3",
    "dfs.encrypt.data.transfer": "false",
    "dfs.encrypt.data.transfer.cipher.key.bitlength": "128",
    "dfs.permissions.superusergroup": "supergroup",
}

#: Deprecated name -> current name, for the keys pyarn reads (``Configuration``'s
#: ``defaultDeprecations`` and ``HdfsConfiguration.addDeprecatedKeys``).
DEPRECATIONS: Dict[str, str] = {
    "fs.default.name": "fs.defaultFS",
    "dfs.umaskmode": "fs.permissions.umask-mode",
    "dfs.block.size": "dfs.blocksize",
    "dfs.write.packet.size": "dfs.client-write-packet-size",
    "io.bytes.per.checksum": "dfs.bytes-per-checksum",
    "dfs.socket.timeout": "dfs.client.socket-timeout",
    "dfs.federation.nameservices": "dfs.nameservices",
    "dfs.http.address": "dfs.namenode.http-address",
    "dfs.https.address": "dfs.namenode.https-address",
    "dfs.permissions.supergroup": "dfs.permissions.superusergroup",
    "yarn.client.max-nodemanagers-proxies": "yarn.client.max-cached-nodemanagers-proxies",
}
