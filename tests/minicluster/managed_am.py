"""A managed ApplicationMaster run as the AM container by the lifecycle tests.

``python managed_am.py MODE``: it records its environment in ``<LOG_DIR>/env.json``,
reads its AMRMToken from ``HADOOP_TOKEN_FILE_LOCATION`` and its scheduler address
from ``HADOOP_CONF_DIR``, as a real AM does, then

* ``succeed``: registers, heartbeats once and finishes SUCCEEDED;
* ``fail-first``: exits 3 in its first attempt, succeeds in the next;
* ``fail``: exits 3;
* ``hang``: registers and then stays silent;
* ``linger``: finishes SUCCEEDED, then lives on for 5 seconds.
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from hadoop_protos import yarn_records_pb2 as pb  # noqa: E402
from pyarn.security.credentials import Credentials  # noqa: E402
from pyarn.security.tokens import AMRM_TOKEN_KIND  # noqa: E402
from pyarn.yarn.ids import ContainerId  # noqa: E402
from tests.minicluster.rawam import AppMaster, Cluster  # noqa: E402


def main(mode: str) -> int:
    env = dict(os.environ)
    Path(env["LOG_DIRS"].split(",")[0], "env.json").write_text(json.dumps(env))
    attempt = ContainerId.parse(env["CONTAINER_ID"]).application_attempt_id
    if mode == "fail" or (mode == "fail-first" and attempt.attempt_id == 1):
        print("failing on purpose", file=sys.stderr)
        return 3
    token = Credentials.read_file(env["HADOOP_TOKEN_FILE_LOCATION"]).find_token(AMRM_TOKEN_KIND)
    assert token is not None, "no AMRMToken in the container's token file"
    with Cluster(env["HADOOP_CONF_DIR"]) as cluster:
        with AppMaster(cluster, attempt.application_id.to_proto(), token.to_proto()) as am:
            am.register(host=env["NM_HOST"], rpc_port=-1, tracking_url="")
            am.allocate(progress=0.5)
            if mode == "hang":
                time.sleep(3600)
            am.finish(pb.APP_SUCCEEDED, f"managed AM {attempt} done")
    if mode == "linger":
        time.sleep(5)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
