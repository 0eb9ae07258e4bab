#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Sophia platform team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: host_probe
short_description: Read, in one round trip, the host state a role manages
version_added: 0.1.0
description:
  - Reads installed packages, file attributes and checksums, small text files, systemd unit states,
    sysctl values, users and groups of the managed host in one Python process, so a role that changes
    nothing costs one round trip instead of one task per item.
  - Always returns the container manager the host runs under, whether systemd is running and the loaded
    kernel modules.
  - Only reads; it never changes the host and always returns C(changed=false).
author:
  - Sophia platform team (@sophia-platform)
options:
  packages:
    description:
      - Debian package names (without an architecture qualifier) to look up with one C(dpkg-query -W) call.
      - "Only packages dpkg has installed are returned in RV(packages): status C(install ok installed), and also
        C(hold ok installed) (held with C(apt-mark hold)) or C(deinstall ok installed) (selected for removal,
        still installed)."
    type: list
    elements: str
    default: []
  files:
    description:
      - Paths whose attributes are returned in RV(files). Symbolic links are not followed.
    type: list
    elements: str
    default: []
  read:
    description:
      - Paths of small UTF-8 text files (at most 256 KiB) whose content is returned in RV(contents).
      - The module fails, naming the path, for a file that is larger, not a regular file or not UTF-8.
    type: list
    elements: str
    default: []
  services:
    description:
      - systemd units whose states are returned in RV(services), read with one C(systemctl show) call.
      - A name without a unit suffix gets C(.service); the key in RV(services) stays as given.
    type: list
    elements: str
    default: []
  sysctls:
    description:
      - Kernel parameters (dotted names such as C(net.ipv4.ip_forward)) read from C(/proc/sys).
    type: list
    elements: str
    default: []
  users:
    description:
      - Local user names returned in RV(users).
    type: list
    elements: str
    default: []
  groups:
    description:
      - Local group names returned in RV(groups).
    type: list
    elements: str
    default: []
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: The module only reads; it behaves the same in check mode.
  diff_mode:
    support: none
  platform:
    platforms: debian
notes:
  - The C(dpkg-query) and C(systemctl show) parsers are unit-tested on output recorded from the tools;
    see C(tests/data/host_probe/README.md) in the collection.
seealso:
  - module: ansible.builtin.stat
  - module: ansible.builtin.package_facts
  - module: ansible.builtin.service_facts
"""

EXAMPLES = r"""
- name: Read the state this role manages (one round trip)
  sophia.platform.host_probe:
    packages: [chrony, sudo]
    files: [/etc/chrony/chrony.conf]
    read: [/etc/hostname]
    services: [chrony]
    sysctls: [net.ipv4.ip_forward]
    users: [ubuntu]
    groups: [sudo]
  register: common_probe
  check_mode: false

- name: Install the missing packages in one transaction
  ansible.builtin.apt:
    name: "{{ ['chrony', 'sudo'] | reject('in', common_probe.packages) }}"
  when: "['chrony', 'sudo'] | reject('in', common_probe.packages) | length > 0"
"""

RETURN = r"""
packages:
  description: Installed packages among O(packages), name to version. Packages not installed are absent.
  returned: always
  type: dict
  sample: {"chrony": "4.3-2+deb12u3"}
files:
  description:
    - One entry per path of O(files) with C(exists), C(type) (V(file), V(directory), V(link), V(other)),
      C(mode) (four-digit octal string), C(owner), C(group), C(size), C(checksum) (SHA-1 of a regular file)
      and C(target) (where a symbolic link points, as C(readlink) reads it).
    - For a missing path C(exists) is V(false) and every other key V(null). C(checksum) is V(null) for
      anything but a regular file, C(target) for anything but a link.
  returned: always
  type: dict
  sample: {"/etc/chrony/chrony.conf": {"exists": true, "type": "file", "mode": "0644", "owner": "root",
           "group": "root", "size": 412, "checksum": "3b0f4c0a8e4b6f9cbd1a4e5c2e3f1a0b9c8d7e6f", "target": null}}
contents:
  description: Text of each path of O(read); V(null) when the path does not exist.
  returned: always
  type: dict
  sample: {"/etc/hostname": "sophia-master-01\n"}
services:
  description:
    - One entry per unit of O(services) with C(load_state), C(active_state), C(sub_state) and
      C(unit_file_state) as C(systemctl show) reports them (C(unit_file_state) V(null) when empty).
    - Every state is V(null) when RV(systemd) is V(false).
  returned: always
  type: dict
  sample: {"chrony": {"load_state": "loaded", "active_state": "active", "sub_state": "running",
                      "unit_file_state": "enabled"}}
sysctls:
  description: Value of each O(sysctls) entry with whitespace collapsed to single spaces; V(null) when absent.
  returned: always
  type: dict
  sample: {"net.ipv4.ip_forward": "1"}
users:
  description:
    - One entry per name of O(users) with C(exists), C(uid), C(gid), C(home), C(shell), C(comment) (the GECOS
      field), C(password_locked) (the shadow password starts with C(!) or C(*)) and C(password_expire_max)
      (the shadow maximum password age in days, V(-1) when the field is empty, as M(ansible.builtin.user)
      counts it). The two shadow keys are V(null) when the shadow file or the user's line in it cannot be
      read. A missing user has C(exists=false) and every other key V(null).
  returned: always
  type: dict
  sample: {"ubuntu": {"exists": true, "uid": 1000, "gid": 1000, "home": "/home/ubuntu",
                      "shell": "/bin/bash", "comment": "", "password_locked": true, "password_expire_max": -1}}
groups:
  description:
    - One entry per name of O(groups) with C(exists), C(gid) and C(members) (the group's member list).
      A missing group has C(exists=false), C(gid=null) and C(members=[]).
  returned: always
  type: dict
  sample: {"sudo": {"exists": true, "gid": 27, "members": ["ubuntu"]}}
container:
  description:
    - The container manager the host runs under, V(none) on a machine or VM. The content of
      C(/run/systemd/container), else V(podman) when C(/run/.containerenv) exists, else V(docker) when
      C(/.dockerenv) exists.
  returned: always
  type: str
  sample: podman
systemd:
  description: Whether systemd runs the host (C(/run/systemd/system) is a directory and C(systemctl) is installed).
  returned: always
  type: bool
  sample: true
kernel_modules:
  description: Sorted names of the loaded kernel modules from C(/proc/modules); empty when it cannot be read.
  returned: always
  type: list
  elements: str
  sample: ["br_netfilter", "overlay"]
"""

import grp
import hashlib
import os
import pwd
import stat

from ansible.module_utils.basic import AnsibleModule

MAX_READ = 256 * 1024
SERVICE_PROPERTIES = ("LoadState", "ActiveState", "SubState", "UnitFileState")
UNIT_SUFFIXES = (".service", ".socket", ".target", ".timer", ".mount", ".automount", ".swap", ".path",
                 ".slice", ".scope", ".device")


class ProbeError(Exception):
    """A probe could not read what it was asked for; the message names the item."""


def parse_dpkg_query(text):
    """Installed packages from `dpkg-query -W -f '${Package}\\t${Status}\\t${Version}\\n'` output."""
    installed = {}
    for line in text.splitlines():
        fields = line.split("\t")
        if len(fields) != 3:
            continue
        name, status, version = fields
        # "want eflag status": held or deselected packages are still installed; a
        # package that needs reinstalling (eflag reinstreq) is not in place.
        words = status.split()
        if len(words) == 3 and words[1:] == ["ok", "installed"]:
            installed[name] = version
    return installed


def probe_packages(module, names):
    if not names:
        return {}
    dpkg_query = module.get_bin_path("dpkg-query")
    if dpkg_query is None:
        raise ProbeError("dpkg-query not found: the packages option needs a Debian or Ubuntu host")
    rc, out, err = module.run_command(
        [dpkg_query, "-W", "-f", "${Package}\t${Status}\t${Version}\n", "--"] + list(names),
        environ_update={"LC_ALL": "C"},
    )
    # rc 1 only means some names are unknown to dpkg; those are simply not installed.
    if rc not in (0, 1):
        raise ProbeError("dpkg-query failed (rc %d): %s" % (rc, err.strip()))
    wanted = set(names)
    return dict((name, version) for name, version in parse_dpkg_query(out).items() if name in wanted)


def _type_of(mode):
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "directory"
    if stat.S_ISLNK(mode):
        return "link"
    return "other"


def _owner(uid):
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _group(gid):
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def sha1_of(path):
    digest = hashlib.sha1()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(65536), b""):
            digest.update(block)
    return digest.hexdigest()


def probe_file(path):
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return {"exists": False, "type": None, "mode": None, "owner": None, "group": None, "size": None,
                "checksum": None, "target": None}
    except OSError as exc:
        raise ProbeError("cannot stat %s: %s" % (path, exc))
    kind = _type_of(st.st_mode)
    checksum = None
    target = None
    if kind == "link":
        try:
            target = os.readlink(path)
        except OSError as exc:
            raise ProbeError("cannot read the link %s: %s" % (path, exc))
    if kind == "file":
        try:
            checksum = sha1_of(path)
        except OSError as exc:
            raise ProbeError("cannot read %s: %s" % (path, exc))
    return {
        "exists": True,
        "type": kind,
        "mode": "%04o" % stat.S_IMODE(st.st_mode),
        "owner": _owner(st.st_uid),
        "group": _group(st.st_gid),
        "size": st.st_size,
        "checksum": checksum,
        "target": target,
    }


def read_text(path, limit=MAX_READ):
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ProbeError("cannot stat %s: %s" % (path, exc))
    if not stat.S_ISREG(st.st_mode):
        raise ProbeError("%s is not a regular file" % path)
    if st.st_size > limit:
        raise ProbeError("%s is %d bytes, more than the %d a probe reads" % (path, st.st_size, limit))
    try:
        with open(path, "rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise ProbeError("cannot read %s: %s" % (path, exc))
    if len(data) > limit:
        raise ProbeError("%s is more than the %d bytes a probe reads" % (path, limit))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProbeError("%s is not UTF-8 text: %s" % (path, exc))


def unit_name(name):
    return name if name.endswith(UNIT_SUFFIXES) else name + ".service"


def parse_systemctl_show(text, count):
    """States of `count` units from `systemctl show --property=...` output, in the order asked."""
    blocks = []
    current = {}
    for line in text.splitlines():
        if not line.strip():
            if current:
                blocks.append(current)
                current = {}
            continue
        key, sep, value = line.partition("=")
        if sep:
            current[key] = value
    if current:
        blocks.append(current)
    if len(blocks) != count:
        raise ProbeError("systemctl show returned %d unit blocks for %d units" % (len(blocks), count))
    return [
        {
            "load_state": block.get("LoadState") or None,
            "active_state": block.get("ActiveState") or None,
            "sub_state": block.get("SubState") or None,
            "unit_file_state": block.get("UnitFileState") or None,
        }
        for block in blocks
    ]


def probe_services(module, names, systemd):
    if not names:
        return {}
    if not systemd:
        empty = {"load_state": None, "active_state": None, "sub_state": None, "unit_file_state": None}
        return dict((name, dict(empty)) for name in names)
    # One block per distinct unit: systemctl answers in argument order, and an alias reports the
    # target's Id, so blocks are matched by position, not by Id.
    units = []
    for name in names:
        unit = unit_name(name)
        if unit not in units:
            units.append(unit)
    rc, out, err = module.run_command(
        [module.get_bin_path("systemctl", required=True), "show",
         "--property=Id," + ",".join(SERVICE_PROPERTIES), "--"] + units,
        environ_update={"LC_ALL": "C"},
    )
    if rc != 0:
        raise ProbeError("systemctl show failed (rc %d): %s" % (rc, err.strip()))
    states = dict(zip(units, parse_systemctl_show(out, len(units))))
    return dict((name, states[unit_name(name)]) for name in names)


def read_sysctls(names, proc_sys="/proc/sys"):
    values = {}
    for name in names:
        path = os.path.join(proc_sys, *name.split("."))
        try:
            with open(path) as handle:
                values[name] = " ".join(handle.read().split())
        except OSError:
            values[name] = None
    return values


def _shadow_entries(path):
    """user -> (locked, maximum age), or None when the shadow file cannot be read (not root)."""
    try:
        with open(path) as handle:
            lines = handle.read().splitlines()
    except OSError:
        return None
    entries = {}
    for line in lines:
        fields = line.split(":")
        if len(fields) >= 2:
            max_age = fields[4] if len(fields) > 4 else ""
            try:
                max_age = int(max_age) if max_age else -1
            except ValueError:
                max_age = None
            entries[fields[0]] = (fields[1].startswith(("!", "*")), max_age)
    return entries


def probe_users(names, shadow_path="/etc/shadow"):
    if not names:
        return {}
    shadow = _shadow_entries(shadow_path)
    users = {}
    for name in names:
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            users[name] = {"exists": False, "uid": None, "gid": None, "home": None, "shell": None,
                           "comment": None, "password_locked": None, "password_expire_max": None}
            continue
        users[name] = {
            "exists": True,
            "uid": entry.pw_uid,
            "gid": entry.pw_gid,
            "home": entry.pw_dir,
            "shell": entry.pw_shell,
            "comment": entry.pw_gecos,
            "password_locked": (shadow or {}).get(name, (None, None))[0],
            "password_expire_max": (shadow or {}).get(name, (None, None))[1],
        }
    return users


def probe_groups(names):
    groups = {}
    for name in names:
        try:
            entry = grp.getgrnam(name)
        except KeyError:
            groups[name] = {"exists": False, "gid": None, "members": []}
            continue
        groups[name] = {"exists": True, "gid": entry.gr_gid, "members": list(entry.gr_mem)}
    return groups


def detect_container(root="/"):
    try:
        with open(os.path.join(root, "run/systemd/container")) as handle:
            name = handle.read().strip()
        if name:
            return name
    except OSError:
        pass
    if os.path.exists(os.path.join(root, "run/.containerenv")):
        return "podman"
    if os.path.exists(os.path.join(root, ".dockerenv")):
        return "docker"
    return "none"


def kernel_modules(path="/proc/modules"):
    try:
        with open(path) as handle:
            return sorted(line.split()[0] for line in handle if line.strip())
    except OSError:
        return []


def probe(module, params, root="/"):
    systemd = os.path.isdir(os.path.join(root, "run/systemd/system")) and module.get_bin_path("systemctl") is not None
    return {
        "packages": probe_packages(module, params["packages"]),
        "files": dict((path, probe_file(path)) for path in params["files"]),
        "contents": dict((path, read_text(path)) for path in params["read"]),
        "services": probe_services(module, params["services"], systemd),
        "sysctls": read_sysctls(params["sysctls"], os.path.join(root, "proc/sys")),
        "users": probe_users(params["users"], os.path.join(root, "etc/shadow")),
        "groups": probe_groups(params["groups"]),
        "container": detect_container(root),
        "systemd": systemd,
        "kernel_modules": kernel_modules(os.path.join(root, "proc/modules")),
    }


def main():
    list_of_str = dict(type="list", elements="str", default=[])
    module = AnsibleModule(
        argument_spec=dict(
            packages=list_of_str,
            files=dict(list_of_str),
            read=dict(list_of_str),
            services=dict(list_of_str),
            sysctls=dict(list_of_str),
            users=dict(list_of_str),
            groups=dict(list_of_str),
        ),
        supports_check_mode=True,
    )
    try:
        result = probe(module, module.params)
    except ProbeError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
