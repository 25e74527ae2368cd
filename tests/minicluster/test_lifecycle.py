"""Application and attempt lifecycles: managed AMs, retries, kill, liveness expiry."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from hadoop_protos import yarn_records_pb2 as pb
from hadoop_protos import yarn_service_pb2 as spb
from pyarn.minicluster import MiniCluster
from pyarn.security.credentials import Credentials
from pyarn.security.tokens import AMRM_TOKEN_KIND
from pyarn.yarn.ids import ApplicationAttemptId, ApplicationId, ContainerId

from .rawam import Cluster, log_dir_command, wait_for

MANAGED_AM = Path(__file__).with_name("managed_am.py")
REPO = Path(__file__).resolve().parents[2]


def _submit_managed(cluster: Cluster, mode: str, name: str, **fields) -> pb.ApplicationIdProto:
    return cluster.submit(name, commands=[log_dir_command(f"{sys.executable} {MANAGED_AM} {mode}")],
                          memory=256, **fields)


def _attempts(cluster: Cluster, app_id) -> list:
    return list(cluster.rm.call("getApplicationAttempts", spb.GetApplicationAttemptsRequestProto(
        application_id=app_id)).application_attempts)


def _in_state(cluster: Cluster, app_id, state: int) -> list:
    return [a for a in _attempts(cluster, app_id) if a.yarn_application_attempt_state == state]


def _ended(attempts: list) -> list:
    """``attempts`` once none is FINISHING any more (else an empty list)."""
    finishing = any(a.yarn_application_attempt_state == pb.APP_ATTEMPT_FINISHING for a in attempts)
    return [] if finishing else attempts


def _am_log_dir(minicluster: MiniCluster, attempt: pb.ApplicationAttemptReportProto) -> Path:
    container = ContainerId.from_proto(attempt.am_container_id)
    for nm in minicluster.node_managers:
        path = nm.log_dir / str(container.application_id) / str(container)
        if path.is_dir():
            return path
    raise AssertionError(f"no log dir for {container}")


def test_managed_am_gets_its_token_file_and_environment(minicluster, cluster):
    app_id = _submit_managed(cluster, "succeed", "managed-ok")
    report = cluster.wait_final(app_id)
    assert (report.yarn_application_state, report.final_application_status) == (pb.FINISHED, pb.APP_SUCCEEDED)
    # The attempt is FINISHED once its AM container exits (until then FINISHING, the app FINISHED).
    [attempt] = wait_for(lambda: _in_state(cluster, app_id, pb.APP_ATTEMPT_FINISHED), 10, "FINISHED")
    attempt_id = ApplicationAttemptId.from_proto(attempt.application_attempt_id)
    assert report.diagnostics == f"managed AM {attempt_id} done"
    assert report.launchTime >= report.startTime > 0 and not report.unmanaged_application
    env = json.loads((_am_log_dir(minicluster, attempt) / "env.json").read_text())
    assert env["CONTAINER_ID"] == str(ContainerId.from_parts(attempt_id, 1))
    assert env["APP_SUBMIT_TIME_ENV"] == str(report.startTime)
    assert env["APPLICATION_WEB_PROXY_BASE"] == f"/proxy/{ApplicationId.from_proto(app_id)}"
    assert env["HADOOP_CONF_DIR"] == minicluster.conf_dir
    token_file = Path(env["HADOOP_TOKEN_FILE_LOCATION"])
    assert token_file.parent.name == env["CONTAINER_ID"]
    wait_for(lambda: not token_file.exists(), 10, "the application's working directories to be deleted")


def test_token_file_format(minicluster, cluster):
    """The AM container's token file: the submitter's tokens plus the AMRMToken, format 0."""
    extra = Credentials()
    extra.add_secret("app-secret", b"s3cret")
    app_id = cluster.submit("token-file", memory=128, am_container_spec=pb.ContainerLaunchContextProto(
        tokens=extra.to_bytes(), command=["cp $HADOOP_TOKEN_FILE_LOCATION <LOG_DIR>/tokens.copy; sleep 30"]))
    attempt = wait_for(lambda: _in_state(cluster, app_id, pb.APP_ATTEMPT_LAUNCHED), 10, "launch")[0]
    copy = _am_log_dir(minicluster, attempt) / "tokens.copy"
    data = wait_for(lambda: copy.exists() and copy.read_bytes(), 10, "the token file copy")
    assert data[:5] == b"HDTS\x00"
    credentials = Credentials.from_bytes(data)
    assert credentials.get_secret("app-secret") == b"s3cret"
    token = credentials.get_token("")
    assert token is not None and token.kind == AMRM_TOKEN_KIND and token.service == ""
    cluster.kill(app_id)
    report = cluster.wait_final(app_id)
    assert report.yarn_application_state == pb.KILLED


def test_failed_am_is_retried_then_succeeds(minicluster, cluster):
    app_id = _submit_managed(cluster, "fail-first", "retry-ok")
    report = cluster.wait_final(app_id)
    assert (report.yarn_application_state, report.final_application_status) == (pb.FINISHED, pb.APP_SUCCEEDED)
    first, second = wait_for(lambda: _ended(_attempts(cluster, app_id)), 10, "both attempts to end")
    assert first.yarn_application_attempt_state == pb.APP_ATTEMPT_FAILED
    assert second.yarn_application_attempt_state == pb.APP_ATTEMPT_FINISHED
    first_id = ApplicationAttemptId.from_proto(first.application_attempt_id)
    assert first.diagnostics.startswith(f"AM Container for {first_id} exited with  exitCode: 3\n"
                                        "Failing this attempt.Diagnostics: ")
    assert "Last 4096 bytes of stderr :\nfailing on purpose\n" in first.diagnostics
    assert first.diagnostics.endswith("Then click on links to logs of each attempt.\n")
    assert ContainerId.from_proto(second.am_container_id) == ContainerId.from_parts(
        ApplicationAttemptId.from_proto(second.application_attempt_id), 1)


def test_am_failing_every_attempt_fails_the_application(cluster):
    app_id = _submit_managed(cluster, "fail", "always-fails")
    report = cluster.wait_final(app_id)
    assert (report.yarn_application_state, report.final_application_status) == (pb.FAILED, pb.APP_FAILED)
    attempts = _attempts(cluster, app_id)
    assert len(attempts) == 2, "yarn.resourcemanager.am.max-attempts defaults to 2"
    assert all(a.yarn_application_attempt_state == pb.APP_ATTEMPT_FAILED for a in attempts)
    app = ApplicationId.from_proto(app_id)
    last = ApplicationAttemptId.from_proto(attempts[-1].application_attempt_id)
    assert report.diagnostics.startswith(f"Application {app} failed 2 times due to AM Container for {last} "
                                         "exited with  exitCode: 3\nFailing this attempt.Diagnostics: ")
    assert report.diagnostics.endswith(". Failing the application.")


def test_max_app_attempts_from_the_submission(cluster):
    app_id = _submit_managed(cluster, "fail", "one-attempt", maxAppAttempts=1)
    report = cluster.wait_final(app_id)
    assert report.yarn_application_state == pb.FAILED
    assert len(_attempts(cluster, app_id)) == 1
    assert " failed 1 times due to " in report.diagnostics


def test_kill_running_application(minicluster, cluster):
    am = cluster.submit_unmanaged("to-kill")
    with am:
        am.register()
        container = am.allocate_containers(1)[0]
        am.start(container, [log_dir_command("sleep 60")])
        nm = next(n for n in minicluster.node_managers if n.node_id.port == container.nodeId.port)
        process = wait_for(lambda: nm.containers[ContainerId.from_proto(container.id)].process, 10, "sleep")
        assert cluster.kill(am.app_id, "enough") is True, "an unmanaged AM's kill completes at once"
        report = cluster.wait_final(am.app_id)
        app = ApplicationId.from_proto(am.app_id)
        assert (report.yarn_application_state, report.final_application_status) == (pb.KILLED, pb.APP_KILLED)
        user = report.user
        assert report.diagnostics == (f"Application {app} was killed by user {user} at 127.0.0.1 with "
                                      "diagnostic message: enough")
        wait_for(lambda: process.popen.poll() is not None, 10, "the container's process to be killed")
        assert cluster.kill(am.app_id) is True
        [attempt] = _attempts(cluster, am.app_id)
        assert attempt.yarn_application_attempt_state == pb.APP_ATTEMPT_KILLED


def test_kill_managed_application_reports_completion_on_the_second_call(cluster):
    app_id = cluster.submit("managed-kill", commands=["sleep 60"])
    cluster.wait_for_report(app_id, lambda r: r.yarn_application_state == pb.ACCEPTED, 10, "ACCEPTED")
    assert cluster.kill(app_id) is False, "as YARN: a managed AM's kill is confirmed by a later call"
    assert cluster.kill(app_id) is True
    report = cluster.wait_final(app_id)
    assert report.yarn_application_state == pb.KILLED
    app = ApplicationId.from_proto(app_id)
    assert report.diagnostics.startswith(f"Application {app} was killed by user ")


def test_silent_am_expires():
    settings = {"yarn.am.liveness-monitor.expiry-interval-ms": "600"}
    with MiniCluster(nodes=1, memory_mb=1024, vcores=2, conf=settings) as mc, Cluster(mc.conf_dir) as cl:
        am = cl.submit_unmanaged("silent")
        with am:
            am.register()
            report = cl.wait_final(am.app_id, timeout=10)
        app = ApplicationId.from_proto(am.app_id)
        assert (report.yarn_application_state, report.final_application_status) == (pb.FAILED, pb.APP_FAILED)
        assert report.diagnostics == (f"Application {app} failed 1 times due to ApplicationMaster for "
                                      f"attempt {am.attempt_id} timed out. Failing the application.")


def test_lifetime_timeout_kills_the_application(cluster):
    am = cluster.submit_unmanaged("short-life", application_timeouts=[pb.ApplicationTimeoutMapProto(
        application_timeout_type=pb.APP_TIMEOUT_LIFETIME, timeout=1)])
    with am:
        timeout = am.cluster.report(am.app_id).appTimeouts[0].application_timeout
        assert timeout.expire_time.endswith("+0000") and timeout.remaining_time in (0, 1)
        am.register()
        report = cluster.wait_for_report(am.app_id, lambda r: r.yarn_application_state == pb.KILLED, 10,
                                         "KILLED")
    assert report.diagnostics == ("Application is killed by ResourceManager as it has exceeded the lifetime "
                                  "period.")


def test_fail_attempt_by_user(cluster):
    am = cluster.submit_unmanaged("fail-by-user")
    with am:
        am.register()
        cluster.rm.call("failApplicationAttempt", spb.FailApplicationAttemptRequestProto(
            application_attempt_id=am.attempt_id.to_proto()))
        report = cluster.wait_final(am.app_id)
    assert report.yarn_application_state == pb.FAILED, "an unmanaged AM is never retried"
    assert report.diagnostics.endswith("due to Attempt failed by user.. Failing the application.")
