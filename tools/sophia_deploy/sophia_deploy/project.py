# Copyright: Sophia platform team
# Apache License 2.0 (see LICENSE)
"""What a project offers: its environments (inventories/<env>) and its entry playbooks."""

from __future__ import annotations

import pathlib

# Imported by the layer playbooks before their plays; never run on its own.
INTERNAL_PLAYBOOKS = frozenset({"playbooks/layer-guard.yml"})


class UsageError(Exception):
    """A request the project cannot serve (unknown environment or playbook)."""


def default_project_dir():
    """The checkout this package was installed from (pip -e of tools/sophia_deploy)."""
    return pathlib.Path(__file__).resolve().parents[3]


def environments(project):
    """Names of the inventories under inventories/, sorted."""
    root = project / "inventories"
    return sorted(path.name for path in root.iterdir() if path.is_dir()) if root.is_dir() else []


def playbooks(project):
    """site.yml and playbooks/*.yml, as paths relative to the project, sorted."""
    found = ["site.yml"] if (project / "site.yml").is_file() else []
    found += sorted("playbooks/" + path.name for path in (project / "playbooks").glob("*.yml"))
    return [name for name in found if name not in INTERNAL_PLAYBOOKS]


def resolve_environment(project, name):
    """inventories/<name> as an absolute path, or UsageError listing the valid names."""
    valid = environments(project)
    if name not in valid:
        raise UsageError("unknown environment %r; valid: %s" % (name, ", ".join(valid) or "(none)"))
    return (project / "inventories" / name).resolve()


def resolve_playbook(project, name):
    """A playbook named as site.yml, playbooks/x.yml, x.yml or x, relative to the project.

    Raises UsageError listing the valid names for anything else (including paths
    that leave the project).
    """
    valid = playbooks(project)
    candidates = [name, "playbooks/" + name]
    if not name.endswith(".yml"):
        candidates += [name + ".yml", "playbooks/" + name + ".yml"]
    for candidate in candidates:
        if candidate in valid:
            return candidate
    raise UsageError("unknown playbook %r; valid: %s" % (name, ", ".join(valid) or "(none)"))
