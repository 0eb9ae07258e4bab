# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Sophia platform team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations


class ModuleDocFragment:
    # Options shared by the Namecheap modules. The argument spec that matches this text is
    # NAMECHEAP_ARGUMENT_SPEC in plugins/module_utils/_namecheap.py: change both together.
    DOCUMENTATION = r"""
options:
  api_user:
    description:
      - Namecheap API user. If not set, E(NAMECHEAP_API_USER) is used.
    type: str
  api_key:
    description:
      - Namecheap API key. If not set, E(NAMECHEAP_API_KEY) is used.
      - Keep it in an ansible-vault encrypted variable or in the environment. It is never logged or returned.
    type: str
  username:
    description:
      - The account the command acts on. If not set, E(NAMECHEAP_USERNAME) is used, then O(api_user).
    type: str
  client_ip:
    description:
      - The public IPv4 address the API requests leave from; it must be whitelisted in the account's API settings.
      - If not set, E(NAMECHEAP_CLIENT_IP) is used.
    type: str
  sandbox:
    description:
      - Use Namecheap's sandbox (C(https://api.sandbox.namecheap.com/xml.response)), which has its own account and key.
    type: bool
    default: false
  api_url:
    description:
      - Endpoint of the XML API; overrides O(sandbox). If not set, E(NAMECHEAP_API_URL) is used, then the
        production or sandbox endpoint.
      - Only C(https://) URLs are accepted, except C(http://) to a loopback address (tests).
    type: str
  api_timeout:
    description: Seconds to wait for an answer to one request (the connect timeout is 10 seconds).
    type: float
    default: 30.0
  api_retries:
    description:
      - How many times a request is retried after HTTP 429 or 5xx, a connection error or a timeout, with
        exponential backoff that honours C(Retry-After).
    type: int
    default: 3
requirements:
  - python >= 3.9
  - requests
  - urllib3 >= 2.0.0
  - defusedxml
notes:
  - The Namecheap modules belong to the action group C(sophia.platform.namecheap), so C(module_defaults) with
    C(group/sophia.platform.namecheap) sets these options once.
  - Host records can be managed only for domains that use Namecheap's own DNS servers.
"""

    PLATFORM = r"""
attributes:
  platform:
    support: full
    platforms: controller
    description: Runs on the control node and talks to the Namecheap API over HTTPS.
"""

    INFO_MODULE = r"""
attributes:
  check_mode:
    support: full
    description: Read-only; runs the same in check mode.
  diff_mode:
    support: none
    description: Changes nothing, so there is nothing to show.
"""
