# Copyright: Sophia platform team
# Apache License 2.0 (see LICENSE)
"""Jinja2 test: is a string a time zone of the IANA database?"""

from __future__ import annotations

DOCUMENTATION = r"""
name: timezone_name
author: Sophia platform team
version_added: 0.1.0
short_description: Is a string an IANA time zone name
description:
  - True when the controller's time zone database (the system's, or Python's tzdata package)
    knows the name, for example C(Etc/UTC) or C(Europe/Berlin).
options:
  _input:
    description: The time zone name.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Refuse an unknown time zone
  ansible.builtin.assert:
    that: common_timezone is sophia.platform.timezone_name
"""

RETURN = r"""
_value:
  description: Whether the name is a known time zone.
  type: bool
"""

import functools
import zoneinfo


@functools.lru_cache(maxsize=1)
def _known_zones():
    return frozenset(zoneinfo.available_timezones())


def timezone_name(value):
    return isinstance(value, str) and value in _known_zones()


class TestModule:
    def tests(self):
        return {"timezone_name": timezone_name}
