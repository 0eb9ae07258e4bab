# Copyright: Sophia platform team
# Apache License 2.0 (see LICENSE)
"""Lookup: read the collection's artifact manifest (artifacts.yml at the collection root)."""

from __future__ import annotations

DOCUMENTATION = r"""
name: artifact
author: Sophia platform team (@sophia-platform)
version_added: 0.1.0
short_description: Read an entry of the collection's artifact manifest
description:
  - Returns the value found by following the given keys, in order, from the top of the
    collection's artifact manifest (C(artifacts.yml) at the collection root), for example
    the keys C(charts) and C(gpu-operator) give that chart's repository, name and versions.
  - The manifest lists the only versions of upstream artifacts (Helm charts, and later the K3s
    release) that the collection's roles deploy; roles refuse versions it does not list.
  - A key that does not exist is an error naming the keys that do.
options:
  _terms:
    description: Keys to follow, outermost first.
    type: list
    elements: str
    required: true
  file:
    description: Path of another manifest to read instead (for tests).
    type: path
"""

EXAMPLES = r"""
- name: Show the pinned chart versions of the GPU operator
  ansible.builtin.debug:
    msg: "{{ lookup('sophia.platform.artifact', 'charts', 'gpu-operator').versions | list }}"
"""

RETURN = r"""
_raw:
  description: The entry found (a one-element list, as lookups return).
  type: list
  elements: raw
"""

import os

import yaml

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

MANIFEST = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "artifacts.yml")


def find(manifest, keys):
    """Follow keys from the top of the manifest; raise KeyError naming what exists."""
    node = manifest
    for depth, key in enumerate(keys):
        if not isinstance(node, dict) or key not in node:
            known = sorted(str(name) for name in node) if isinstance(node, dict) else []
            raise KeyError("%s has no entry %r (entries: %s)"
                           % ("/".join(str(k) for k in keys[:depth]) or "the manifest", key,
                              ", ".join(known) or "none"))
        node = node[key]
    return node


class LookupModule(LookupBase):

    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        path = self.get_option("file") or os.path.normpath(MANIFEST)
        if not terms:
            raise AnsibleLookupError("sophia.platform.artifact needs at least one key")
        try:
            with open(path) as handle:
                manifest = yaml.safe_load(handle)
        except (OSError, yaml.YAMLError) as exc:
            raise AnsibleLookupError("cannot read the artifact manifest %s: %s" % (path, exc))
        try:
            return [find(manifest, [str(term) for term in terms])]
        except KeyError as exc:
            raise AnsibleLookupError("artifact manifest %s: %s" % (path, exc.args[0]))
