# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Sophia platform team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

"""Action plugin of sophia.platform.lambda_ssh_key: hides a result that carries a private key.

A module cannot mark one of its own return values as secret: registering the key in
``no_log_values`` makes ansible-core replace it with ``********`` in the result itself (the
caller would never get the key), and a ``_ansible_no_log`` key returned by a module is
removed with a warning.  An action plugin may set ``_ansible_no_log`` on the result: every
callback and log then shows the result censored, while ``register`` still receives the key.
"""

from __future__ import annotations

from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):
    _supports_check_mode = True
    _supports_async = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        wrap_async = self._task.async_val and not self._connection.has_native_async
        result.update(self._execute_module(task_vars=task_vars, wrap_async=wrap_async))
        if result.get("private_key"):
            result["_ansible_no_log"] = True
        return result
