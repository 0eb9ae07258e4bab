#!/usr/bin/env bash
# The local lab: three privileged systemd containers named like the production
# nodes, on their own podman network with a fixed subnet, reached over SSH as the
# image's default user, exactly as Ansible reaches a fresh Lambda host.
#   lab.sh up        start (or reuse) the hosts; idempotent
#   lab.sh add NAME  start one more host (a spare name below) and list it in
#                    .lab/added/hosts.yml, as the Lambda inventory lists a
#                    launched instance; playbooks/node-add.yml takes it from there
#   lab.sh converge  run site.yml -i inventories/lab, then print what was configured
#   lab.sh status    list the hosts
#   lab.sh down      remove the hosts, the network and the lab's keys
# Like a Lambda host, each host has a "public" address Ansible connects to
# (ansible_host: the private one + 100, a /32 on the same interface) and a private
# one its peers talk on, from which its own traffic to peers leaves
# (sophia_private_ip: the container's address on the lab network).
source "$(dirname "$0")/lib.sh"

LABEL=org.sophia.lab=1
LAB_INVENTORY=inventories/lab
LAB_ROOT=""
# Hosts `lab.sh add` may start, name:private address.
LAB_SPARE_HOSTS=(sophia-worker-03:10.77.0.23)
# A lab of another name beside the dev lab (the benchmark's, scripts/bench-lab.sh),
# set by the environment: SOPHIA_LAB_NAME (its containers NAME-master-NN and
# NAME-worker-NN, its network and label), SOPHIA_LAB_SUBNET (a /24 of its own,
# default 10.78.0.0/24), SOPHIA_LAB_SERVERS and SOPHIA_LAB_AGENTS (default 1 and 2).
# Its key, known_hosts and generated inventory live under SOPHIA_LAB_ROOT (default
# .cache/labs/NAME): ROOT/.lab and ROOT/inventories/lab/hosts.yml, whose group_vars
# link to inventories/lab/group_vars, so the lab's own variables and their
# {{ inventory_dir }}/../../.lab paths hold unchanged. Unset: the dev lab.
if [ -n "${SOPHIA_LAB_NAME:-}" ]; then
  [[ $SOPHIA_LAB_NAME =~ ^[a-z][a-z0-9-]{0,30}$ ]] || die "SOPHIA_LAB_NAME: a short lower-case name, not '$SOPHIA_LAB_NAME'"
  [ "$SOPHIA_LAB_NAME" != "$LAB_NETWORK" ] || die "SOPHIA_LAB_NAME: $LAB_NETWORK is the dev lab"
  subnet=${SOPHIA_LAB_SUBNET:-10.78.0.0/24}
  [[ $subnet =~ ^10\.([0-9]{1,3})\.([0-9]{1,3})\.0/24$ ]] || die "SOPHIA_LAB_SUBNET: a 10.x.y.0/24, not '$subnet'"
  [ "$subnet" != "$LAB_SUBNET" ] || die "SOPHIA_LAB_SUBNET: $LAB_SUBNET is the dev lab's"
  servers=${SOPHIA_LAB_SERVERS:-1} agents=${SOPHIA_LAB_AGENTS:-2}
  [[ $servers =~ ^[1-9]$ && $agents =~ ^[0-9]{1,2}$ && $agents -le 70 ]] || die "SOPHIA_LAB_SERVERS 1-9, SOPHIA_LAB_AGENTS 0-70"
  LAB_ROOT=${SOPHIA_LAB_ROOT:-$CACHE_DIR/labs/$SOPHIA_LAB_NAME}
  LAB_DIR=$LAB_ROOT/.lab
  LAB_INVENTORY=$LAB_ROOT/inventories/lab
  LAB_NETWORK=$SOPHIA_LAB_NAME LAB_SUBNET=$subnet LAB_GATEWAY=${subnet%.0/24}.1
  LABEL=org.sophia.lab.name=$SOPHIA_LAB_NAME
  LAB_SPARE_HOSTS=()
  LAB_HOSTS=()
  for i in $(seq 1 "$servers"); do LAB_HOSTS+=("$(printf '%s-master-%02d' "$SOPHIA_LAB_NAME" "$i"):${subnet%.0/24}.$((10 + i))"); done
  for i in $(seq 1 "$agents"); do LAB_HOSTS+=("$(printf '%s-worker-%02d' "$SOPHIA_LAB_NAME" "$i"):${subnet%.0/24}.$((20 + i))"); done
  unset subnet servers agents i
fi
KEY="$LAB_DIR/id_ed25519"
KNOWN_HOSTS="$LAB_DIR/known_hosts"
ADDED_DIR="$LAB_DIR/added"

public_of() { local addr=$1; echo "${addr%.*}.$(( ${addr##*.} + 100 ))"; }

lab_up() {
  podman image exists "$HOST_IMAGE" || die "no image $HOST_IMAGE: run 'make image' first"
  mkdir -p "$LAB_DIR" && chmod 0700 "$LAB_DIR"
  if [ ! -f "$KEY" ]; then
    log "generating the lab's SSH key ($KEY)"
    ssh-keygen -q -t ed25519 -N '' -C sophia-lab -f "$KEY"
  fi
  if podman network exists "$LAB_NETWORK"; then
    [ -z "$LAB_ROOT" ] || [ "$(podman network inspect -f '{{index .Labels "org.sophia.lab.name"}}' "$LAB_NETWORK")" = "$SOPHIA_LAB_NAME" ] \
      || die "network $LAB_NETWORK exists and is not this lab's: choose another SOPHIA_LAB_NAME"
  else
    log "creating network $LAB_NETWORK ($LAB_SUBNET)"
    podman network create --subnet "$LAB_SUBNET" --gateway "$LAB_GATEWAY" --label "$LABEL" "$LAB_NETWORK" >/dev/null
  fi
  local entry name addr
  for entry in "${LAB_HOSTS[@]}"; do
    name=${entry%%:*} addr=${entry#*:}
    start_host "$name" "$addr"
  done
  for entry in "${LAB_HOSTS[@]}"; do
    name=${entry%%:*} addr=${entry#*:}
    prepare_host "$name" "$addr"
  done
  : > "$KNOWN_HOSTS.new"
  for entry in "${LAB_HOSTS[@]}"; do
    name=${entry%%:*} addr=${entry#*:}
    host_keys "$name" "$addr" >> "$KNOWN_HOSTS.new"
  done
  mv "$KNOWN_HOSTS.new" "$KNOWN_HOSTS"
  for entry in "${LAB_HOSTS[@]}"; do
    name=${entry%%:*} addr=${entry#*:}
    ssh_ok "$(public_of "$addr")" || die "$name: SSH as $LAB_BOOTSTRAP_USER@$(public_of "$addr") does not answer"
  done
  [ -z "$LAB_ROOT" ] || named_inventory
  log "lab up: ${LAB_HOSTS[*]}"
}

# The inventory of a named lab: the dev lab's groups, with inventories/lab's
# group_vars linked, not copied. The two lab values that name the dev lab's
# subnet (the controller's admin address, the chrony clients) are given per host
# for this subnet, host variables outranking group_vars.
named_inventory() {
  local dir=$LAB_INVENTORY entry name addr group
  mkdir -p "$dir"
  ln -sfn "$REPO_ROOT/inventories/lab/group_vars" "$dir/group_vars"
  {
    echo "---"
    echo "# Written by scripts/lab.sh for the lab $SOPHIA_LAB_NAME ($LAB_SUBNET); group_vars -> inventories/lab/group_vars."
    echo "all:"
    echo "  children:"
    echo "    k3s_cluster:"
    echo "      children:"
    for group in k3s_server k3s_agent; do
      echo "        $group:"
      echo "          hosts:"
      for entry in "${LAB_HOSTS[@]}"; do
        name=${entry%%:*} addr=${entry#*:}
        case "$group:$name" in k3s_server:*-master-*|k3s_agent:*-worker-*) ;; *) continue ;; esac
        echo "            $name:"
        echo "              ansible_host: $(public_of "$addr")"
        echo "              sophia_private_ip: $addr"
        echo "              firewall_admin_cidrs: [$LAB_GATEWAY/32]"
        echo "              common_chrony_serve_cidrs: [$LAB_SUBNET]"
      done
    done
    echo "    gpu:"
    echo "      hosts: {}"
  } > "$dir/hosts.yml"
}

start_host() {
  local name=$1 addr=$2
  if podman container exists "$name"; then
    [ "$(podman inspect -f '{{.State.Running}}' "$name")" = true ] || podman start "$name" >/dev/null
    log "$name ($addr) running"
  else
    log "starting $name ($addr, public $(public_of "$addr"))"
    # --no-hosts: /etc/hosts is the host's own file, as on a VM, so the common
    # role manages it. The hostname starts as the image's "localhost", like a
    # cloud host before provisioning names it.
    podman run -d --name "$name" --hostname localhost --label "$LABEL" \
      --network "$LAB_NETWORK" --ip "$addr" --no-hosts \
      --privileged --systemd=always \
      "$HOST_IMAGE" /sbin/init >/dev/null
  fi
}

# Host keys are read out of band (like a cloud console), so SSH host key
# checking stays on for the lab.
host_keys() {
  local name=$1 addr=$2
  podman exec "$name" sh -c 'cat /etc/ssh/ssh_host_*_key.pub' \
    | awk -v n="$name" -v a="$(public_of "$addr")" '{print n "," a " " $1 " " $2}'
}

# One more host, started and listed like a launched Lambda instance: in group
# k3s_agent, with its public ansible_host and its sophia_private_ip.
lab_add() {
  local want=${1:-} entry name addr found=""
  for entry in "${LAB_SPARE_HOSTS[@]}"; do
    [ "${entry%%:*}" = "$want" ] && found=$entry
  done
  [ -n "$found" ] || die "usage: $0 add NAME, NAME one of: ${LAB_SPARE_HOSTS[*]%%:*}"
  [ -f "$KNOWN_HOSTS" ] || die "the lab is not up: run 'make lab-up' first"
  name=${found%%:*} addr=${found#*:}
  start_host "$name" "$addr"
  prepare_host "$name" "$addr"
  grep -v "^$name," "$KNOWN_HOSTS" > "$KNOWN_HOSTS.new" || true
  host_keys "$name" "$addr" >> "$KNOWN_HOSTS.new"
  mv "$KNOWN_HOSTS.new" "$KNOWN_HOSTS"
  ssh_ok "$(public_of "$addr")" || die "$name: SSH as $LAB_BOOTSTRAP_USER@$(public_of "$addr") does not answer"
  mkdir -p "$ADDED_DIR"
  # Beside inventories/lab at the same depth, so the lab's group_vars paths
  # ({{ inventory_dir }}/../../.lab/...) hold for these hosts too.
  {
    echo "---"
    echo "# Written by scripts/lab.sh add: hosts started after the lab, grouped as the"
    echo "# Lambda inventory groups a launched agent. Use with -i inventories/lab -i .lab/added."
    echo "all:"
    echo "  children:"
    echo "    k3s_cluster:"
    echo "      children:"
    echo "        k3s_agent:"
    echo "          hosts:"
    for entry in "${LAB_SPARE_HOSTS[@]}"; do
      name=${entry%%:*} addr=${entry#*:}
      podman container exists "$name" || continue
      echo "            $name:"
      echo "              ansible_host: $(public_of "$addr")"
      echo "              sophia_private_ip: $addr"
    done
  } > "$ADDED_DIR/hosts.yml"
  log "added $want: ansible-playbook playbooks/node-add.yml -i inventories/lab -i .lab/added -e sophia_node_add_existing=$want"
}

# Wait for systemd, then make the container behave like a VM: its own
# /etc/hostname (podman bind-mounts one that cannot be replaced) and the lab
# key for the default user. Safe to repeat. SOPHIA_LAB_BOOT_WAIT (seconds, default
# 60) gives a loaded machine longer.
prepare_host() {
  local name=$1 addr=$2 state i
  for i in $(seq 1 "${SOPHIA_LAB_BOOT_WAIT:-60}"); do
    # A systemd that cannot start exits at once; waiting on would hide why.
    [ "$(podman inspect -f '{{.State.Running}}' "$name")" = true ] \
      || die "$name exited while booting (code $(podman inspect -f '{{.State.ExitCode}}' "$name")): many systemd hosts on one machine can exhaust fs.inotify.max_user_instances ($(cat /proc/sys/fs/inotify/max_user_instances) here; sysctl -w fs.inotify.max_user_instances=1024 raises it)"
    state=$(podman exec "$name" systemctl is-system-running 2>/dev/null || true)
    case "$state" in running|degraded) break ;; esac
    sleep 1
  done
  case "$state" in running|degraded) ;; *) die "$name: systemd did not come up ($state)" ;; esac
  podman exec -i "$name" sh -c '
    if mountpoint -q /etc/hostname; then umount /etc/hostname; systemctl stop systemd-hostnamed 2>/dev/null || true; fi
    home=$(getent passwd '"$LAB_BOOTSTRAP_USER"' | cut -d: -f6)
    install -d -m 0700 -o '"$LAB_BOOTSTRAP_USER"' -g '"$LAB_BOOTSTRAP_USER"' "$home/.ssh"
    key="$(cat)"
    grep -qxF "$key" "$home/.ssh/authorized_keys" 2>/dev/null || echo "$key" >> "$home/.ssh/authorized_keys"
    chown '"$LAB_BOOTSTRAP_USER"': "$home/.ssh/authorized_keys"; chmod 0600 "$home/.ssh/authorized_keys"
    systemctl is-active -q ssh || systemctl restart ssh
    ip -4 addr show dev eth0 | grep -qF " '"$(public_of "$addr")"'/32 " || ip addr add '"$(public_of "$addr")"'/32 dev eth0' < "$KEY.pub"
}

ssh_ok() {
  local addr=$1 i
  for i in $(seq 1 30); do
    ssh -i "$KEY" -o UserKnownHostsFile="$KNOWN_HOSTS" -o StrictHostKeyChecking=yes \
      -o BatchMode=yes -o ConnectTimeout=3 "$LAB_BOOTSTRAP_USER@$addr" true 2>/dev/null && return 0
    sleep 1
  done
  return 1
}

lab_converge() {
  activate_venv
  [ -f "$KNOWN_HOSTS" ] || die "the lab is not up: run 'make lab-up' first"
  cd "$REPO_ROOT"
  local inventory=(-i "$LAB_INVENTORY")
  [ -f "$ADDED_DIR/hosts.yml" ] && inventory+=(-i .lab/added)
  log "ansible-playbook ${inventory[*]} site.yml"
  ansible-playbook "${inventory[@]}" site.yml "$@"
  log "what the lab runs now"
  ansible-playbook "${inventory[@]}" playbooks/report.yml
}

lab_status() {
  podman ps -a --filter label="$LABEL" --format '{{.Names}}\t{{.Status}}\t{{.Networks}}'
}

lab_down() {
  local name
  # Every container with the lab's label: the hosts, added hosts, test helpers.
  for name in $(podman ps -a --filter label="$LABEL" --format '{{.Names}}'); do
    log "removing $name"; podman rm -f -t 5 "$name" >/dev/null
  done
  if podman network exists "$LAB_NETWORK"; then podman network rm "$LAB_NETWORK" >/dev/null; fi
  rm -rf "$LAB_DIR"
  if [ -n "$LAB_ROOT" ]; then
    rm -rf "$LAB_INVENTORY"
    rmdir "$LAB_ROOT/inventories" "$LAB_ROOT" 2>/dev/null || true
  fi
  log "lab removed (the image $HOST_IMAGE stays; 'podman rmi $HOST_IMAGE' removes it)"
}

case "${1:-}" in
  up) lab_up ;;
  add) shift; lab_add "$@" ;;
  converge) shift; lab_converge "$@" ;;
  status) lab_status ;;
  down) lab_down ;;
  *) die "usage: $0 up|add NAME|converge|status|down" ;;
esac
