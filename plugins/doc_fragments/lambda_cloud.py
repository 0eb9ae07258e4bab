# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Sophia platform team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations


class ModuleDocFragment:
    # Options shared by every Lambda Cloud module. The argument spec that matches
    # this text is LAMBDA_CLOUD_ARGUMENT_SPEC in plugins/module_utils/_lambda_cloud.py:
    # change both together.
    DOCUMENTATION = r"""
options:
  api_key:
    description:
      - Lambda Cloud API key, sent as a Bearer token.
      - If not set, the value of the E(LAMBDA_API_KEY) environment variable is used.
      - Keep it in an ansible-vault encrypted variable or in the environment; never write it
        in a playbook. It is never logged or returned.
    type: str
  api_url:
    description:
      - Base URL of the Lambda Cloud API v1.
      - If not set, the value of the E(LAMBDA_API_URL) environment variable is used, then the default.
      - Must be C(https://); plain C(http://) is refused unless the host is loopback
        (C(127.0.0.0/8), C(::1), C(localhost)), because the API key is sent with every request.
    type: str
    default: https://cloud.lambda.ai/api/v1
  api_timeout:
    description:
      - Seconds to wait for an answer to one request (the connect timeout is fixed at 10 seconds).
    type: float
    default: 30.0
  api_retries:
    description:
      - How many times a request is retried after HTTP 429 or 5xx, a connection error or
        a timeout, with exponential backoff that honours C(Retry-After).
      - Launch, restart and terminate requests (C(POST)) are retried only after HTTP 429,
        because repeating them after a 5xx could act twice.
      - The retries of one request stop after 300 seconds in total.
    type: int
    default: 5
requirements:
  - python >= 3.9
  - requests
  - urllib3 >= 2.0.0 (the version requests pulls in may be older; an older one is refused with this message)
notes:
  - All Lambda Cloud modules belong to the action group C(sophia.platform.lambda_cloud), so
    C(module_defaults) with C(group/sophia.platform.lambda_cloud) sets these options once.
"""

    # Attributes every Lambda Cloud module shares.
    PLATFORM = r"""
attributes:
  platform:
    support: full
    platforms: controller
    description: Runs on the control node and talks to the Lambda Cloud API over HTTPS.
"""

    # Attributes of the read-only *_info modules.
    INFO_MODULE = r"""
attributes:
  check_mode:
    support: full
    description: Read-only; runs the same in check mode.
  diff_mode:
    support: none
    description: Changes nothing, so there is nothing to show.
"""
