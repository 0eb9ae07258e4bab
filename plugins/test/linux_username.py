# Copyright: Sophia platform team
# Apache License 2.0 (see LICENSE)
"""Jinja2 test: is a string a portable Linux user or group name?"""

from __future__ import annotations

DOCUMENTATION = r"""
name: linux_username
author: Sophia platform team
version_added: 0.1.0
short_description: Is a string a portable Linux user or group name
description:
  - True for names that useradd and groupadd accept on Debian and Ubuntu without
    C(--badname) - a lower-case letter or underscore, then lower-case letters, digits,
    underscores or hyphens, 32 characters at most.
options:
  _input:
    description: The name.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Refuse a bad user name
  ansible.builtin.assert:
    that: item.name is sophia.platform.linux_username
"""

RETURN = r"""
_value:
  description: Whether the name is valid.
  type: bool
"""

import re

_NAME = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")


def linux_username(value):
    return isinstance(value, str) and bool(_NAME.match(value))


class TestModule:
    def tests(self):
        return {"linux_username": linux_username}
