#!/usr/bin/env bash
# One-time (and idempotent) set-up of a controller and test bed on Debian 12, as root:
# apt packages, podman configured for these kernels, the virtual environment from
# pinned requirements, and the collections the project needs (shipped by the
# `ansible` package, so no Galaxy access). A second run changes nothing.
source "$(dirname "$0")/lib.sh"

APT_PACKAGES=(
  podman runc netavark aardvark-dns iptables slirp4netns uidmap  # the lab's container hosts
  debootstrap                                         # builds the host image offline
  python3-venv python3-pip                            # the virtual environment
  openssh-client rsync git make bc bsdextrautils      # reaching hosts, test plumbing
  lynis                                               # hardening index (docs/hosts-layer.md)
  qemu-system-x86 qemu-utils                          # the kernel-level VM test (scripts/vm-test.sh)
  prometheus prometheus-alertmanager                  # promtool/amtool: alert rule and routing tests
)

need_apt=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need_apt+=("$pkg")
done
if [ "${#need_apt[@]}" -gt 0 ]; then
  log "installing apt packages: ${need_apt[*]}"
  [ "$(id -u)" -eq 0 ] || die "installing apt packages needs root"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need_apt[@]}"
else
  log "apt packages present"
fi

# Only the tools of these packages are used (tests start Alertmanager on 127.0.0.1 themselves);
# their services would listen on every interface of this machine.
for unit in prometheus prometheus-alertmanager; do
  if systemctl is-enabled --quiet "$unit" 2>/dev/null; then
    log "disabling the $unit service (only its tools are used)"
    systemctl disable --quiet "$unit" || die "could not disable $unit"
  fi
  if systemctl is-active --quiet "$unit" 2>/dev/null; then
    systemctl stop "$unit" || die "could not stop $unit"
  fi
done

# Podman's default container ulimits exceed the hard nofile limit of these
# machines, and crun is not what systemd-in-a-container works with here.
podman_conf=/etc/containers/containers.conf.d/50-sophia-lab.conf
if [ -w /etc/containers ] || [ "$(id -u)" -eq 0 ]; then
  mkdir -p "$(dirname "$podman_conf")"
  want=$'# Written by sophia.platform scripts/setup.sh for the local lab.\n[containers]\ndefault_ulimits = ["nofile=16384:16384", "nproc=8192:8192"]\n\n[engine]\nruntime = "runc"\n\n[network]\nnetwork_backend = "netavark"'
  if [ ! -f "$podman_conf" ] || [ "$(cat "$podman_conf")" != "$want" ]; then
    log "configuring podman ($podman_conf)"
    printf '%s\n' "$want" > "$podman_conf"
  fi
fi

if [ ! -x "$VENV/bin/python" ]; then
  log "creating the virtual environment in $VENV"
  python3 -m venv "$VENV"
fi
stamp="$VENV/.sophia-requirements.sha256"
want_sum=$(cat "$REPO_ROOT/requirements.txt" "$REPO_ROOT/constraints.txt" | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want_sum" ]; then
  log "installing pinned Python requirements"
  "$VENV/bin/pip" install -q --upgrade pip
  "$VENV/bin/pip" install -q -r "$REPO_ROOT/requirements.txt" -c "$REPO_ROOT/constraints.txt"
  echo "$want_sum" > "$stamp"
else
  log "virtual environment up to date"
fi

# sophia-deploy (tools/sophia_deploy), editable: the command runs this checkout's code.
# Its dependencies are the pins above, hence --no-deps.
if [ ! -x "$VENV/bin/sophia-deploy" ] \
    || ! cmp -s "$REPO_ROOT/tools/sophia_deploy/pyproject.toml" "$VENV/.sophia-deploy.pyproject.toml"; then
  log "installing sophia-deploy (tools/sophia_deploy)"
  "$VENV/bin/pip" install -q --no-deps -e "$REPO_ROOT/tools/sophia_deploy" || die "could not install sophia-deploy"
  cp "$REPO_ROOT/tools/sophia_deploy/pyproject.toml" "$VENV/.sophia-deploy.pyproject.toml"
fi

activate_venv
log "checking collections/requirements.yml (satisfied by the ansible package, no Galaxy)"
(cd "$REPO_ROOT" && ansible-galaxy collection install --offline -r collections/requirements.yml >/dev/null) \
  || die "a collection in collections/requirements.yml is not installed; see requirements.txt"

log "set-up complete"
