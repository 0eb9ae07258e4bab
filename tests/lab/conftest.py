"""The lab of scripts/lab.sh, driven through ansible-runner as CI would drive it.

Run by scripts/lab-test.sh (`make lab-test`, part of `make test`), which starts a
fresh lab, runs these tests and removes the lab. The fixtures run site.yml, then
add a fourth host through playbooks/node-add.yml; traffic goes only between the
lab's own containers on the sophia-lab network.
"""

import json
import os
import pathlib
import subprocess

import ansible_runner
import pytest
import yaml

REPO = pathlib.Path(__file__).resolve().parents[2]
LAB_DIR = REPO / ".lab"
OLD = {"sophia-master-01": "10.77.0.11", "sophia-worker-01": "10.77.0.21", "sophia-worker-02": "10.77.0.22"}
NEW, NEW_IP = "sophia-worker-03", "10.77.0.23"
OUTSIDER, OUTSIDER_IP = "sophia-lab-outsider", "10.77.0.99"
HOST_IMAGE = os.environ.get("SOPHIA_HOST_IMAGE", "localhost/sophia-host:bookworm")
ENVVARS = {"ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1"}
# The harness of the firewall scenario: a TCP/UDP listener and a probe that tells
# open from dropped.
HARNESS = REPO / "molecule" / "firewall" / "files"
PORTS = ["tcp/10250", "tcp/6443", "udp/8472"]
FIREWALL_TABLE = yaml.safe_load((REPO / "roles/firewall/defaults/main.yml").read_text())["firewall_table"]


def podman(*args, check=True, timeout=60):
    result = subprocess.run(["podman", *args], capture_output=True, text=True, timeout=timeout, check=False)
    if check:
        assert result.returncode == 0, (args, result.stdout, result.stderr)
    return result


def probe(source, proto, address, port):
    """open, refused or dropped: real traffic from container `source`."""
    return podman("exec", source, "python3", "/tmp/probe.py", proto, address, str(port), "2").stdout.strip()


def live_table(host):
    return json.loads(podman("exec", host, "nft", "-j", "list", "table", "inet", FIREWALL_TABLE).stdout)


def run_playbook(private_data_dir, playbook, inventories, **kwargs):
    private_data_dir.mkdir(parents=True, exist_ok=True)
    return ansible_runner.run(private_data_dir=str(private_data_dir), project_dir=str(REPO), playbook=playbook,
                              inventory=[str(path) for path in inventories], envvars=ENVVARS, quiet=True, **kwargs)


def changed_tasks(result, host):
    """(role, task name) of every task that reported a change on `host`."""
    return sorted({(event["event_data"].get("role", ""), event["event_data"]["task"]) for event in result.events
                   if event["event"] == "runner_on_ok" and event["event_data"].get("host") == host
                   and event["event_data"]["res"].get("changed")})


@pytest.fixture(scope="session")
def lab():
    if os.environ.get("SOPHIA_LAB_TEST") != "1":
        pytest.skip("run by scripts/lab-test.sh (make lab-test): needs the fresh lab it starts")
    if not (LAB_DIR / "known_hosts").is_file():
        pytest.fail("the lab is not up: run scripts/lab-test.sh (make lab-test), which starts a fresh one")
    if podman("container", "exists", NEW, check=False).returncode == 0:
        pytest.fail("%s exists already: run scripts/lab-test.sh, which starts a fresh lab" % NEW)
    return LAB_DIR


@pytest.fixture(scope="session")
def site(lab, tmp_path_factory):
    """site.yml on the three lab hosts, through ansible-runner."""
    pdd = tmp_path_factory.mktemp("site")
    return pdd, run_playbook(pdd, "site.yml", [REPO / "inventories" / "lab"])


@pytest.fixture(scope="session")
def node_add(site, tmp_path_factory):
    """Start a fourth host (scripts/lab.sh add), probe it before, run node-add.yml on it."""
    site_result = site[1]
    assert site_result.status == "successful", "site.yml failed; node-add was not tried"
    added = subprocess.run([str(REPO / "scripts" / "lab.sh"), "add", NEW], capture_output=True, text=True,
                           timeout=300, check=False)
    assert added.returncode == 0, added.stdout + added.stderr
    for host in [*OLD, NEW]:
        podman("cp", str(HARNESS / "listener.py"), "%s:/tmp/listener.py" % host)
        podman("cp", str(HARNESS / "probe.py"), "%s:/tmp/probe.py" % host)
        podman("exec", "-d", host, "python3", "/tmp/listener.py", *PORTS)
    for host in [*OLD, NEW]:
        # The listener answers locally (loopback is always accepted) before anything is probed.
        for _attempt in range(20):
            if probe(host, "tcp", "127.0.0.1", 10250) == "open":
                break
        else:
            pytest.fail("the listener on %s does not answer" % host)
    before = {
        "tables": {host: live_table(host) for host in OLD},
        "new_to_master": probe(NEW, "tcp", OLD["sophia-master-01"], 10250),
    }
    pdd = tmp_path_factory.mktemp("node-add")
    result = run_playbook(pdd, "playbooks/node-add.yml", [REPO / "inventories" / "lab", LAB_DIR / "added"],
                          extravars={"sophia_node_add_existing": NEW})
    return before, result


@pytest.fixture(scope="session")
def outsider(node_add):
    """A container on the lab network that is no host of the inventory."""
    podman("run", "-d", "--name", OUTSIDER, "--label", "org.sophia.lab=1", "--network", "sophia-lab",
           "--ip", OUTSIDER_IP, HOST_IMAGE, "sleep", "infinity")
    try:
        podman("cp", str(HARNESS / "probe.py"), "%s:/tmp/probe.py" % OUTSIDER)
        yield OUTSIDER
    finally:
        podman("rm", "-f", "-t", "0", OUTSIDER, check=False)
