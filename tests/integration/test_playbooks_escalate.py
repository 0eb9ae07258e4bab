"""Every play that touches a managed host escalates (become: true).

Production hosts are reached as an unprivileged sudo user (`ubuntu` on Lambda), so a host play
without `become` fails at its first apt, dpkg or /etc write. Plays on the control node
(hosts: localhost, or connection: local) need no escalation. The walk parses the YAML and follows
import_playbook, from site.yml and from every playbook in playbooks/.
"""

import pathlib

import pytest
import yaml

REPO = pathlib.Path(__file__).resolve().parents[2]
IMPORT_KEYS = ("ansible.builtin.import_playbook", "import_playbook")
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}


def _is_local(play):
    hosts = play.get("hosts")
    names = [hosts] if isinstance(hosts, str) else list(hosts or [])
    return play.get("connection") == "local" or (bool(names) and set(names) <= LOCAL_HOSTS)


def plays_without_become(playbook, seen=None):
    """(file, play name) for each host play reached from playbook that does not escalate."""
    seen = set() if seen is None else seen
    playbook = playbook.resolve()
    if playbook in seen:
        return []
    seen.add(playbook)
    found = []
    for play in yaml.safe_load(playbook.read_text()) or []:
        imported = next((play[key] for key in IMPORT_KEYS if key in play), None)
        if imported is not None:
            found += plays_without_become(playbook.parent / imported, seen)
        elif not _is_local(play) and play.get("become") is not True:
            found.append((str(playbook.relative_to(REPO) if REPO in playbook.parents else playbook.name),
                          play.get("name", "<unnamed>")))
    return found


ENTRY_POINTS = ["site.yml"] + sorted(str(p.relative_to(REPO)) for p in (REPO / "playbooks").glob("*.yml"))


@pytest.mark.parametrize("playbook", ENTRY_POINTS)
def test_every_host_play_escalates(playbook):
    assert plays_without_become(REPO / playbook) == []


def test_site_reaches_every_layer_playbook():
    seen = set()
    plays_without_become(REPO / "site.yml", seen)
    layers = {"hosts", "gpu", "k3s", "platform", "app", "edge"}
    assert {REPO / "playbooks" / ("%s.yml" % layer) for layer in layers} <= seen


def test_a_host_play_without_become_is_found(tmp_path):
    (tmp_path / "layer.yml").write_text(yaml.safe_dump([
        {"name": "Escalates", "hosts": "gpu", "become": True, "tasks": []},
        {"name": "Forgets", "hosts": "gpu", "tasks": []},
        {"name": "Says no", "hosts": "k3s_cluster", "become": False, "tasks": []},
        {"name": "Control node", "hosts": "localhost", "tasks": []},
        {"name": "Local connection", "hosts": "all", "connection": "local", "tasks": []},
    ]))
    (tmp_path / "site.yml").write_text(yaml.safe_dump([
        {"name": "Layer", "ansible.builtin.import_playbook": "layer.yml"},
        {"name": "Templated hosts", "hosts": "{{ sophia_layer_hosts | default('k3s_cluster') }}", "tasks": []},
    ]))
    assert plays_without_become(tmp_path / "site.yml") == [
        ("layer.yml", "Forgets"), ("layer.yml", "Says no"), ("site.yml", "Templated hosts")]
