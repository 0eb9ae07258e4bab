"""sophia-deploy's progress lines, table, JSON and JUnit from events ansible-runner really produced.

The events were recorded by tests/data/sophia_deploy/record.py: ansible_runner against
a tiny project with a local host and a closed port on 127.0.0.1.
"""

import io
import json
import pathlib
import xml.etree.ElementTree as ET

import pytest
from sophia_deploy import cli, progress, summary

DATA = pathlib.Path(__file__).resolve().parents[2] / "data" / "sophia_deploy"
SECRET = "RECORDED-SECRET-3f9c"


def replay(name):
    recording = json.loads((DATA / name).read_text())
    out = io.StringIO()
    handler = progress.Progress(out)
    for event in recording["events"]:
        handler(event)
    handler.finish_task()
    meta = {"environment": "local", "playbook": "playbooks/mixed.yml", "duration_s": 1.5}
    facts = summary.build(meta, handler.stats, handler.failures)
    code, _reason = cli.exit_code(recording["runner_status"], recording["rc"], facts)
    return recording, out.getvalue(), facts, code


def test_recording_holds_the_secret_in_ansibles_stdout_but_the_result_is_censored():
    # Why sophia-deploy never shows event stdout: ansible-core 2.19 writes the failing
    # no_log task's message there, while the result itself is censored.
    recording = json.loads((DATA / "events-mixed.json").read_text())
    failed = [event for event in recording["events"] if event["event"] == "runner_on_failed"]
    assert [event["event_data"]["res"] for event in failed] == [
        {"censored": "the output has been hidden due to the fact that 'no_log: true' was specified for this result"}]
    assert SECRET in failed[0]["stdout"]


def test_one_line_per_task_with_counts_when_it_ends():
    _recording, out, _facts, _code = replay("events-mixed.json")
    lines = out.splitlines()
    assert lines[0] == "PLAY Mixed outcomes on a local host and an unreachable one"
    assert "  Read the kernel name ... ok=1 unreachable=1" in lines
    assert "  Report a change ... changed=1" in lines
    assert "  Skip everywhere ... skipped=1" in lines
    assert "  Fail with a secret in the hidden result ... failed=1" in lines
    unreachable = [line for line in lines if line.startswith("  unreachable unreachable-double: ")]
    assert len(unreachable) == 1 and "port 1" in unreachable[0]


def test_no_log_failure_is_reported_without_any_of_its_result():
    _recording, out, facts, _code = replay("events-mixed.json")
    assert "  failed      local-double: (output hidden: no_log)" in out.splitlines()
    assert SECRET not in out
    assert SECRET not in json.dumps(facts)
    assert SECRET not in summary.junit(facts)


def test_open_failure_message_is_shown():
    _recording, out, facts, code = replay("events-open-failure.json")
    assert "  failed      local-double: failed in the open" in out.splitlines()
    assert facts["hosts"]["local-double"]["problems"] == [
        {"task": "Fail in the open", "status": "failed", "msg": "failed in the open"}]
    assert code == cli.EXIT_FAILED


def test_per_host_counts_are_ansibles_recap():
    recording, _out, facts, _code = replay("events-mixed.json")
    stats = [event["event_data"] for event in recording["events"] if event["event"] == "playbook_on_stats"][0]
    for host, counts in facts["hosts"].items():
        assert counts["ok"] == stats["ok"].get(host, 0)
        assert counts["changed"] == stats["changed"].get(host, 0)
        assert counts["failed"] == stats["failures"].get(host, 0)
        assert counts["unreachable"] == stats["dark"].get(host, 0)
        assert counts["skipped"] == stats["skipped"].get(host, 0)
    assert facts["failed_hosts"] == ["local-double"]
    assert facts["unreachable_hosts"] == ["unreachable-double"]


def test_table_has_a_row_per_host_with_the_five_columns():
    _recording, _out, facts, _code = replay("events-mixed.json")
    rows = [line.split() for line in summary.table(facts).splitlines()]
    assert rows[0] == ["host", "ok", "changed", "failed", "unreachable", "skipped"]
    assert rows[1:] == [["local-double", "2", "1", "1", "0", "1"], ["unreachable-double", "0", "0", "0", "1", "0"]]


def test_failed_task_wins_over_unreachable_for_the_exit_code():
    _recording, _out, _facts, code = replay("events-mixed.json")
    assert code == cli.EXIT_FAILED


def test_successful_recording_exits_zero_with_no_failures():
    _recording, out, facts, code = replay("events-ok.json")
    assert code == cli.EXIT_OK
    assert not facts["failed_hosts"] and not facts["unreachable_hosts"]
    assert list(facts["hosts"]) == ["local-double"]
    assert not [line for line in out.splitlines() if line.startswith(("  failed ", "  unreachable "))]


def test_junit_has_one_testcase_per_host_and_failures_for_failed_or_unreachable():
    _recording, _out, facts, _code = replay("events-mixed.json")
    root = ET.fromstring(summary.junit(facts))
    suite = root.find("testsuite")
    assert suite.get("tests") == "2" and suite.get("failures") == "2"
    cases = {case.get("name"): case for case in suite.findall("testcase")}
    assert set(cases) == {"local-double", "unreachable-double"}
    assert cases["local-double"].find("failure").get("type") == "failed"
    assert cases["local-double"].find("failure").text == (
        "failed Fail with a secret in the hidden result: (output hidden: no_log)")
    assert cases["unreachable-double"].find("failure").get("type") == "unreachable"


def test_junit_of_a_successful_run_has_no_failure():
    _recording, _out, facts, _code = replay("events-ok.json")
    root = ET.fromstring(summary.junit(facts))
    assert root.find("testsuite").get("failures") == "0"
    assert [case.find("failure") for case in root.iter("testcase")] == [None]


@pytest.mark.parametrize("status, rc, expected", [("failed", 1, cli.EXIT_RUN_ERROR), ("successful", 0, cli.EXIT_OK)])
def test_runner_status_counts_when_no_host_failed(status, rc, expected):
    _recording, _out, facts, _code = replay("events-ok.json")
    assert cli.exit_code(status, rc, facts)[0] == expected


def test_a_run_where_no_host_ran_a_task_is_an_error():
    facts = summary.build({"environment": "local", "playbook": "site.yml"}, None, {})
    assert cli.exit_code("successful", 0, facts) == (cli.EXIT_RUN_ERROR, "no host ran a task")
