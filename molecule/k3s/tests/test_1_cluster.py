"""After converge, a second converge and a --check run: what the K3s layer left
on a 3-server, 1-agent topology, against k3s-double (not K3s)."""

import pathlib

import pytest
import testinfra
import yaml

from conftest import AGENTS, ALL, DOUBLE_SHA256, EPHEMERAL, FLAGS, SERVERS, address, starts, token

UNITS = {host: "k3s" for host in SERVERS} | {host: "k3s-agent" for host in AGENTS}


def host(name):
    return testinfra.get_host("podman://" + name)


def config(name):
    return yaml.safe_load(host(name).file("/etc/rancher/k3s/config.yaml").content_string)


@pytest.mark.parametrize("name", ALL)
def test_the_verified_binary_is_installed_and_its_service_runs(name):
    node = host(name)
    binary = node.file("/usr/local/bin/k3s")
    assert binary.sha256sum == DOUBLE_SHA256
    assert binary.mode == 0o755
    assert node.service(UNITS[name]).is_running
    assert node.service(UNITS[name]).is_enabled


@pytest.mark.parametrize("name", ALL)
def test_token_lives_only_in_one_root_only_file(name):
    node = host(name)
    secret = token()
    token_file = node.file("/etc/rancher/k3s/token")
    assert (token_file.user, token_file.group, token_file.mode) == ("root", "root", 0o600)
    assert token_file.content_string.strip() == secret
    assert config(name)["token-file"] == "/etc/rancher/k3s/token"
    unit = "/etc/systemd/system/%s.service" % UNITS[name]
    for path in (unit, unit + ".env", "/etc/rancher/k3s/config.yaml"):
        assert secret not in node.file(path).content_string, path
    assert node.file(unit + ".env").mode == 0o600
    assert node.file("/etc/rancher/k3s/config.yaml").mode == 0o600
    pid = node.check_output("systemctl show -p MainPID --value %s", UNITS[name])
    assert secret not in node.file("/proc/%s/cmdline" % pid).content_string
    assert secret not in node.check_output("journalctl --no-pager -o cat")


def test_token_never_reached_the_play_output():
    log = pathlib.Path(EPHEMERAL / "ansible.log").read_text()
    assert "Write the cluster token file" in log
    assert token() not in log


@pytest.mark.parametrize("name", ALL)
def test_every_config_key_is_a_flag_of_the_pinned_release(name):
    command = "server" if name in SERVERS else "agent"
    keys = {key[:-1] if key.endswith("+") else key for key in config(name)}
    assert keys <= set(FLAGS[command]), keys - set(FLAGS[command])
    assert not keys & {"token", "default-runtime", "node-label", "node-taint"}


def test_first_server_bootstraps_etcd():
    first = config(SERVERS[0])
    assert first["cluster-init"] is True
    assert "server" not in first


@pytest.mark.parametrize("name", SERVERS[1:])
def test_other_servers_join_the_first_at_its_private_address(name):
    joining = config(name)
    assert joining["server"] == "https://%s:6443" % address(SERVERS[0])
    assert "cluster-init" not in joining


@pytest.mark.parametrize("name", SERVERS)
def test_servers_advertise_their_private_address_and_every_api_name(name):
    conf = config(name)
    ip = address(name)
    assert conf["node-ip"] == ip and conf["advertise-address"] == ip
    assert conf["flannel-iface"] == "eth0" and conf["flannel-backend"] == "vxlan"
    assert conf["tls-san"] == ["k3s.mol.test"] + [address(server) for server in SERVERS]
    assert conf["etcd-expose-metrics"] is True
    assert conf["kube-controller-manager-arg"] == ["bind-address=0.0.0.0"]
    assert conf["etcd-snapshot-schedule-cron"] == "0 */6 * * *"


@pytest.mark.parametrize("name", AGENTS)
def test_agents_join_through_the_api_name(name):
    conf = config(name)
    assert conf["server"] == "https://k3s.mol.test:6443"
    assert conf["node-ip"] == address(name)
    assert "tls-san" not in conf and "cluster-init" not in conf


def test_servers_started_one_at_a_time_first_server_first():
    times = [float(starts(name)[0][0]) for name in SERVERS]
    assert times == sorted(times)


@pytest.mark.parametrize("name", ALL)
def test_second_converge_and_check_run_restarted_nothing(name):
    assert len(starts(name)) == 1, starts(name)


def test_kubeconfig_on_the_controller_names_the_api():
    kubeconfig = pathlib.Path(EPHEMERAL / "kube" / "mol.yaml")
    assert kubeconfig.stat().st_mode & 0o777 == 0o600
    clusters = yaml.safe_load(kubeconfig.read_text())["clusters"]
    assert [c["cluster"]["server"] for c in clusters] == ["https://k3s.mol.test:6443"]


@pytest.mark.parametrize("name", ALL)
def test_offload_workaround_is_installed_for_every_new_flannel_device(name):
    node = host(name)
    rule = node.file("/etc/udev/rules.d/90-sophia-flannel-offload.rules").content_string
    assert ('ACTION=="add", SUBSYSTEM=="net", KERNEL=="flannel.1", '
            'RUN+="/usr/sbin/ethtool --features flannel.1 tx-checksum-ip-generic off"') in rule
    assert node.file("/usr/sbin/ethtool").exists
