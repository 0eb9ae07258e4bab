"""The guest of scripts/vm-test.sh and vm-flannel-test.sh, reached over qemu's 127.0.0.1 port forward."""

import os
import subprocess

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def vm(command, check=True):
    """Run a shell command in the guest as root; returns stdout."""
    result = subprocess.run(
        [
            "ssh", "-i", os.environ["VM_SSH_KEY"], "-p", os.environ["VM_SSH_PORT"], "-o", "BatchMode=yes",
            "-o", "IdentitiesOnly=yes", "-o", "ConnectTimeout=10", "-o", "StrictHostKeyChecking=yes",
            "-o", "UserKnownHostsFile=%s" % os.environ["VM_KNOWN_HOSTS"],
            "-o", "ControlMaster=auto", "-o", "ControlPersist=60",
            "-o", "ControlPath=%s.cm" % os.environ["VM_KNOWN_HOSTS"],
            "debian@127.0.0.1", "sudo sh -c %s" % _quote(command),
        ],
        capture_output=True, text=True, timeout=120, check=False,
    )
    if check:
        assert result.returncode == 0, (command, result.stdout, result.stderr)
    return result


def _quote(text):
    return "'" + text.replace("'", "'\"'\"'") + "'"


def play(playbook, *args):
    """Run a playbook of tests/vm against the guest (the inventory the script wrote); returns the result.

    Each run's output is also appended to VM_PLAY_LOG when that is set."""
    result = subprocess.run(
        ["ansible-playbook", "-i", os.environ["VM_INVENTORY"], os.path.join(REPO_ROOT, "tests", "vm", playbook), *args],
        capture_output=True, text=True, timeout=900, check=False, cwd=REPO_ROOT,
        # JSON results: a failure message comes back on one line, unfolded and unescaped.
        env={**os.environ, "ANSIBLE_CALLBACK_RESULT_FORMAT": "json"},
    )
    if os.environ.get("VM_PLAY_LOG"):
        with open(os.environ["VM_PLAY_LOG"], "a", encoding="utf-8") as log:
            log.write("$ ansible-playbook %s %s (rc %d)\n%s\n"
                      % (playbook, " ".join(args), result.returncode, result.stdout))
    return result
