"""A fourth host added through playbooks/node-add.yml (the lab path of the same
playbook Lambda runs): every node admits it, it admits every node, an outsider is
still refused, and the old nodes changed nothing but their firewall's peer rules."""

import ipaddress
import pathlib

import pytest
import yaml

from conftest import NEW, NEW_IP, OLD, changed_tasks, live_table, podman, probe

REPO = pathlib.Path(__file__).resolve().parents[2]


def task_names(*files):
    names = set()

    def walk(tasks):
        for task in tasks or []:
            if "name" in task:
                names.add(task["name"])
            walk(task.get("block"))
            walk(task.get("rescue"))
            walk(task.get("always"))

    for path in files:
        walk(yaml.safe_load(path.read_text()))
    return names


def merged(intervals):
    out = []
    for low, high in sorted(intervals):
        if out and low <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], high))
        else:
            out.append((low, high))
    return out


def intervals(elements):
    """The addresses a set's elements stand for, as merged (low, high) integer
    intervals (nft -j writes single addresses, ranges and prefixes)."""
    out = []
    for elem in elements or []:
        if isinstance(elem, dict) and "elem" in elem:
            elem = elem["elem"]["val"]
        if isinstance(elem, str):
            address = int(ipaddress.ip_address(elem))
            out.append((address, address))
        elif "range" in elem:
            out.append(tuple(int(ipaddress.ip_address(a)) for a in elem["range"]))
        elif "prefix" in elem:
            network = ipaddress.ip_network("%s/%s" % (elem["prefix"]["addr"], elem["prefix"]["len"]))
            out.append((int(network.network_address), int(network.broadcast_address)))
    return merged(out)


def split(table):
    """(rules without their handles and counter values, {set name: intervals}) of an
    `nft -j list table`: what a reload may change without the rules changing."""
    rules, sets = [], {}
    for item in table["nftables"]:
        if "rule" in item:
            rule = {key: value for key, value in item["rule"].items() if key != "handle"}
            rule["expr"] = [{"counter": None} if "counter" in expr else expr for expr in rule.get("expr", [])]
            rules.append(rule)
        elif "set" in item:
            sets[item["set"]["name"]] = intervals(item["set"].get("elem"))
    return rules, sets


def test_node_add_run_succeeds(node_add):
    result = node_add[1]
    assert result.status == "successful", "".join(result.stdout.readlines())[-3000:]
    assert result.rc == 0
    assert not result.stats["failures"] and not result.stats["dark"]
    assert NEW in result.stats["changed"]


def test_before_node_add_the_old_nodes_drop_the_new_one(node_add):
    before = node_add[0]
    assert before["new_to_master"] == "dropped"


@pytest.mark.parametrize("proto,port", [("tcp", 10250), ("tcp", 6443), ("udp", 8472)])
def test_new_node_reaches_every_peer(node_add, proto, port):
    assert {host: probe(NEW, proto, address, port) for host, address in OLD.items()} == dict.fromkeys(OLD, "open")


@pytest.mark.parametrize("proto,port", [("tcp", 10250), ("tcp", 6443), ("udp", 8472)])
def test_old_nodes_reach_the_new_node(node_add, proto, port):
    assert {host: probe(host, proto, NEW_IP, port) for host in OLD} == dict.fromkeys(OLD, "open")


@pytest.mark.parametrize("proto,port", [("tcp", 10250), ("udp", 8472)])
def test_an_outsider_still_reaches_no_node(outsider, proto, port):
    targets = {**OLD, NEW: NEW_IP}
    assert {host: probe(outsider, proto, address, port) for host, address in targets.items()} == \
        dict.fromkeys(targets, "dropped")


@pytest.mark.parametrize("host", sorted(OLD))
def test_old_nodes_changed_only_their_firewall_ruleset(node_add, host):
    result = node_add[1]
    changed = changed_tasks(result, host)
    # Loading the ruleset is the only change; the installation (packages, units,
    # helper) is as site.yml left it.
    tasks = REPO / "roles" / "firewall" / "tasks"
    loading = task_names(*(p for p in tasks.glob("*.yml") if p.name != "install.yml")) - task_names(tasks / "install.yml")
    assert changed, "%s reported no change: it never admitted %s" % (host, NEW)
    assert all(role.endswith("firewall") and task in loading for role, task in changed), changed


@pytest.mark.parametrize("host", sorted(OLD))
def test_old_nodes_loaded_rules_differ_only_by_the_new_peer(node_add, host):
    before = node_add[0]
    rules_before, sets_before = split(before["tables"][host])
    rules_after, sets_after = split(live_table(host))
    assert rules_after == rules_before
    assert set(sets_after) == set(sets_before)
    new = int(ipaddress.ip_address(NEW_IP))
    changed = {name for name in sets_after if sets_after[name] != sets_before[name]}
    assert changed, "no address set of %s gained %s" % (host, NEW_IP)
    for name in changed:
        assert sets_after[name] == merged(sets_before[name] + [(new, new)]), name


def test_new_node_names_its_peers_by_private_address(node_add):
    for peer, address in OLD.items():
        assert podman("exec", NEW, "getent", "ahostsv4", peer).stdout.split()[0] == address
