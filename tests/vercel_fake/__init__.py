"""A fake Vercel REST API for tests: a real HTTP server on 127.0.0.1.

Follows the endpoint pages of https://vercel.com/docs/rest-api as read on 2026-11-29:

* projects/find-a-project-by-id-or-name                         GET    /v9/projects/{idOrName}
* projects/retrieve-the-environment-variables-of-a-project-by-id-or-name
                                                                GET    /v10/projects/{idOrName}/env (decrypt)
* projects/create-one-or-more-environment-variables             POST   /v10/projects/{idOrName}/env
  (answer ``{"created": ..., "failed": [{"error": {...}}]}``; a clash with an existing variable of
  the same key and an overlapping target is reported in ``failed``)
* projects/edit-an-environment-variable                         PATCH  /v9/projects/{idOrName}/env/{id}
* projects/remove-an-environment-variable                       DELETE /v9/projects/{idOrName}/env/{id}
* projects/get-a-project-domain                                 GET    /v9/projects/{idOrName}/domains/{domain}
* projects/add-a-domain-to-a-project                            POST   /v10/projects/{idOrName}/domains
  ("If the domain already exists on the project, the request will fail with a 400 status code";
  an unverified domain comes back with ``verified: false`` and its ``verification`` challenges)
* projects/update-a-project-domain                              PATCH  /v9/projects/{idOrName}/domains/{domain}
* projects/remove-a-domain-from-a-project                       DELETE /v9/projects/{idOrName}/domains/{domain}
* errors (https://vercel.com/docs/rest-api/errors): ``{"error": {"code", "message"}}`` with
  forbidden (403), not_found (404), bad_request (400), rate_limited (429, with ``limit``),
  internal_server_error (500).

Every call takes ``teamId`` (query) and a Bearer token. A project of a team is found only with
that team's id; a token that is not a member of the team gets 403. ``sensitive`` values are
never returned, also with ``decrypt=true``; ``encrypted`` values only with it.
Faults: :meth:`FakeVercel.fail_next`. Only 127.0.0.1 is ever bound.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler

from loopback_server import LoopbackServer

TARGETS = ("production", "preview", "development")
TYPES = ("system", "secret", "encrypted", "plain", "sensitive")


class ApiError(Exception):
    def __init__(self, status, code, message, **extra):
        super().__init__(message)
        self.status = status
        self.body = {"error": dict(code=code, message=message, **extra)}


class FakeVercel(LoopbackServer):
    def __init__(self, token="fake-vercel-token-for-tests", teams=("team_sophiatest",)):
        self.token = token
        self.teams = set(teams)
        self.projects = {}  # id -> project
        self.verified_apexes = set()
        self.requests = []  # (method, path, query, body)
        self._faults = []
        self._ids = itertools.count(1)
        self.lock = threading.RLock()
        self.server = None
        self.base_url = None

    # -- server ------------------------------------------------------------------------

    # -- test helpers ------------------------------------------------------------------

    def add_project(self, name, team=None):
        pid = "prj_%s" % uuid.uuid4().hex[:24]
        self.projects[pid] = dict(id=pid, name=name, accountId=team or "user_me", team=team, envs=[], domains={})
        return self.projects[pid]

    def add_env(self, project, key, value, type="encrypted", target=("production",), git_branch=None):
        env = dict(id=self._id(), key=key, value=value, type=type, target=list(target), createdAt=_now(),
                   updatedAt=_now())
        if git_branch:
            env["gitBranch"] = git_branch
        project["envs"].append(env)
        return env

    def envs(self, project, key=None):
        return [e for e in project["envs"] if key is None or e["key"] == key]

    def mutations(self):
        return [r[:2] for r in self.requests if r[0] != "GET"]

    def fail_next(self, method, path_regex, status, code="internal_server_error", message="injected failure",
                  times=1, headers=None, extra=None, delay=0.0):
        """Answer the next ``times`` matching requests with an error; with ``delay``, answer
        normally but only after ``delay`` seconds (a slow API, for client timeouts)."""
        with self.lock:
            self._faults.append(dict(method=method, rx=re.compile(path_regex), status=status, code=code,
                                     message=message, times=times, headers=headers or {}, extra=extra or {},
                                     delay=delay))

    def _take_fault(self, method, path):
        with self.lock:
            for f in self._faults:
                if f["method"] == method and f["rx"].search(path) and f["times"] > 0:
                    f["times"] -= 1
                    return f
        return None

    def _id(self):
        return "env%08d" % next(self._ids)

    # -- API ---------------------------------------------------------------------------

    def dispatch(self, method, path, query, headers, raw):
        body = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                raise ApiError(400, "bad_request", "Invalid JSON body")
        with self.lock:
            self.requests.append((method, path, dict(query), body))
        fault = self._take_fault(method, path)
        if fault and fault["delay"]:
            time.sleep(fault["delay"])
        elif fault:
            err = ApiError(fault["status"], fault["code"], fault["message"], **fault["extra"])
            err.headers = fault["headers"]
            raise err
        if headers.get("Authorization") != "Bearer %s" % self.token:
            raise ApiError(403, "forbidden", "Not authorized", invalidToken=True)
        team = query.get("teamId")
        if team and team not in self.teams:
            raise ApiError(403, "forbidden", "Not authorized")
        for rx, handler in _ROUTES:
            m = re.match("^" + rx + "$", "%s %s" % (method, path))
            if m:
                args = m.groupdict()
                project = self._project(urllib.parse.unquote(args.pop("project")), team)
                names = {k: urllib.parse.unquote(v) for k, v in args.items()}
                with self.lock:
                    return getattr(self, handler)(project, body, query, **names)
        raise ApiError(404, "not_found", "The requested path was not found")

    def _project(self, id_or_name, team):
        for p in self.projects.values():
            if id_or_name in (p["id"], p["name"]) and p["team"] == (team or None):
                return p
        raise ApiError(404, "not_found", "Project not found")

    def get_project(self, project, body, query):
        return 200, {k: v for k, v in project.items() if k not in ("envs", "domains", "team")}

    def list_env(self, project, body, query):
        decrypt = query.get("decrypt") == "true"
        out = []
        for env in project["envs"]:
            e = dict(env)
            if env["type"] == "sensitive":
                e["value"] = ""
                e["decrypted"] = False
            elif env["type"] in ("encrypted", "secret"):
                e["decrypted"] = decrypt
                if not decrypt:
                    e["value"] = "eyJ2IjoiZmFrZS1jaXBoZXJ0ZXh0In0="
            out.append(e)
        return 200, {"envs": out, "pagination": {"count": len(out), "next": None, "prev": None}}

    def _check_env_body(self, body, partial=False):
        if not isinstance(body, dict):
            raise ApiError(400, "bad_request", "Invalid request: body must be an object")
        required = () if partial else ("key", "value", "type", "target")
        for name in required:
            if name not in body:
                raise ApiError(400, "bad_request", "Invalid request: missing required property `%s`" % name)
        if "type" in body and body["type"] not in TYPES:
            raise ApiError(400, "bad_request", "Invalid request: `type` should be one of %s" % ", ".join(TYPES))
        if "target" in body and (not isinstance(body["target"], list) or not set(body["target"]) <= set(TARGETS)):
            raise ApiError(400, "bad_request", "Invalid request: `target` must be a list of %s" % ", ".join(TARGETS))

    def create_env(self, project, body, query):
        self._check_env_body(body)
        clash = [e for e in project["envs"] if e["key"] == body["key"] and not e.get("gitBranch")
                 and set(e["target"]) & set(body["target"])]
        if clash and query.get("upsert") != "true":
            return 201, {"created": [], "failed": [{"error": {
                "code": "ENV_CONFLICT", "message": "A variable with the name `%s` already exists for the target "
                                                   "%s" % (body["key"], ",".join(clash[0]["target"])),
                "key": body["key"], "envVarId": clash[0]["id"], "target": clash[0]["target"]}}]}
        env = self.add_env(project, body["key"], body["value"], body["type"], body["target"])
        shown = {k: v for k, v in env.items() if not (k == "value" and env["type"] == "sensitive")}
        return 201, {"created": shown, "failed": []}

    def _env(self, project, env_id):
        for env in project["envs"]:
            if env["id"] == env_id:
                return env
        raise ApiError(404, "not_found", "Environment Variable %s was not found" % env_id)

    def edit_env(self, project, body, query, env_id):
        env = self._env(project, env_id)
        self._check_env_body(body, partial=True)
        if env["type"] == "sensitive" and body.get("type") not in (None, "sensitive"):
            raise ApiError(400, "bad_request", "Sensitive environment variables cannot be changed to another type")
        for name in ("key", "value", "type", "target"):
            if name in body:
                env[name] = body[name]
        env["updatedAt"] = _now()
        return 200, {k: v for k, v in env.items() if not (k == "value" and env["type"] == "sensitive")}

    def delete_env(self, project, body, query, env_id):
        env = self._env(project, env_id)
        project["envs"].remove(env)
        return 200, {k: v for k, v in env.items() if k != "value"}

    def _domain_view(self, project, dom):
        return dict(dom, projectId=project["id"])

    def get_domain(self, project, body, query, domain):
        dom = project["domains"].get(domain)
        if dom is None:
            raise ApiError(404, "not_found", "The domain \"%s\" was not found" % domain)
        return 200, self._domain_view(project, dom)

    def add_domain(self, project, body, query):
        if not isinstance(body, dict) or not isinstance(body.get("name"), str):
            raise ApiError(400, "bad_request", "Invalid request: missing required property `name`")
        name = body["name"]
        if name in project["domains"]:
            raise ApiError(400, "bad_request", "The domain \"%s\" is already assigned to this project" % name)
        apex = ".".join(name.split(".")[-2:])
        verified = apex in self.verified_apexes
        dom = dict(name=name, apexName=apex, redirect=body.get("redirect"),
                   redirectStatusCode=body.get("redirectStatusCode"), gitBranch=None, verified=verified,
                   createdAt=_now(), updatedAt=_now())
        if not verified:
            dom["verification"] = [dict(type="TXT", domain="_vercel.%s" % apex,
                                        value="vc-domain-verify=%s,%s" % (name, uuid.uuid4().hex[:20]),
                                        reason="pending_domain_verification")]
        project["domains"][name] = dom
        return 200, self._domain_view(project, dom)

    def edit_domain(self, project, body, query, domain):
        dom = project["domains"].get(domain)
        if dom is None:
            raise ApiError(404, "not_found", "The domain \"%s\" was not found" % domain)
        redirect = body.get("redirect")
        if redirect and redirect not in project["domains"]:
            raise ApiError(400, "bad_request", "The redirect target \"%s\" is not a domain of the project" % redirect)
        for name in ("redirect", "redirectStatusCode", "gitBranch"):
            if name in body:
                dom[name] = body[name]
        dom["updatedAt"] = _now()
        return 200, self._domain_view(project, dom)

    def remove_domain(self, project, body, query, domain):
        if project["domains"].pop(domain, None) is None:
            raise ApiError(404, "not_found", "The domain \"%s\" was not found" % domain)
        return 200, {}


_ROUTES = [
    (r"GET /v9/projects/(?P<project>[^/]+)", "get_project"),
    (r"GET /v10/projects/(?P<project>[^/]+)/env", "list_env"),
    (r"POST /v10/projects/(?P<project>[^/]+)/env", "create_env"),
    (r"PATCH /v9/projects/(?P<project>[^/]+)/env/(?P<env_id>[^/]+)", "edit_env"),
    (r"DELETE /v9/projects/(?P<project>[^/]+)/env/(?P<env_id>[^/]+)", "delete_env"),
    (r"GET /v9/projects/(?P<project>[^/]+)/domains/(?P<domain>[^/]+)", "get_domain"),
    (r"POST /v10/projects/(?P<project>[^/]+)/domains", "add_domain"),
    (r"PATCH /v9/projects/(?P<project>[^/]+)/domains/(?P<domain>[^/]+)", "edit_domain"),
    (r"DELETE /v9/projects/(?P<project>[^/]+)/domains/(?P<domain>[^/]+)", "remove_domain"),
]


def _now():
    return int(time.time() * 1000)


class _Handler(BaseHTTPRequestHandler):
    fake = None
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _handle(self):
        parts = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(parts.query))
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        headers = {}
        try:
            status, payload = self.fake.dispatch(self.command, parts.path, query, self.headers, raw)
        except ApiError as exc:
            status, payload = exc.status, exc.body
            headers = getattr(exc, "headers", {})
        data = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PATCH = do_DELETE = _handle


FakeVercel.handler_class = _Handler
FakeVercel.thread_name = "vercel-fake"
FakeVercel.url_path = ""
