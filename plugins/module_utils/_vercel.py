# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Sophia platform team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

"""Vercel REST API client (project environment variables and domains) for the vercel_* modules.

This is a private helper of sophia.platform, not a public API.

Endpoints, as documented at https://vercel.com/docs/rest-api (read 2026-11-29):

* ``GET /v9/projects/{idOrName}``                       find a project
* ``GET /v10/projects/{idOrName}/env?decrypt=true``      list its environment variables
* ``POST /v10/projects/{idOrName}/env``                  create one (answer ``{created, failed}``)
* ``PATCH /v9/projects/{idOrName}/env/{id}``             edit one
* ``DELETE /v9/projects/{idOrName}/env/{id}``            remove one
* ``GET /v9/projects/{idOrName}/domains/{domain}``       get a project domain (404 when absent)
* ``POST /v10/projects/{idOrName}/domains``              add one (``verified`` + ``verification``)
* ``PATCH /v9/projects/{idOrName}/domains/{domain}``     edit its redirect
* ``DELETE /v9/projects/{idOrName}/domains/{domain}``    remove it

Every call carries ``teamId`` when a team is set. Errors are ``{"error": {"code", "message"}}``
(https://vercel.com/docs/rest-api/errors).
"""

from __future__ import annotations

import copy
import json
from urllib.parse import quote

from ansible.module_utils.basic import env_fallback

from ansible_collections.sophia.platform.plugins.module_utils._edge_http import (
    HAS_REQUESTS,
    REQUESTS_IMPORT_ERROR,
    EdgeApiError,
    EdgeHttpClient,
    fail_from_error,
)

DEFAULT_API_URL = "https://api.vercel.com"
TARGETS = ("production", "preview", "development")
ENV_TYPES = ("encrypted", "sensitive", "plain")

VERCEL_ARGUMENT_SPEC = dict(
    token=dict(type="str", no_log=True, fallback=(env_fallback, ["VERCEL_TOKEN"])),
    team_id=dict(type="str", fallback=(env_fallback, ["VERCEL_TEAM_ID"])),
    project=dict(type="str", required=True),
    api_url=dict(type="str", default=DEFAULT_API_URL, fallback=(env_fallback, ["VERCEL_API_URL"])),
    api_timeout=dict(type="float", default=30.0),
    api_retries=dict(type="int", default=3),
)

_HINTS = {
    "forbidden": "The token was refused or lacks access: check VERCEL_TOKEN / token, and team_id when the "
                 "project belongs to a team (a token of another scope sees no project).",
    "not_found": "Check project (id or name) and team_id: without team_id, requests act on the personal account.",
    "rate_limited": "Vercel rate-limits each endpoint; wait until the reset time and run again.",
    "bad_request": None,
    "internal_server_error": "Vercel is failing; try again later.",
}


def vercel_argument_spec(**options):
    spec = copy.deepcopy(VERCEL_ARGUMENT_SPEC)
    spec.update(options)
    return spec


class VercelError(EdgeApiError):
    provider = "Vercel API"


class VercelClient(EdgeHttpClient):
    error_class = VercelError

    def __init__(self, token, team_id=None, api_url=DEFAULT_API_URL, **kwargs):
        if not token or not str(token).strip():
            raise VercelError("No Vercel token: set the environment variable VERCEL_TOKEN or the token option "
                              "(for example from an ansible-vault encrypted variable).",
                              code="client/missing-token",
                              hint="Create a token under Account Settings > Tokens, scoped to the project's team.")
        self._token = str(token).strip()
        self.team_id = str(team_id).strip() if team_id else None
        super().__init__(api_url or DEFAULT_API_URL, secrets=[self._token], **kwargs)
        self.session.headers.update({"Authorization": "Bearer %s" % self._token, "Accept": "application/json"})

    def __repr__(self):
        return "VercelClient(api_url=%r, team_id=%r)" % (self.api_url, self.team_id)

    def request(self, method, path, body=None, params=None):
        query = dict(params or {})
        if self.team_id:
            query["teamId"] = self.team_id
        kwargs = dict(params=query)
        if body is not None:
            kwargs["data"] = json.dumps(body)
            kwargs["headers"] = {"Content-Type": "application/json"}
        response = self.send(method, self.api_url + path, **kwargs)
        status = response.status_code
        try:
            data = response.json() if response.content else {}
        except ValueError:
            data = None
        if 200 <= status < 300:
            if data is None:
                raise VercelError("%s %s answered HTTP %s with a body that is not JSON." % (method, path, status),
                                  status=status, code="client/invalid-response")
            return data
        err = data.get("error") if isinstance(data, dict) and isinstance(data.get("error"), dict) else {}
        code = err.get("code")
        message = err.get("message") or ("HTTP %s %s" % (status, response.reason or "")).strip()
        hint = _HINTS.get(code)
        if code == "rate_limited" and isinstance(err.get("limit"), dict) and err["limit"].get("reset"):
            hint = "%s (reset at Unix time %s)" % (hint, err["limit"]["reset"])
        raise VercelError(self.redact(message), status=status, code=code or "client/http-%s" % status,
                          hint=hint)

    # -- projects ---------------------------------------------------------------------

    def get_project(self, project):
        return self.request("GET", "/v9/projects/%s" % _seg(project))

    def list_env(self, project):
        data = self.request("GET", "/v10/projects/%s/env" % _seg(project), params={"decrypt": "true"})
        envs = data.get("envs") if isinstance(data, dict) else data
        if not isinstance(envs, list):
            raise VercelError("The environment variable list is not a list.", code="client/invalid-response")
        return envs

    def create_env(self, project, body):
        data = self.request("POST", "/v10/projects/%s/env" % _seg(project), body=body)
        failed = data.get("failed") or []
        if failed:
            err = (failed[0] or {}).get("error") or {}
            raise VercelError(self.redact(err.get("message") or "The variable was not created."),
                              status=400, code=err.get("code") or "client/env-failed")
        created = data.get("created")
        return created[0] if isinstance(created, list) and created else created

    def edit_env(self, project, env_id, body):
        return self.request("PATCH", "/v9/projects/%s/env/%s" % (_seg(project), _seg(env_id)), body=body)

    def delete_env(self, project, env_id):
        return self.request("DELETE", "/v9/projects/%s/env/%s" % (_seg(project), _seg(env_id)))

    # -- domains ----------------------------------------------------------------------

    def get_domain(self, project, domain):
        try:
            return self.request("GET", "/v9/projects/%s/domains/%s" % (_seg(project), _seg(domain)))
        except VercelError as exc:
            if exc.status == 404:
                return None
            raise

    def add_domain(self, project, body):
        return self.request("POST", "/v10/projects/%s/domains" % _seg(project), body=body)

    def edit_domain(self, project, domain, body):
        return self.request("PATCH", "/v9/projects/%s/domains/%s" % (_seg(project), _seg(domain)), body=body)

    def remove_domain(self, project, domain):
        return self.request("DELETE", "/v9/projects/%s/domains/%s" % (_seg(project), _seg(domain)))


def _seg(value):
    return quote(str(value), safe="")


def client_from_module(module):
    from ansible.module_utils.basic import missing_required_lib

    if not HAS_REQUESTS:
        module.fail_json(msg=missing_required_lib("requests"), exception=str(REQUESTS_IMPORT_ERROR))
    p = module.params
    try:
        return VercelClient(
            token=p.get("token"), team_id=p.get("team_id"), api_url=p.get("api_url"),
            read_timeout=p.get("api_timeout") or 30.0,
            retries=p.get("api_retries") if p.get("api_retries") is not None else 3,
            user_agent="sophia.platform/%s" % module._name,
        )
    except VercelError as exc:
        fail_from_error(module, exc)
