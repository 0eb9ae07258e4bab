# Copyright: Sophia platform team
# Apache License 2.0 (see LICENSE)
"""Filter: look a host's distribution up in the collection's one table of supported releases."""

from __future__ import annotations

DOCUMENTATION = r"""
name: distribution_support
author: Sophia platform team
version_added: 0.1.0
short_description: Look a host's distribution up in the table of supported releases
description:
  - The one table of distributions every role of sophia.platform supports (Debian 12,
    Ubuntu 22.04 and 24.04), keyed on the distribution and its major version.
  - A point release matches its release (Debian C(12.11) is Debian 12); an interim release with
    the same major version does not (Ubuntu C(22.10) is not 22.04).
  - Returns C(supported), C(name), C(data) (the release's entry with C(release), C(codename),
    C(cuda_repo), C(distribution) and C(major); empty when not supported) and C(message).
  - The test C(sophia.platform.supported_distribution) answers only yes or no.
options:
  _input:
    description: The host's C(ansible_facts) (C(distribution), C(distribution_version)).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Refuse an unsupported distribution, saying which are supported
  ansible.builtin.assert:
    that: ansible_facts is sophia.platform.supported_distribution
    fail_msg: "{{ (ansible_facts | sophia.platform.distribution_support).message }}"

- name: Name NVIDIA's CUDA repository for this release
  ansible.builtin.debug:
    msg: "{{ (ansible_facts | sophia.platform.distribution_support).data.cuda_repo }}"
"""

RETURN = r"""
_value:
  description: C(supported) (bool), C(name), C(data) and C(message).
  type: dict
"""

from ansible_collections.sophia.platform.plugins.module_utils._distributions import support


def distribution_support(facts):
    return support(facts)


class FilterModule:
    def filters(self):
        return {"distribution_support": distribution_support}
