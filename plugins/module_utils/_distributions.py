# -*- coding: utf-8 -*-
# Copyright: Sophia platform team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The distributions sophia.platform supports: one table for every role of the collection.

Private to the collection (not a public API). Keyed on the distribution name and major
version as Ansible's facts give them (``distribution``, ``distribution_major_version``).
A release matches when its ``distribution_version`` is the entry's ``release`` or a point
release of it: Debian "12.11" matches "12"; Ubuntu "22.04" matches "22.04" but the interim
"22.10" (same major version) does not.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# Per release: the release string, its codename and the facts roles need.
#   cuda_repo: the directory of NVIDIA's CUDA repository for this release
#              (https://developer.download.nvidia.com/compute/cuda/repos/<cuda_repo>/).
SUPPORTED = {
    ("Debian", "12"): {"release": "12", "codename": "bookworm", "cuda_repo": "debian12"},
    ("Ubuntu", "22"): {"release": "22.04", "codename": "jammy", "cuda_repo": "ubuntu2204"},
    ("Ubuntu", "24"): {"release": "24.04", "codename": "noble", "cuda_repo": "ubuntu2404"},
}


def supported_names():
    """Human-readable names of the supported releases, e.g. ['Debian 12', 'Ubuntu 22.04']."""
    return ["%s %s" % (name, entry["release"]) for (name, _major), entry in sorted(SUPPORTED.items())]


def support(facts):
    """Look a host up in the table.

    ``facts`` is a host's ``ansible_facts`` (keys ``distribution``, ``distribution_version`` and,
    optionally, ``distribution_major_version``). Returns a dict: ``supported`` (bool), ``name``
    (what the host runs), ``data`` (the table entry plus ``distribution`` and ``major``; empty when
    not supported) and ``message`` (a sentence a person can act on).
    """
    facts = facts if isinstance(facts, dict) else {}
    distribution = str(facts.get("distribution") or "")
    version = str(facts.get("distribution_version") or "")
    major = str(facts.get("distribution_major_version") or version.split(".", maxsplit=1)[0])
    name = ("%s %s" % (distribution, version)).strip() or "an unknown distribution"
    entry = SUPPORTED.get((distribution, major))
    release = entry["release"] if entry else None
    if entry and (version == release or version.startswith(release + ".")):
        data = dict(entry, distribution=distribution, major=major)
        return {"supported": True, "name": name, "data": data,
                "message": "%s is supported by sophia.platform (as %s %s)." % (name, distribution, release)}
    return {"supported": False, "name": name, "data": {},
            "message": "%s is not supported by sophia.platform (supported: %s)." % (name, ", ".join(supported_names()))}
