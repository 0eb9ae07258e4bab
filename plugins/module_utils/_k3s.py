# Copyright: Sophia platform team
# Apache License 2.0 (see LICENSE)
"""Private helpers for the K3s roles (not a public API): release files per
architecture, sha256 lists, and the check of a K3s config against a flag table."""

from __future__ import annotations

import re

try:
    from urllib.parse import quote
except ImportError:  # pragma: no cover
    from urllib import quote

# Ansible's architecture fact -> the name K3s's release files use.
ARCHITECTURES = {
    "x86_64": "amd64",
    "amd64": "amd64",
    "aarch64": "arm64",
    "arm64": "arm64",
}

_SHA256_LINE = re.compile(r"^([0-9a-fA-F]{64})\s+\*?(\S+)\s*$")


def release_files(section, version, architecture):
    """The files of one K3s release for one host architecture, from the
    manifest's k3s section. Raises ValueError naming what is listed."""
    releases = (section or {}).get("releases") or {}
    if version not in releases:
        raise ValueError("K3s %s is not in the artifact manifest (listed: %s)"
                         % (version, ", ".join(sorted(releases)) or "none"))
    release = releases[version]
    arch = ARCHITECTURES.get(str(architecture))
    known = release.get("architectures") or {}
    if arch is None or arch not in known:
        raise ValueError("K3s %s has no release files for architecture %r (listed: %s)"
                         % (version, architecture, ", ".join(sorted(known)) or "none"))
    files = dict(known[arch])
    files["arch"] = arch
    files["version"] = version
    files["base_url"] = release["base_url"].replace("{version}", quote(version, safe=""))
    return files


def parse_sha256_list(text):
    """{file name: sha256} from sha256sum output. A malformed line is an error:
    a list that cannot be read must never count as verified."""
    result = {}
    for number, line in enumerate(str(text).splitlines(), start=1):
        if not line.strip():
            continue
        match = _SHA256_LINE.match(line)
        if not match:
            raise ValueError("line %d of the sha256 list is not '<sha256>  <file>': %r" % (number, line[:120]))
        name = match.group(2)
        if name.startswith("./"):
            name = name[2:]
        result[name] = match.group(1).lower()
    if not result:
        raise ValueError("the sha256 list is empty")
    return result


def unknown_flags(config, flags, forbidden=()):
    """Keys of a K3s config dict that the flag table does not list, or that
    another role owns. A trailing '+' (append in config.yaml.d) is allowed."""
    allowed = set(str(flag).lstrip("-") for flag in flags)
    owned = set(forbidden)
    problems = []
    for key in config or {}:
        name = str(key)
        base = name[:-1] if name.endswith("+") else name
        if name in owned:
            problems.append("%s (owned by another role)" % name)
        elif base not in allowed:
            problems.append("%s (not a flag of this K3s release)" % name)
    return sorted(problems)
