"""The guest of scripts/vm-test.sh, reached over qemu's 127.0.0.1 port forward."""

import os
import subprocess


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
