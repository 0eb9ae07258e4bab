# Copyright: Sophia platform team
# Apache License 2.0 (see LICENSE)
"""Jinja2 test: is a string a usable OpenSSH public key?"""

from __future__ import annotations

DOCUMENTATION = r"""
name: ssh_public_key
author: Sophia platform team
version_added: 0.1.0
short_description: Is a string a valid OpenSSH public key of an accepted type
description:
  - True when the value is one line C(<type> <base64> [comment]) whose decoded blob names the same
    key type, the type is ed25519, ECDSA, RSA or a security-key form of ed25519/ECDSA, and an RSA key
    has at least O(min_rsa_bits) bits.
  - authorized_keys options (C(from=...), C(command=...)) are not accepted.
options:
  _input:
    description: The key line.
    type: str
    required: true
  min_rsa_bits:
    description: Smallest RSA modulus accepted.
    type: int
    default: 3072
"""

EXAMPLES = r"""
- name: Refuse a malformed key
  ansible.builtin.assert:
    that: key is sophia.platform.ssh_public_key
"""

RETURN = r"""
_value:
  description: Whether the key is valid and accepted.
  type: bool
"""

import base64
import binascii
import struct

ACCEPTED_TYPES = frozenset(
    (
        "ssh-ed25519",
        "ssh-rsa",
        "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp521",
        "sk-ssh-ed25519@openssh.com",
        "sk-ecdsa-sha2-nistp256@openssh.com",
    )
)


def _read_string(blob, offset):
    """Read one SSH wire-format string (uint32 length, then bytes)."""
    if offset + 4 > len(blob):
        raise ValueError("truncated key blob")
    (length,) = struct.unpack(">I", blob[offset:offset + 4])
    end = offset + 4 + length
    if end > len(blob):
        raise ValueError("truncated key blob")
    return blob[offset + 4:end], end


def rsa_modulus_bits(blob):
    """Bit length of the modulus of an ssh-rsa wire blob."""
    _key_type, offset = _read_string(blob, 0)
    _exponent, offset = _read_string(blob, offset)
    modulus, _offset = _read_string(blob, offset)
    return int.from_bytes(modulus, "big").bit_length()


def ssh_public_key(value, min_rsa_bits=3072):
    if not isinstance(value, str) or "\n" in value.strip():
        return False
    fields = value.strip().split()
    if len(fields) < 2 or fields[0] not in ACCEPTED_TYPES:
        return False
    try:
        blob = base64.b64decode(fields[1], validate=True)
        embedded_type, _offset = _read_string(blob, 0)
        if embedded_type.decode("ascii") != fields[0]:
            return False
        if fields[0] == "ssh-rsa" and rsa_modulus_bits(blob) < min_rsa_bits:
            return False
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return False
    return True


class TestModule:
    def tests(self):
        return {"ssh_public_key": ssh_public_key}
