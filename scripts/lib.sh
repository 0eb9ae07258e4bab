# shellcheck shell=bash
# Shared settings for the set-up, lab and test scripts. Sourced, never run.
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV="${SOPHIA_VENV:-$REPO_ROOT/.venv}"
LAB_DIR="$REPO_ROOT/.lab"
CACHE_DIR="$REPO_ROOT/.cache"

# The local Debian 12 host image every lab host and molecule platform runs.
HOST_IMAGE="${SOPHIA_HOST_IMAGE:-localhost/sophia-host:bookworm}"

# The lab network: a fixed subnet so inventories/lab can name addresses.
LAB_NETWORK=sophia-lab
LAB_SUBNET=10.77.0.0/24
LAB_GATEWAY=10.77.0.1
# name:address pairs, in the order the lab is started.
LAB_HOSTS=(sophia-master-01:10.77.0.11 sophia-worker-01:10.77.0.21 sophia-worker-02:10.77.0.22)
# The user the lab image comes with, like `ubuntu` on Lambda's images.
LAB_BOOTSTRAP_USER=debian

log() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

activate_venv() {
  [ -x "$VENV/bin/ansible-playbook" ] || die "no virtual environment at $VENV: run 'make setup' first"
  # shellcheck disable=SC1091
  . "$VENV/bin/activate"
  export ANSIBLE_CONFIG="$REPO_ROOT/ansible.cfg"
}
