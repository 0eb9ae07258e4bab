# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Sophia platform team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations


class ModuleDocFragment:
    # Options shared by the Vercel modules. The argument spec that matches this text is
    # VERCEL_ARGUMENT_SPEC in plugins/module_utils/_vercel.py: change both together.
    DOCUMENTATION = r"""
options:
  token:
    description:
      - Vercel access token, sent as a Bearer token. If not set, E(VERCEL_TOKEN) is used.
      - Keep it in an ansible-vault encrypted variable or in the environment. It is never logged or returned.
    type: str
  team_id:
    description:
      - The team that owns the project (C(teamId), for example C(team_...)). If not set, E(VERCEL_TEAM_ID) is
        used; without it, requests act on the token owner's personal account.
    type: str
  project:
    description: The project, by id (C(prj_...)) or name.
    type: str
    required: true
  api_url:
    description:
      - Base URL of the Vercel REST API. If not set, E(VERCEL_API_URL) is used, then the default.
      - Only C(https://) URLs are accepted, except C(http://) to a loopback address (tests).
    type: str
    default: https://api.vercel.com
  api_timeout:
    description: Seconds to wait for an answer to one request (the connect timeout is 10 seconds).
    type: float
    default: 30.0
  api_retries:
    description:
      - How many times a request is retried after HTTP 429 or 5xx, a connection error or a timeout, with
        exponential backoff that honours C(Retry-After). Creating requests (C(POST)) are retried after 429 only.
    type: int
    default: 3
requirements:
  - python >= 3.9
  - requests
  - urllib3 >= 2.0.0
notes:
  - The Vercel modules belong to the action group C(sophia.platform.vercel), so C(module_defaults) with
    C(group/sophia.platform.vercel) sets these options once.
"""

    PLATFORM = r"""
attributes:
  platform:
    support: full
    platforms: controller
    description: Runs on the control node and talks to the Vercel REST API over HTTPS.
"""
