"""The K3s flag table: the role's run-time table is what K3s's own flag
definitions say, and the config check refuses what they do not list."""

import importlib.util
import os

import pytest
import yaml

from ansible_collections.sophia.platform.plugins.module_utils._k3s import unknown_flags

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DERIVE = os.path.join(ROOT, "tests", "data", "k3s", "derive_flags.py")
ROLE_TABLE = os.path.join(ROOT, "roles", "k3s_install", "vars", "flags.yml")
FORBIDDEN = yaml.safe_load(open(os.path.join(ROOT, "roles", "k3s_install", "vars", "main.yml")))[
    "__k3s_install_forbidden_keys"]


def _derive():
    spec = importlib.util.spec_from_file_location("derive_flags", DERIVE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def table():
    return yaml.safe_load(open(ROLE_TABLE))["__k3s_install_flags"]


def test_role_table_is_the_one_derived_from_the_flag_tsv():
    derive = _derive()
    with open(ROLE_TABLE) as handle:
        assert handle.read() == derive.render(derive.flags())


def test_table_holds_the_flags_the_roles_set(table):
    for name in ("token-file", "node-ip", "advertise-address", "flannel-iface", "flannel-backend", "tls-san",
                 "cluster-init", "server", "cluster-cidr", "service-cidr", "etcd-expose-metrics",
                 "kube-controller-manager-arg", "kube-scheduler-arg", "kube-proxy-arg", "write-kubeconfig-mode",
                 "etcd-snapshot-schedule-cron", "etcd-snapshot-retention", "etcd-s3", "etcd-s3-bucket",
                 "node-label", "node-taint"):
        assert name in table["server"], name
    for name in ("token-file", "server", "node-ip", "flannel-iface", "kube-proxy-arg", "node-label"):
        assert name in table["agent"], name


def test_server_only_flags_are_refused_for_an_agent(table):
    assert unknown_flags({"cluster-init": True, "tls-san": ["k3s.example"]}, table["agent"]) == [
        "cluster-init (not a flag of this K3s release)", "tls-san (not a flag of this K3s release)"]


def test_hidden_flags_are_not_in_the_table(table):
    # kube-controller-arg is the hidden, deprecated spelling of kube-controller-manager-arg.
    assert "kube-controller-arg" not in table["server"]
    assert unknown_flags({"kube-controller-arg": ["x=y"]}, table["server"])


def test_a_misspelt_key_is_refused_with_its_name(table):
    assert unknown_flags({"node-ip": "10.0.0.1", "tls-sans": ["a"]}, table["server"]) == [
        "tls-sans (not a flag of this K3s release)"]


def test_append_suffix_is_accepted_on_a_known_flag(table):
    assert unknown_flags({"node-label+": ["a=b"], "node-taint+": ["c=d:NoSchedule"]}, table["agent"]) == []
    assert unknown_flags({"tls-sans+": ["a"]}, table["server"]) == ["tls-sans+ (not a flag of this K3s release)"]


@pytest.mark.parametrize("key", ["default-runtime", "node-label", "token", "etcd-s3-secret-key"])
def test_keys_other_roles_or_the_vault_own_are_refused(table, key):
    assert unknown_flags({key: "x"}, table["server"], FORBIDDEN) == ["%s (owned by another role)" % key]


def test_flags_with_leading_dashes_are_understood():
    assert unknown_flags({"node-ip": "10.0.0.1"}, ["--node-ip"]) == []
