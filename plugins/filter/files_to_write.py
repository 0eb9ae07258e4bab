# Copyright: Sophia platform team
# Apache License 2.0 (see LICENSE)
"""Filter: the files of a group whose host copy differs from what the role wants."""

from __future__ import annotations

DOCUMENTATION = r"""
name: files_to_write
author: Sophia platform team
version_added: 0.1.0
short_description: Select the files of a group that are missing or differ on the host
description:
  - Compares a list of wanted files with the C(files) that M(sophia.platform.host_probe) returned for the
    same host, and returns the wanted items that need a write.
  - An item is returned when its file is missing or not a regular file, or when the SHA-1 of its
    C(content) (UTF-8), its C(mode), C(owner) or C(group) differ from the host's. C(mode), C(owner) and
    C(group) are only compared when the item sets them.
  - Modes are compared as octal numbers, so V('0644'), V('644') and the integer C(0o644) are equal.
  - Items are returned unchanged (every other key kept), in their order, so a loop over the result can
    write them with M(ansible.builtin.copy).
  - Fails naming the C(dest) when the probe result has no entry for it (the probe was not asked for it).
options:
  _input:
    description: Wanted files, each a dict with C(dest) and C(content), optionally C(mode), C(owner), C(group).
    type: list
    elements: dict
    required: true
  probe_result:
    description: The registered result of C(sophia.platform.host_probe) with every C(dest) in its C(files).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Write the configuration files that differ
  ansible.builtin.copy:
    content: "{{ item.content }}"
    dest: "{{ item.dest }}"
    mode: "{{ item.mode }}"
    owner: "{{ item.owner }}"
    group: "{{ item.group }}"
  loop: "{{ common_files | sophia.platform.files_to_write(common_probe) }}"
  loop_control:
    label: "{{ item.dest }}"
"""

RETURN = r"""
_value:
  description: The items of the input that need a write, unchanged and in input order.
  type: list
  elements: dict
"""

import hashlib

from ansible.errors import AnsibleFilterError


def _octal(mode, dest):
    if isinstance(mode, bool):
        raise AnsibleFilterError("files_to_write: mode of %s must be octal, not %r" % (dest, mode))
    if isinstance(mode, int):
        return mode
    try:
        return int(str(mode), 8)
    except ValueError:
        raise AnsibleFilterError("files_to_write: mode of %s must be octal (like '0644'), not %r" % (dest, mode))


def _needs_write(item, state):
    if not state.get("exists") or state.get("type") != "file":
        return True
    content = item.get("content")
    if content is None:
        raise AnsibleFilterError("files_to_write: %s has no content" % item["dest"])
    if hashlib.sha1(str(content).encode("utf-8")).hexdigest() != state.get("checksum"):
        return True
    mode = item.get("mode")
    if mode is not None and (state.get("mode") is None
                             or _octal(mode, item["dest"]) != _octal(state["mode"], item["dest"])):
        return True
    for key in ("owner", "group"):
        if item.get(key) is not None and str(item[key]) != str(state.get(key)):
            return True
    return False


def files_to_write(wanted, probe_result):
    if not isinstance(probe_result, dict) or not isinstance(probe_result.get("files"), dict):
        raise AnsibleFilterError("files_to_write: the probe result has no 'files' (not a host_probe result?)")
    probed = probe_result["files"]
    selected = []
    for item in wanted or []:
        if not isinstance(item, dict) or not item.get("dest"):
            raise AnsibleFilterError("files_to_write: every wanted file needs a dest, got %r" % (item,))
        dest = item["dest"]
        if dest not in probed:
            raise AnsibleFilterError("files_to_write: the probe result has no entry for %s (add it to files)" % dest)
        if _needs_write(item, probed[dest]):
            selected.append(item)
    return selected


class FilterModule:
    def filters(self):
        return {"files_to_write": files_to_write}
