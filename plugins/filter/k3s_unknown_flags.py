# Copyright: Sophia platform team
# Apache License 2.0 (see LICENSE)
"""Filter: the keys of a K3s config that its release's flag table does not accept."""

from __future__ import annotations

DOCUMENTATION = r"""
name: k3s_unknown_flags
author: Sophia platform team
version_added: 0.1.0
short_description: Check a K3s config dict against a flag table
description:
  - Returns the keys of a K3s C(config.yaml) dict that are not flags of the pinned K3s release
    (the flag table in the k3s_install role's vars, derived from K3s's own flag definitions), and
    those another role owns, each with the reason. Empty when every key is accepted.
  - A key may end in C(+) (K3s appends it to the same key of an earlier file).
options:
  _input:
    description: The config dict.
    type: dict
    required: true
  flags:
    description: The release's flag names for the command (C(server) or C(agent)), with or without leading dashes.
    type: list
    elements: str
    required: true
  forbidden:
    description: Keys another role owns (for example the nvidia role's C(default-runtime)).
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: Refuse a config key K3s does not know
  ansible.builtin.assert:
    that: (k3s_install_config | sophia.platform.k3s_unknown_flags(flags)) | length == 0
"""

RETURN = r"""
_value:
  description: The refused keys, each with its reason; sorted.
  type: list
  elements: str
"""

from ansible_collections.sophia.platform.plugins.module_utils._k3s import unknown_flags


def k3s_unknown_flags(config, flags, forbidden=None):
    return unknown_flags(config, flags, forbidden or ())


class FilterModule:
    def filters(self):
        return {"k3s_unknown_flags": k3s_unknown_flags}
