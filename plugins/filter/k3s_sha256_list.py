# Copyright: Sophia platform team
# Apache License 2.0 (see LICENSE)
"""Filter: read a sha256sum list (a K3s release's sha256sum-<arch>.txt)."""

from __future__ import annotations

DOCUMENTATION = r"""
name: k3s_sha256_list
author: Sophia platform team
version_added: 0.1.0
short_description: Read a sha256sum list into a dict
description:
  - Turns C(sha256sum) output (C(<sha256>  <file>) per line, as K3s publishes C(sha256sum-<arch>.txt))
    into a dict of file name to lower-case sha256.
  - A malformed line or an empty list is an error, so a list that cannot be read never counts as verified.
options:
  _input:
    description: The list's text.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Show the sha256 the release lists for its binary
  ansible.builtin.debug:
    msg: "{{ (lookup('ansible.builtin.file', 'sha256sum-arm64.txt') | sophia.platform.k3s_sha256_list)['k3s-arm64'] }}"
"""

RETURN = r"""
_value:
  description: File name to sha256.
  type: dict
"""

from ansible.errors import AnsibleFilterError
from ansible_collections.sophia.platform.plugins.module_utils._k3s import parse_sha256_list


def k3s_sha256_list(text):
    try:
        return parse_sha256_list(text)
    except ValueError as exc:
        raise AnsibleFilterError(str(exc))


class FilterModule:
    def filters(self):
        return {"k3s_sha256_list": k3s_sha256_list}
