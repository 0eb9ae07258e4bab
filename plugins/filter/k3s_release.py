# Copyright: Sophia platform team
# Apache License 2.0 (see LICENSE)
"""Filter: the release files of a pinned K3s version for a host's architecture."""

from __future__ import annotations

DOCUMENTATION = r"""
name: k3s_release
author: Sophia platform team
version_added: 0.1.0
short_description: Name the K3s release files for a host's architecture
description:
  - Reads the C(k3s) section of the collection's artifact manifest and returns, for one listed
    version and one architecture (Ansible's C(ansible_architecture), for example C(aarch64)),
    the binary, sha256 list and airgap images file names, the pinned sha256 of the list (may be
    empty) and the download base URL with the version filled in (URL-encoded).
  - A version or architecture the manifest does not list is an error naming those it does.
options:
  _input:
    description: The manifest's C(k3s) section.
    type: dict
    required: true
  version:
    description: The K3s version, for example C(v1.34.3+k3s1).
    type: str
    required: true
  architecture:
    description: The host's architecture fact.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Name this host's K3s files
  ansible.builtin.debug:
    msg: "{{ lookup('sophia.platform.artifact', 'k3s') | sophia.platform.k3s_release('v1.34.3+k3s1', ansible_architecture) }}"
"""

RETURN = r"""
_value:
  description: C(arch), C(version), C(binary), C(sha256_list), C(sha256_list_sha256), C(images), C(base_url).
  type: dict
"""

from ansible.errors import AnsibleFilterError
from ansible_collections.sophia.platform.plugins.module_utils._k3s import release_files


def k3s_release(section, version, architecture):
    try:
        return release_files(section, version, architecture)
    except ValueError as exc:
        raise AnsibleFilterError(str(exc))


class FilterModule:
    def filters(self):
        return {"k3s_release": k3s_release}
