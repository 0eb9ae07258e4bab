"""Shared helpers for the firewall scenario's verify step.

Probes run inside the scenario's own containers (podman exec) or on the
controller against them: traffic goes only to this scenario's network.
"""

import json
import os
import pathlib
import subprocess
import sys
import time

SCENARIO = pathlib.Path(__file__).resolve().parent.parent
REPO = SCENARIO.parent.parent
EPHEMERAL = pathlib.Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"])
INVENTORY_FILE = os.environ["MOLECULE_INVENTORY_FILE"]

HOSTS = ["fw-master-01", "fw-worker-01", "fw-worker-02", "fw-outsider"]


def _address(host):
    out = subprocess.run(["podman", "exec", host, "ip", "-4", "-o", "addr", "show", "eth0"],
                         check=True, capture_output=True, text=True).stdout
    return out.split()[3].split("/")[0]


def _gateway(host):
    out = subprocess.run(["podman", "exec", host, "ip", "-4", "route", "show", "default"],
                         check=True, capture_output=True, text=True).stdout
    return out.split()[2]


# podman picks the scenario network's subnet: read the addresses off the hosts.
ADDRESS = {host: _address(host) for host in HOSTS}
CONTROLLER = _gateway("fw-master-01")
TABLE = "sophia_filter"


def podman(host, *command, check=True):
    return subprocess.run(["podman", "exec", host, *command], check=check, capture_output=True, text=True, timeout=120)


def probe(source, proto, target, port, timeout=1.5, source_address=None):
    """open / refused / dropped (or the banner, for proto "banner"), seen from `source` (a container,
    or 'controller'), sent from `source_address` when given."""
    command = [str(timeout)] + ([source_address] if source_address else [])
    if source == "controller":
        out = subprocess.run(
            [sys.executable, str(SCENARIO / "files" / "probe.py"), proto, ADDRESS[target], str(port), *command],
            check=True, capture_output=True, text=True, timeout=30,
        ).stdout
    else:
        out = podman(source, "python3", "/usr/local/bin/probe.py", proto, ADDRESS[target], str(port), *command).stdout
    return out.strip()


def live_table(host):
    result = podman(host, "nft", "list", "table", "inet", TABLE, check=False)
    return result.stdout if result.returncode == 0 else ""


def listing(host):
    """The loaded table as nft lists it without counters ("" when there is none)."""
    result = podman(host, "nft", "--stateless", "list", "table", "inet", TABLE, check=False)
    return result.stdout if result.returncode == 0 else ""


def boot_listing(host):
    """The table the boot ruleset loads to, listed the same way (loaded in a namespace of its own)."""
    return podman(host, "/usr/local/sbin/sophia-firewall-apply", "listing", "/etc/sophia/firewall/ruleset.nft").stdout


def boot_file(host):
    return podman(host, "cat", "/etc/sophia/firewall/ruleset.nft").stdout


def journal(host):
    """(unix time, message) of the helper's log lines on `host`, oldest first."""
    out = podman(host, "journalctl", "-t", "sophia-firewall", "-o", "short-unix", "--no-pager", "-q").stdout
    lines = []
    for line in out.splitlines():
        stamp, _sep, rest = line.partition(" ")
        lines.append((float(stamp), rest.split(": ", 1)[-1]))
    return lines


def ansible_env():
    return dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_FORCE_COLOR="0")


def extra_rules(*more):
    """firewall_extra_rules as the scenario's inventory sets them, plus `more`."""
    outsider = ["%s/32" % ADDRESS["fw-outsider"]]
    return [
        {"name": "extra from outsider", "proto": "tcp", "ports": [8080], "sources": outsider},
        {"name": "nodeports", "proto": "tcp", "ports": ["30000-32767"], "sources": outsider},
        *more,
    ]


def write_ssh_inventory(host, private=None):
    """An inventory that reaches the cluster hosts over SSH from the controller, as production does.

    Peers are named by `sophia_private_ip` (what an inventory knows before sophia.platform.common ran);
    `private` overrides it per host (None: leave it out).
    """
    private = dict({name: addr for name, addr in ADDRESS.items() if name != "fw-outsider"}, **(private or {}))
    path = EPHEMERAL / ("ssh-inventory-%s.yml" % host)
    known_hosts = EPHEMERAL / "known_hosts"
    inventory = {
        "all": {
            "children": {
                "k3s_cluster": {
                    "children": {
                        "k3s_server": {"hosts": {}},
                        "k3s_agent": {"hosts": {}},
                    },
                    "vars": {
                        "ansible_user": "debian",
                        "ansible_ssh_private_key_file": str(EPHEMERAL / "id_admin"),
                        "ansible_ssh_common_args": "-o UserKnownHostsFile=%s -o StrictHostKeyChecking=accept-new" % known_hosts,
                        "ansible_python_interpreter": "/usr/bin/python3",
                        "firewall_admin_cidrs": ["%s/32" % CONTROLLER],
                        # As the scenario's inventory (molecule.yml) sets it.
                        "sophia_service_cidr": "10.96.0.0/16",
                        "firewall_extra_rules": extra_rules(),
                    },
                }
            }
        }
    }
    for name, addr in ADDRESS.items():
        if name == "fw-outsider":
            continue
        group = "k3s_server" if name == "fw-master-01" else "k3s_agent"
        hostvars = {"ansible_host": addr}
        if private[name] is not None:
            hostvars["sophia_private_ip"] = private[name]
        if name == "fw-worker-01":
            hostvars["firewall_ingress_cidrs"] = ["%s/32" % ADDRESS["fw-outsider"]]
        inventory["all"]["children"]["k3s_cluster"]["children"][group]["hosts"][name] = hostvars
    path.write_text(json.dumps(inventory))
    return path


def _playbook_command(inventory, extra_vars, limit):
    command = ["ansible-playbook", "-i", str(inventory), str(SCENARIO / "converge.yml"), "-e", json.dumps(extra_vars)]
    if limit:
        command += ["--limit", limit]
    return command


def run_playbook(inventory, extra_vars, limit=None, timeout=600):
    result = subprocess.run(_playbook_command(inventory, extra_vars, limit), capture_output=True, text=True,
                            env=ansible_env(), cwd=str(REPO), timeout=timeout, check=False)
    return result, result.stdout + result.stderr


def start_playbook(inventory, extra_vars, limit=None):
    """The same run in the background: (process, its output file)."""
    output = open(EPHEMERAL / "background-playbook.log", "w+")
    process = subprocess.Popen(_playbook_command(inventory, extra_vars, limit), stdout=output,
                               stderr=subprocess.STDOUT, text=True, env=ansible_env(), cwd=str(REPO))
    return process, output


def recap(output):
    """{host: changed count} from a play recap."""
    counts = {}
    for line in output.splitlines():
        if " : ok=" in line:
            host = line.split()[0]
            counts[host] = int(line.split("changed=")[1].split()[0])
    return counts


def wait_until(predicate, timeout, step=1.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(step)
    return predicate()
