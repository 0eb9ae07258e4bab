# Copyright: Sophia platform team
# Apache License 2.0 (see LICENSE)
"""Jinja2 test: does sophia.platform support the host's distribution release?"""

from __future__ import annotations

DOCUMENTATION = r"""
name: supported_distribution
author: Sophia platform team
version_added: 0.1.0
short_description: Is the host's distribution release one sophia.platform supports
description:
  - True for the releases in the collection's one table of supported distributions
    (Debian 12, Ubuntu 22.04 and 24.04), keyed on the distribution and its major version.
  - The filter C(sophia.platform.distribution_support) returns the table entry and a message
    naming the supported releases.
options:
  _input:
    description: The host's C(ansible_facts) (C(distribution), C(distribution_version)).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Refuse an unsupported distribution
  ansible.builtin.assert:
    that: ansible_facts is sophia.platform.supported_distribution
    fail_msg: "{{ (ansible_facts | sophia.platform.distribution_support).message }}"
"""

RETURN = r"""
_value:
  description: Whether the release is supported.
  type: bool
"""

from ansible_collections.sophia.platform.plugins.module_utils._distributions import support


def supported_distribution(facts):
    return support(facts)["supported"]


class TestModule:
    def tests(self):
        return {"supported_distribution": supported_distribution}
