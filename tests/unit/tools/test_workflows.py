"""The GitHub Actions workflows: pinned, least privilege, no expressions in scripts,
production behind its environment, and actionlint + zizmor able to fail on them."""

import pathlib
import re
import shutil
import subprocess
import sys

import pytest
import yaml
from sophia_deploy import project

REPO = pathlib.Path(__file__).resolve().parents[3]
BIN = pathlib.Path(sys.executable).parent
WORKFLOW = REPO / ".github" / "workflows" / "ci.yml"
ACTION = REPO / ".github" / "actions" / "deploy" / "action.yml"
FILES = sorted((REPO / ".github").rglob("*.yml"))


def load(path):
    # PyYAML reads the bare key `on` as True; the workflow quotes it.
    return yaml.safe_load(path.read_text())


def steps():
    for path in FILES:
        document = load(path)
        for job in (document.get("jobs") or {}).values():
            yield from ((path, step) for step in job.get("steps", []))
        yield from ((path, step) for step in (document.get("runs") or {}).get("steps", []))


def test_triggers_are_push_and_pull_request_only():
    assert set(load(WORKFLOW)["on"]) == {"push", "pull_request"}


def test_every_action_is_pinned_by_commit_sha_or_local():
    uses = [step["uses"] for _path, step in steps() if "uses" in step]
    assert uses
    for ref in uses:
        assert ref.startswith("./") or re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", ref), ref


def test_no_expression_inside_a_run_script():
    for path, step in steps():
        assert "${{" not in step.get("run", ""), (path, step.get("name"))


def test_secrets_reach_steps_only_through_with_or_env():
    for path, step in steps():
        assert "secrets." not in step.get("run", ""), path
    text = WORKFLOW.read_text()
    for line in text.splitlines():
        if "secrets." in line:
            assert re.match(r"\s+[\w-]+: \$\{\{ secrets\.[A-Z_]+ \}\}$", line), line


def test_checkouts_do_not_keep_the_token():
    for _path, step in steps():
        if step.get("uses", "").startswith("actions/checkout@"):
            assert step["with"]["persist-credentials"] is False


def test_least_privilege_permissions():
    workflow = load(WORKFLOW)
    assert workflow["permissions"] == {}
    for name, job in workflow["jobs"].items():
        assert job["permissions"] == {"contents": "read"}, name


def test_readme_test_command_runs_on_every_push_and_pull_request():
    job = load(WORKFLOW)["jobs"]["test"]
    assert "if" not in job and job["runs-on"].startswith("ubuntu-")
    assert job["steps"][-1]["run"] == 'sudo env "PATH=$PATH" bash .ci/run'
    assert (REPO / ".ci" / "run").read_text().rstrip().endswith("exec make test")


def test_main_deploys_staging_then_production_behind_its_environment():
    jobs = load(WORKFLOW)["jobs"]
    main_push = "github.event_name == 'push' && github.ref == 'refs/heads/main'"
    assert jobs["staging"]["needs"] == "test" and jobs["staging"]["if"] == main_push
    assert jobs["production"]["needs"] == "staging" and jobs["production"]["if"] == main_push
    assert jobs["staging"]["environment"] == "staging"
    assert jobs["production"]["environment"] == "production"
    deploy = {name: [step for step in jobs[name]["steps"] if step.get("uses") == "./.github/actions/deploy"][0]["with"]
              for name in ("staging", "production")}
    assert deploy["staging"]["inventory"] == "staging" and "confirm-prod" not in deploy["staging"]
    assert deploy["production"]["inventory"] == "prod" and deploy["production"]["confirm-prod"] == "true"


def test_deploy_action_runs_site_then_status_through_sophia_deploy():
    scripts = [step.get("run", "") for step in load(ACTION)["runs"]["steps"]]
    site = [number for number, script in enumerate(scripts) if 'sophia-deploy "$INVENTORY" site.yml' in script]
    status = [number for number, script in enumerate(scripts)
              if 'sophia-deploy "$INVENTORY" playbooks/status.yml' in script]
    assert len(site) == 1 and len(status) == 1 and site[0] < status[0]
    for number in site + status:
        assert 'ANSIBLE_VAULT_PASSWORD_FILE="$RUNNER_TEMP/sophia-vault-password"' in scripts[number]
    # Every environment the workflow names exists, and so does the check playbook.
    for inventory in ("staging", "prod"):
        project.resolve_environment(REPO, inventory)
    assert project.resolve_playbook(REPO, "playbooks/status.yml") == "playbooks/status.yml"


def test_only_the_summaries_are_uploaded():
    upload = [step for step in load(ACTION)["runs"]["steps"] if step.get("uses", "").startswith("actions/upload-artifact@")]
    assert len(upload) == 1
    assert upload[0]["with"]["path"].split() == [".cache/runner/*/artifacts/run/summary.json",
                                                 ".cache/runner/*/artifacts/run/junit.xml"]


def lint(tree):
    actionlint = subprocess.run([str(BIN / "actionlint")], cwd=tree, capture_output=True, text=True, check=False,
                                timeout=120)
    zizmor = subprocess.run([str(BIN / "zizmor"), "--offline", "--quiet", ".github"], cwd=tree, capture_output=True,
                            text=True, check=False, timeout=120)
    return actionlint, zizmor


@pytest.fixture
def tree(tmp_path):
    """The workflows in a git repository of their own, as actionlint finds them."""
    shutil.copytree(REPO / ".github", tmp_path / ".github")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    return tmp_path


def test_actionlint_and_zizmor_pass_on_the_workflows(tree):
    actionlint, zizmor = lint(tree)
    assert actionlint.returncode == 0, actionlint.stdout + actionlint.stderr
    assert zizmor.returncode == 0, zizmor.stdout + zizmor.stderr


def test_actionlint_and_zizmor_fail_on_untrusted_input_in_a_script(tree):
    workflow = tree / ".github" / "workflows" / "ci.yml"
    text = workflow.read_text().replace(
        "        run: sudo env", '        run: echo "${{ github.event.pull_request.title }}" && sudo env')
    assert text != workflow.read_text()
    workflow.write_text(text)
    actionlint, zizmor = lint(tree)
    assert actionlint.returncode != 0 and "github.event.pull_request.title" in actionlint.stdout
    assert zizmor.returncode != 0 and "template-injection" in zizmor.stdout + zizmor.stderr
