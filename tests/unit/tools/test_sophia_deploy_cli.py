"""sophia-deploy's command line: what it refuses before running, and real runs on a tiny project.

The live runs use tests/data/sophia_deploy/project: local-double (this machine, local
connection) and unreachable-double (a closed port on 127.0.0.1).
"""

import json
import pathlib
import shutil
import stat
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
from sophia_deploy import cli, project

REPO = pathlib.Path(__file__).resolve().parents[3]
TINY = REPO / "tests" / "data" / "sophia_deploy" / "project"
SECRET = "tiny-secret-7d1e"


def deploy(capsys, runner_dir, *argv):
    code = cli.main([*argv, "--project-dir", str(TINY), "--runner-dir", str(runner_dir)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def only_run(runner_dir):
    runs = list(runner_dir.iterdir())
    assert len(runs) == 1, runs
    return runs[0] / "artifacts" / "run"


def test_the_installed_project_is_this_checkout():
    assert project.default_project_dir() == REPO


def test_unknown_environment_is_refused_listing_the_valid_ones(capsys, tmp_path):
    code = cli.main(["qa", "site.yml", "--runner-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == cli.EXIT_USAGE == 2
    assert err.strip() == "sophia-deploy: unknown environment 'qa'; valid: dev, lab, prod, staging"
    assert not list(tmp_path.iterdir())


def test_unknown_playbook_is_refused_listing_entry_playbooks_only(capsys, tmp_path):
    code = cli.main(["lab", "sitee.yml", "--runner-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == cli.EXIT_USAGE
    assert err.startswith("sophia-deploy: unknown playbook 'sitee.yml'; valid: site.yml, playbooks/")
    assert "playbooks/report.yml" in err and "layer-guard" not in err
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("name", ["report", "report.yml", "playbooks/report.yml"])
def test_playbook_names_resolve_to_the_playbooks_folder(name):
    assert project.resolve_playbook(REPO, name) == "playbooks/report.yml"


@pytest.mark.parametrize("name", ["../site.yml", "/work/main/site.yml", "playbooks/layer-guard.yml", "tasks"])
def test_paths_outside_the_entry_playbooks_are_refused(name):
    with pytest.raises(project.UsageError, match="unknown playbook"):
        project.resolve_playbook(REPO, name)


@pytest.mark.parametrize("argv", [["prod", "site.yml"], ["prod", "report", "--check"]])
def test_prod_without_confirmation_is_refused_before_anything_runs(capsys, tmp_path, argv):
    code = cli.main([*argv, "--runner-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == cli.EXIT_PROD_REFUSED == 3
    playbook = project.resolve_playbook(REPO, argv[1])
    assert err == ("sophia-deploy: refusing to run %s against 'prod' without --confirm-prod; nothing was run. "
                   "Add --confirm-prod to change production.\n" % playbook)
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("value, message", [("@/nonexistent/vars.yml", "does not exist"),
                                            ("justaword", "key=value pairs"), ("[1, 2]", "must be a mapping")])
def test_bad_extra_vars_are_refused(capsys, tmp_path, value, message):
    code = cli.main(["lab", "report", "-e", value, "--runner-dir", str(tmp_path)])
    assert code == cli.EXIT_USAGE
    assert message in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_unknown_option_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main(["lab", "report", "--vault-password", "x"])
    assert stop.value.code == cli.EXIT_USAGE
    capsys.readouterr()


def test_extra_vars_merge_in_order(tmp_path):
    variables, files = cli.parse_extra_vars(["a=1 b=two", '{"b": 3, "c": [1]}', "@" + str(TINY / "site.yml")], tmp_path)
    assert variables == {"a": "1", "b": 3, "c": [1]}
    assert files == [TINY / "site.yml"]


def test_run_directories_are_private_and_unique(tmp_path):
    first = cli.run_dir(tmp_path, "lab", "playbooks/report.yml")
    second = cli.run_dir(tmp_path, "lab", "playbooks/report.yml")
    assert first != second
    assert first.name.endswith("Z-lab-report")
    assert stat.S_IMODE(first.stat().st_mode) == 0o700


def test_console_script_is_installed_and_refuses_unknown_environment():
    script = shutil.which("sophia-deploy", path=str(pathlib.Path(sys.executable).parent))
    assert script, "sophia-deploy is not installed in this venv: run scripts/setup.sh"
    done = subprocess.run([script, "nowhere", "site.yml"], capture_output=True, text=True, check=False, timeout=60)
    assert done.returncode == cli.EXIT_USAGE
    assert "unknown environment 'nowhere'" in done.stderr


def test_successful_run_writes_summary_and_junit_and_exits_zero(capsys, tmp_path):
    code, out, _err = deploy(capsys, tmp_path, "local", "site.yml", "--limit", "local-double")
    assert code == cli.EXIT_OK, out
    artifacts = only_run(tmp_path)
    assert tmp_path.iterdir().__next__().name.endswith("-local-site")
    facts = json.loads((artifacts / "summary.json").read_text())
    assert facts["exit_code"] == 0 and facts["runner_status"] == "successful" and facts["rc"] == 0
    assert facts["hosts"]["local-double"]["changed"] == 1 and facts["hosts"]["local-double"]["skipped"] == 3
    assert list(facts["hosts"]) == ["local-double"] and facts["limit"] == "local-double"
    cases = ET.parse(artifacts / "junit.xml").getroot().iter("testcase")
    assert [(case.get("name"), case.find("failure")) for case in cases] == [("local-double", None)]
    assert "summary    %s" % (artifacts / "summary.json") in out
    assert "junit      %s" % (artifacts / "junit.xml") in out
    assert (artifacts / "status").read_text() == "successful"  # the runner's own artifacts are kept


def test_failed_no_log_task_exits_one_and_no_secret_is_shown_or_kept(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("SOPHIA_TEST_TOKEN", "env-token-5b2a")
    code, out, err = deploy(capsys, tmp_path, "local", "playbooks/mixed.yml", "--limit", "local-double",
                            "-e", "tiny_fail=true tiny_secret=%s" % SECRET)
    assert code == cli.EXIT_FAILED == 1, out
    assert SECRET not in out + err
    assert "extra vars tiny_fail, tiny_secret (values not shown)" in out
    assert "local-double: (output hidden: no_log)" in out
    artifacts = only_run(tmp_path)
    for kept in ("summary.json", "junit.xml", "command"):
        text = (artifacts / kept).read_text()
        assert SECRET not in text and "env-token-5b2a" not in text, kept
    assert "SOPHIA_TEST_TOKEN" in json.loads((artifacts / "command").read_text())["env"]
    assert not (artifacts.parents[1] / "env" / "extravars").exists()
    assert json.loads((artifacts / "summary.json").read_text())["extra_vars"] == ["tiny_fail", "tiny_secret"]


def test_unreachable_host_exits_four(capsys, tmp_path):
    code, out, _err = deploy(capsys, tmp_path, "local", "site.yml", "--limit", "unreachable-double")
    assert code == cli.EXIT_UNREACHABLE == 4, out
    facts = json.loads((only_run(tmp_path) / "summary.json").read_text())
    assert facts["unreachable_hosts"] == ["unreachable-double"]
    failure = ET.parse(only_run(tmp_path) / "junit.xml").getroot().find("testsuite/testcase/failure")
    assert failure.get("type") == "unreachable"


def test_limit_matching_no_host_is_a_run_error(capsys, tmp_path):
    code, out, _err = deploy(capsys, tmp_path, "local", "site.yml", "--limit", "no-such-host")
    assert code == cli.EXIT_RUN_ERROR == 5, out
    assert "no hosts" in out.lower()


def test_prod_runs_with_confirmation_and_check_mode_reaches_ansible(capsys, tmp_path):
    code, out, _err = deploy(capsys, tmp_path, "prod", "site.yml", "--confirm-prod", "--check", "--diff")
    assert code == cli.EXIT_OK, out
    command = json.loads((only_run(tmp_path) / "command").read_text())["command"]
    assert "--check" in command and "--diff" in command
    assert json.loads((only_run(tmp_path) / "summary.json").read_text())["check"] is True


def test_vault_password_file_is_passed_through_and_never_shown(capsys, tmp_path, monkeypatch):
    password = tmp_path / "vault-password"
    password.write_text("tiny-vault-password-for-tests")
    runs = tmp_path / "runs"
    monkeypatch.setenv("ANSIBLE_VAULT_PASSWORD_FILE", str(password))
    code, out, err = deploy(capsys, runs, "local", "vault")
    assert code == cli.EXIT_OK, out
    assert "vault      password file from ANSIBLE_VAULT_PASSWORD_FILE" in out
    assert "tiny-vault-password-for-tests" not in out + err
    command = (only_run(runs) / "command").read_text()
    assert "vault-password" not in command and "tiny-vault-password-for-tests" not in command


def test_vaulted_playbook_fails_without_the_password_file(capsys, tmp_path, monkeypatch):
    monkeypatch.delenv("ANSIBLE_VAULT_PASSWORD_FILE", raising=False)
    code, out, _err = deploy(capsys, tmp_path, "local", "vault")
    assert code != cli.EXIT_OK, out
