"""CI drives the project through ansible-runner: the way the README shows works."""

import pathlib

import ansible_runner

REPO = pathlib.Path(__file__).resolve().parents[1].parent


def test_site_runs_through_ansible_runner(tmp_path):
    result = ansible_runner.run(
        private_data_dir=str(tmp_path),
        project_dir=str(REPO),
        playbook="site.yml",
        inventory=str(REPO / "inventories" / "lab"),
        cmdline="--syntax-check",
        envvars={"ANSIBLE_CONFIG": str(REPO / "ansible.cfg")},
        quiet=True,
    )
    assert result.status == "successful", "".join(result.stdout.readlines())
    assert result.rc == 0
