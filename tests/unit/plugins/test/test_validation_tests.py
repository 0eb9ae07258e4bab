"""The Jinja2 tests the roles use to refuse bad input."""

import base64
import struct

import pytest

from ansible_collections.sophia.platform.plugins.test.linux_username import linux_username
from ansible_collections.sophia.platform.plugins.test.ssh_public_key import ssh_public_key
from ansible_collections.sophia.platform.plugins.test.timezone_name import timezone_name


def wire(*parts):
    return b"".join(struct.pack(">I", len(p)) + p for p in parts)


def key_line(key_type, *parts, comment="ops@example"):
    return "%s %s %s" % (key_type, base64.b64encode(wire(key_type.encode(), *parts)).decode(), comment)


ED25519 = key_line("ssh-ed25519", b"\x01" * 32)
RSA_4096 = key_line("ssh-rsa", b"\x01\x00\x01", b"\x00" + b"\xc3" * 512)
RSA_2048 = key_line("ssh-rsa", b"\x01\x00\x01", b"\x00" + b"\xc3" * 256)
ECDSA = key_line("ecdsa-sha2-nistp256", b"nistp256", b"\x04" + b"\x02" * 64)


@pytest.mark.parametrize("key", [ED25519, RSA_4096, ECDSA, ED25519.rsplit(" ", 1)[0]])
def test_accepted_keys(key):
    assert ssh_public_key(key)


@pytest.mark.parametrize("key", [
    RSA_2048,                                            # too short
    "ssh-ed25519 AAAAnotakey ops",                       # not base64 of a key
    "ssh-dss " + ED25519.split()[1],                     # DSA is refused
    "ssh-rsa " + ED25519.split()[1],                     # type and blob disagree
    "from=\"10.0.0.1\" " + ED25519,                      # options are not a key
    ED25519 + "\n" + ED25519,                            # two keys in one string
    "ssh-ed25519",                                       # no blob
    "",
    None,
    42,
])
def test_refused_keys(key):
    assert not ssh_public_key(key)


def test_rsa_minimum_is_a_parameter():
    assert ssh_public_key(RSA_2048, min_rsa_bits=2048)


@pytest.mark.parametrize("name, valid", [
    ("ops", True), ("_svc", True), ("sophia-admins", True), ("a" * 32, True),
    ("a" * 33, False), ("Ops", False), ("1ops", False), ("bad user", False), ("", False), (None, False),
])
def test_linux_username(name, valid):
    assert linux_username(name) is valid


@pytest.mark.parametrize("zone, valid", [
    ("Etc/UTC", True), ("Europe/Berlin", True), ("America/Los_Angeles", True),
    ("Mars/Olympus", False), ("utc ", False), ("", False), (None, False),
])
def test_timezone_name(zone, valid):
    assert timezone_name(zone) is valid
