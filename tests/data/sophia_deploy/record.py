"""Re-records the ansible-runner events the sophia-deploy unit tests read.

Runs ansible_runner (the real one, the project's pinned version) against the tiny
project next to this file: local-double on this machine, unreachable-double a closed
port on 127.0.0.1. Usage, from the repository root with the venv active:

    python tests/data/sophia_deploy/record.py
"""

import json
import pathlib
import tempfile

import ansible_runner

HERE = pathlib.Path(__file__).resolve().parent
PROJECT = HERE / "project"
SECRET = "RECORDED-SECRET-3f9c"  # a marker, not a secret: tests assert it is never shown

RECORDINGS = {
    # ok, changed, skipped and a no_log failure on local-double; unreachable-double unreachable.
    "events-mixed.json": {"extravars": {"tiny_fail": True, "tiny_secret": SECRET}},
    # Only local-double, nothing fails.
    "events-ok.json": {"limit": "local-double"},
    # A failure whose result is not hidden.
    "events-open-failure.json": {"limit": "local-double", "extravars": {"tiny_fail_open": True}},
}


def record(name, kwargs):
    with tempfile.TemporaryDirectory() as pdd:
        result = ansible_runner.run(private_data_dir=pdd, project_dir=str(PROJECT), playbook="playbooks/mixed.yml",
                                    inventory=str(PROJECT / "inventories" / "local"), quiet=True,
                                    envvars={"ANSIBLE_CONFIG": str(PROJECT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1"},
                                    **kwargs)
        events = list(result.events)
    (HERE / name).write_text(json.dumps({"runner_status": result.status, "rc": result.rc, "events": events},
                                        indent=1, sort_keys=True) + "\n")
    print(name, result.status, result.rc, len(events), "events")


if __name__ == "__main__":
    for recording, arguments in RECORDINGS.items():
        record(recording, arguments)
