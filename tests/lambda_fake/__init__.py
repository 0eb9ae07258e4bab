"""A fake Lambda Cloud API v1 for tests: a real HTTP server on 127.0.0.1.

It implements the endpoints sophia.platform uses, from the OpenAPI document vendored in
``tests/data/lambda-cloud-openapi-1.10.0.json``, and keeps it honest: every request body is
validated against the document's request schema (a bad one gets HTTP 400
``global/invalid-parameters`` and is recorded in ``request_errors``) and every response against
the response schema of its status code (a mismatch is recorded in ``schema_errors`` and
answered with HTTP 500).  Test fixtures assert both lists are empty, so the fake cannot drift
from the document.

Faults are injected with :meth:`FakeLambda.fail_next` (any status, body, ``Retry-After``,
delay for timeouts, raw non-JSON bytes, after letting some matching requests through) and off-spec data with :meth:`FakeLambda.add_raw_instance`
(sent as is, outside validation: that is the point of it).

Only 127.0.0.1 is ever bound.
"""

from __future__ import annotations

import copy
import itertools
import json
import math
import pathlib
import re
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler

import jsonschema

from loopback_server import LoopbackServer

SPEC_PATH = pathlib.Path(__file__).resolve().parent.parent / "data" / "lambda-cloud-openapi-1.10.0.json"
PREFIX = "/api/v1"

# Generic envelope for statuses the document does not declare (429, 5xx): its top-level
# description says every error has this shape.
ERROR_ENVELOPE = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "suggestion": {"type": "string"},
            },
        }
    },
}

REGIONS = [
    {"name": "us-east-1", "description": "Virginia, USA"},
    {"name": "us-east-3", "description": "Washington DC, USA"},
    {"name": "us-west-1", "description": "California, USA"},
    {"name": "us-south-1", "description": "Texas, USA"},
]


def _itype(name, description, gpu_description, price, vcpus, mem, storage, gpus):
    return {
        "name": name,
        "description": description,
        "gpu_description": gpu_description,
        "price_cents_per_hour": price,
        "specs": {"vcpus": vcpus, "memory_gib": mem, "storage_gib": storage, "gpus": gpus},
    }


INSTANCE_TYPES = {
    "gpu_1x_gh200": _itype("gpu_1x_gh200", "1x GH200 (96 GB)", "GH200 (96 GB)", 229, 64, 432, 4096, 1),
    "gpu_8x_h100_sxm5": _itype("gpu_8x_h100_sxm5", "8x H100 (80 GB SXM5)", "H100 (80 GB SXM5)", 2392, 208, 1800, 24780, 8),
    "gpu_1x_a10": _itype("gpu_1x_a10", "1x A10 (24 GB PCIe)", "A10 (24 GB PCIe)", 75, 30, 200, 1400, 1),
    "cpu_4x_general": _itype("cpu_4x_general", "4x vCPU general", "none", 10, 4, 16, 100, 0),
}

DEFAULT_CAPACITY = {
    "gpu_1x_gh200": ["us-east-3"],
    "gpu_8x_h100_sxm5": ["us-west-1", "us-south-1"],
    "gpu_1x_a10": ["us-east-1"],
    "cpu_4x_general": ["us-east-1", "us-west-1"],
}

_ROUTES = [
    # (method, regex, OpenAPI path, handler name)
    ("GET", r"/instances", "/instances", "list_instances"),
    ("GET", r"/instances/(?P<id>[^/]+)", "/instances/{id}", "get_instance"),
    ("POST", r"/instances/(?P<id>[^/]+)", "/instances/{id}", "rename_instance"),
    ("POST", r"/instance-operations/launch", "/instance-operations/launch", "launch"),
    ("POST", r"/instance-operations/restart", "/instance-operations/restart", "restart"),
    ("POST", r"/instance-operations/terminate", "/instance-operations/terminate", "terminate"),
    ("GET", r"/instance-types", "/instance-types", "list_instance_types"),
    ("GET", r"/regions", "/regions", "list_regions"),
    ("GET", r"/ssh-keys", "/ssh-keys", "list_ssh_keys"),
    ("POST", r"/ssh-keys", "/ssh-keys", "add_ssh_key"),
    ("DELETE", r"/ssh-keys/(?P<id>[^/]+)", "/ssh-keys/{id}", "delete_ssh_key"),
    ("GET", r"/file-systems", "/file-systems", "list_filesystems"),
    ("POST", r"/filesystems", "/filesystems", "create_filesystem"),
    ("DELETE", r"/filesystems/(?P<id>[^/]+)", "/filesystems/{id}", "delete_filesystem"),
    ("GET", r"/firewall-rulesets", "/firewall-rulesets", "list_rulesets"),
    ("POST", r"/firewall-rulesets", "/firewall-rulesets", "create_ruleset"),
    ("GET", r"/firewall-rulesets/global", "/firewall-rulesets/global", "get_global"),
    ("PATCH", r"/firewall-rulesets/global", "/firewall-rulesets/global", "patch_global"),
    ("GET", r"/firewall-rulesets/(?P<id>[^/]+)", "/firewall-rulesets/{id}", "get_ruleset"),
    ("PATCH", r"/firewall-rulesets/(?P<id>[^/]+)", "/firewall-rulesets/{id}", "patch_ruleset"),
    ("DELETE", r"/firewall-rulesets/(?P<id>[^/]+)", "/firewall-rulesets/{id}", "delete_ruleset"),
]
_COMPILED = [(m, re.compile("^" + rx + "$"), p, h) for m, rx, p, h in _ROUTES]


class ApiError(Exception):
    def __init__(self, status, code, message, suggestion=None, headers=None):
        super().__init__(message)
        self.status = status
        self.body = {"error": {"code": code, "message": message}}
        if suggestion is not None:
            self.body["error"]["suggestion"] = suggestion
        self.headers = headers or {}


class _Spec:
    """Validators for the request and response schemas of the vendored OpenAPI document."""

    def __init__(self, path=SPEC_PATH):
        self.doc = json.loads(pathlib.Path(path).read_text(encoding="utf-8"))
        self._cache = {}

    def _validator(self, schema):
        key = id(schema)
        if key not in self._cache:
            root = dict(schema)
            root["components"] = self.doc["components"]
            cls = jsonschema.validators.validator_for({"$schema": "https://json-schema.org/draft/2020-12/schema"})
            self._cache[key] = cls(root)
        return self._cache[key]

    def operation(self, method, api_path):
        return self.doc["paths"][PREFIX + api_path][method.lower()]

    def response_schema(self, method, api_path, status):
        responses = self.operation(method, api_path)["responses"]
        entry = responses.get(str(status))
        if entry is None:
            return ERROR_ENVELOPE if status >= 400 else None
        return entry["content"]["application/json"]["schema"]

    def request_schema(self, method, api_path):
        body = self.operation(method, api_path).get("requestBody")
        if not body:
            return None
        return body["content"]["application/json"]["schema"]

    def errors(self, schema, instance):
        if schema is None:
            return ["no schema"]
        validator = self._validator(schema)
        return ["%s at %s" % (e.message, "/".join(str(p) for p in e.absolute_path)) for e in validator.iter_errors(instance)]


_SPEC = None
_SPEC_LOCK = threading.Lock()


def spec():
    global _SPEC
    with _SPEC_LOCK:
        if _SPEC is None:
            _SPEC = _Spec()
    return _SPEC


def new_id():
    return uuid.uuid4().hex


class FakeLambda(LoopbackServer):
    """State and behaviour of the fake API. ``start()`` serves it on 127.0.0.1 (tests/loopback_server);
    its handler records every TCP connection it accepts in ``connections``."""

    thread_name = "lambda-fake"
    url_path = PREFIX

    def __init__(self, api_key="fake-api-key-for-tests", boot_polls=1, launch_interval=0.0, validate=True):
        self.api_key = api_key
        self.boot_polls = boot_polls
        self.launch_interval = launch_interval
        self.validate = validate
        self.lock = threading.RLock()
        self.regions = copy.deepcopy(REGIONS)
        self.instance_types = copy.deepcopy(INSTANCE_TYPES)
        self.capacity = copy.deepcopy(DEFAULT_CAPACITY)
        self.instances = {}  # id -> instance (spec-shaped)
        self.raw_instances = []  # off-spec instances, sent without validation
        self.ssh_keys = {}
        self.filesystems = {}
        self.rulesets = {}
        self.global_rules = []
        self.requests = []  # (method, path, body)
        self.connections = []  # client (address, port) of every TCP connection accepted
        self.request_errors = []
        self.schema_errors = []
        self._faults = []
        self._boot_left = {}
        self._last_launch = None
        self._ip_counter = itertools.count(10)
        self.server = None
        self.base_url = None
        self._last_valid = None

    # -- test helpers ----------------------------------------------------------------

    def fail_next(self, method, path, status, code=None, message="injected failure", suggestion=None,
                  headers=None, times=1, delay=0.0, raw=None, body=None, after=0):
        """Answer the next ``times`` matching requests with an error (or ``raw`` bytes, or a delay).

        ``after`` matching requests are served normally first (``after=1``: the second one fails).
        """
        if body is None and raw is None:
            body = {"error": {"code": code or "global/internal-error", "message": message}}
            if suggestion:
                body["error"]["suggestion"] = suggestion
        with self.lock:
            self._faults.append(dict(method=method.upper(), path=path, status=status, headers=headers or {},
                                     times=times, delay=delay, raw=raw, body=body, after=after))

    def calls(self, method=None, path=None):
        return [r for r in self.requests if (method is None or r[0] == method) and (path is None or r[1] == path)]

    def make_instance(self, name=None, status="active", instance_type="gpu_1x_gh200", region="us-east-3",
                      tags=None, ssh_key_names=("ops",), ip=True, iid=None):
        n = next(self._ip_counter)
        inst = {
            "id": iid or new_id(),
            "status": status,
            "ssh_key_names": list(ssh_key_names),
            "file_system_names": [],
            "region": self._region(region),
            "instance_type": copy.deepcopy(self.instance_types.get(instance_type) or _itype(
                instance_type, instance_type, "unknown", 0, 1, 1, 1, 0)),
            "actions": _actions(status),
            "tags": [{"key": k, "value": v} for k, v in (tags or {}).items()],
            "firewall_rulesets": [],
            "jupyter_token": new_id(),
            "jupyter_url": "https://jupyter-%s.lambdaspaces.com/?token=secret" % new_id(),
        }
        if name is not None:
            inst["name"] = name
        if ip:
            inst["ip"] = "198.18.%d.%d" % ((n // 250) % 250, n % 250 + 1)  # RFC 2544 test range
            inst["private_ip"] = "10.%d.%d.%d" % ((n // 62500) % 250, (n // 250) % 250, n % 250 + 1)
            inst["hostname"] = (name or inst["id"]).lower().replace("_", "-")
        return inst

    def add_instance(self, name=None, **kwargs):
        inst = self.make_instance(name, **kwargs)
        with self.lock:
            self.instances[inst["id"]] = inst
        return inst

    def add_instances(self, count, prefix="node", **kwargs):
        for i in range(count):
            self.add_instance("%s-%04d" % (prefix, i), **kwargs)

    def add_raw_instance(self, data):
        """An off-spec instance (missing fields, unknown status...) sent as is in lists."""
        with self.lock:
            self.raw_instances.append(data)

    def add_ssh_key(self, name, public_key="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTests test"):
        key = {"id": new_id(), "name": name, "public_key": public_key}
        self.ssh_keys[key["id"]] = key
        return key

    def add_filesystem(self, name, region="us-east-3", in_use=False):
        fs = {
            "id": new_id(), "name": name, "mount_point": "/lambda/nfs/%s" % name,
            "created": "2025-05-01T12:00:00Z",
            "created_by": {"id": new_id(), "email": "ops@example.com", "status": "active"},
            "is_in_use": in_use, "region": self._region(region), "bytes_used": 0,
        }
        self.filesystems[fs["id"]] = fs
        return fs

    def add_ruleset(self, name, region="us-east-3", rules=(), instance_ids=()):
        rs = {"id": new_id(), "name": name, "region": self._region(region), "rules": list(rules),
              "created": "2025-05-01T12:00:00Z", "instance_ids": list(instance_ids)}
        self.rulesets[rs["id"]] = rs
        return rs

    def by_name(self, name):
        return [i for i in self.instances.values() if i.get("name") == name]

    # -- internals -------------------------------------------------------------------

    def _region(self, name):
        for r in self.regions:
            if r["name"] == name:
                return dict(r)
        return {"name": name, "description": name}

    def _tick_boot(self, iid):
        left = self._boot_left.get(iid)
        if left is None:
            return
        if left <= 1:
            del self._boot_left[iid]
            inst = self.instances.get(iid)
            if inst is not None and inst["status"] == "booting":
                n = next(self._ip_counter)
                inst["status"] = "active"
                inst["actions"] = _actions("active")
                inst["ip"] = "198.19.%d.%d" % ((n // 250) % 250, n % 250 + 1)
                inst["private_ip"] = "10.0.0.%d" % (n % 250 + 1)
                inst["hostname"] = inst.get("hostname") or (inst.get("name") or iid).lower()
        else:
            self._boot_left[iid] = left - 1

    def take_fault(self, method, path):
        with self.lock:
            for fault in self._faults:
                if fault["method"] == method and re.fullmatch(fault["path"], path):
                    if fault["after"] > 0:
                        fault["after"] -= 1
                        continue
                    fault["times"] -= 1
                    if fault["times"] <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    # -- endpoint handlers: return (status, data) or raise ApiError ------------------------

    def h_list_instances(self, body, **_):
        for iid in list(self._boot_left):
            self._tick_boot(iid)
        return 200, list(self.instances.values())

    def h_get_instance(self, body, id):
        self._tick_boot(id)
        if id not in self.instances:
            raise ApiError(404, "global/object-does-not-exist", "Specified instance does not exist.")
        return 200, self.instances[id]

    def h_rename_instance(self, body, id):
        if id not in self.instances:
            raise ApiError(404, "global/object-does-not-exist", "Specified instance does not exist.")
        self.instances[id]["name"] = body.get("name", "")
        return 200, self.instances[id]

    def h_launch(self, body, **_):
        now = time.monotonic()
        if self.launch_interval and self._last_launch is not None and now - self._last_launch < self.launch_interval:
            wait = self.launch_interval - (now - self._last_launch)
            raise ApiError(429, "global/rate-limited", "Too many launch requests.",
                           headers={"Retry-After": str(int(math.ceil(wait)))})
        region, itype = body["region_name"], body["instance_type_name"]
        if itype not in self.instance_types:
            raise ApiError(404, "global/object-does-not-exist", "Instance type %s does not exist." % itype,
                           "Check the instance type name.")
        if region not in [r["name"] for r in self.regions]:
            raise ApiError(404, "global/object-does-not-exist", "Region %s does not exist." % region,
                           "Check the region name.")
        names = {k["name"] for k in self.ssh_keys.values()}
        if len(body["ssh_key_names"]) != 1:
            raise ApiError(400, "global/invalid-parameters", "Exactly one SSH key must be specified.")
        for key in body["ssh_key_names"]:
            if key not in names:
                raise ApiError(404, "global/object-does-not-exist", "SSH key %s does not exist." % key,
                               "Add the SSH key first.")
        if region not in self.capacity.get(itype, []):
            raise ApiError(400, "instance-operations/launch/insufficient-capacity",
                           "Not enough capacity to fulfill launch request.")
        for rs in body.get("firewall_rulesets", []):
            if rs["id"] not in self.rulesets:
                raise ApiError(404, "global/object-does-not-exist", "Firewall ruleset not found.", "Check the id.")
        for fs_name in body.get("file_system_names", []):
            match = [f for f in self.filesystems.values() if f["name"] == fs_name]
            if not match:
                raise ApiError(404, "global/object-does-not-exist", "Filesystem %s not found." % fs_name, "Check it.")
            if match[0]["region"]["name"] != region:
                raise ApiError(400, "instance-operations/launch/file-system-in-wrong-region", "Wrong region.")
        self._last_launch = now
        inst = self.make_instance(body.get("name"), status="booting", instance_type=itype, region=region,
                                  ssh_key_names=body["ssh_key_names"], ip=False,
                                  tags={t["key"]: t["value"] for t in body.get("tags", [])})
        inst["file_system_names"] = list(body.get("file_system_names", []))
        inst["firewall_rulesets"] = [{"id": r["id"]} for r in body.get("firewall_rulesets", [])]
        for r in inst["firewall_rulesets"]:
            self.rulesets[r["id"]]["instance_ids"].append(inst["id"])
        for fs in self.filesystems.values():
            if fs["name"] in inst["file_system_names"]:
                fs["is_in_use"] = True
        if body.get("hostname"):
            inst["hostname"] = body["hostname"]
        self.instances[inst["id"]] = inst
        self._boot_left[inst["id"]] = self.boot_polls
        if self.boot_polls <= 0:
            self._tick_boot(inst["id"])
        return 200, {"instance_ids": [inst["id"]]}

    def _known(self, ids):
        for iid in ids:
            if iid not in self.instances:
                raise ApiError(404, "global/object-does-not-exist", "Specified instance does not exist.")

    def h_restart(self, body, **_):
        self._known(body["instance_ids"])
        return 200, {"restarted_instances": [self.instances[i] for i in body["instance_ids"]]}

    def h_terminate(self, body, **_):
        self._known(body["instance_ids"])
        out = []
        for iid in body["instance_ids"]:
            inst = self.instances.pop(iid)
            inst["status"] = "terminating"
            inst["actions"] = _actions("terminating")
            out.append(inst)
            for rs in self.rulesets.values():
                if iid in rs["instance_ids"]:
                    rs["instance_ids"].remove(iid)
        return 200, {"terminated_instances": out}

    def h_list_instance_types(self, body, **_):
        return 200, {
            name: {"instance_type": t,
                   "regions_with_capacity_available": [self._region(r) for r in self.capacity.get(name, [])]}
            for name, t in self.instance_types.items()
        }

    def h_list_regions(self, body, **_):
        return 200, self.regions

    def h_list_ssh_keys(self, body, **_):
        return 200, list(self.ssh_keys.values())

    def h_add_ssh_key(self, body, **_):
        if any(k["name"] == body["name"] for k in self.ssh_keys.values()):
            raise ApiError(400, "global/invalid-parameters", "An SSH key named %s already exists." % body["name"])
        if body.get("public_key"):
            key = self.add_ssh_key(body["name"], body["public_key"])
            return 200, key
        key = self.add_ssh_key(body["name"], "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGeneratedByFake generated")
        out = dict(key)
        out["private_key"] = "-----BEGIN OPENSSH PRIVATE KEY-----\nFAKEPRIVATEKEY\n-----END OPENSSH PRIVATE KEY-----\n"
        return 200, out

    def h_delete_ssh_key(self, body, id):
        if id not in self.ssh_keys:
            raise ApiError(404, "global/not-found", "The requested resource was not found.")
        del self.ssh_keys[id]
        return 200, {}

    def h_list_filesystems(self, body, **_):
        return 200, list(self.filesystems.values())

    def h_create_filesystem(self, body, **_):
        if any(f["name"] == body["name"] for f in self.filesystems.values()):
            raise ApiError(400, "global/duplicate", "A filesystem named %s already exists." % body["name"])
        if body["region"] not in [r["name"] for r in self.regions]:
            raise ApiError(400, "global/invalid-parameters", "Unknown region %s." % body["region"])
        return 200, self.add_filesystem(body["name"], body["region"])

    def h_delete_filesystem(self, body, id):
        fs = self.filesystems.get(id)
        if fs is None:
            raise ApiError(404, "global/object-does-not-exist", "Filesystem was not found.")
        if fs["is_in_use"]:
            raise ApiError(400, "filesystems/filesystem-in-use", "Filesystem %s is in use." % fs["name"],
                           "Terminate the instances using the filesystem, then try again.")
        del self.filesystems[id]
        return 200, {"deleted_ids": [id]}

    def h_list_rulesets(self, body, **_):
        return 200, list(self.rulesets.values())

    def h_create_ruleset(self, body, **_):
        if body["region"] not in [r["name"] for r in self.regions]:
            raise ApiError(400, "global/invalid-parameters", "Unknown region %s." % body["region"])
        return 200, self.add_ruleset(body["name"], body["region"], body["rules"])

    def h_get_global(self, body, **_):
        return 200, {"id": "global", "name": "Default Workspace Global Rules", "rules": self.global_rules}

    def h_patch_global(self, body, **_):
        if "rules" in body:
            self.global_rules = list(body["rules"])
        return self.h_get_global(None)

    def _ruleset(self, id):
        if id not in self.rulesets:
            raise ApiError(404, "global/object-does-not-exist",
                           "Firewall ruleset does not exist or you do not have permission to access it.",
                           "Check your firewall ruleset ID and try again.")
        return self.rulesets[id]

    def h_get_ruleset(self, body, id):
        return 200, self._ruleset(id)

    def h_patch_ruleset(self, body, id):
        rs = self._ruleset(id)
        if "rules" in body:
            rs["rules"] = list(body["rules"])
        if "name" in body:
            rs["name"] = body["name"]
        return 200, rs

    def h_delete_ruleset(self, body, id):
        rs = self._ruleset(id)
        if rs["instance_ids"]:
            raise ApiError(400, "firewall-rulesets/firewall-ruleset-in-use",
                           "Firewall ruleset is in use by one or more instances.",
                           "Terminate all instances that are using the ruleset before deleting it.")
        del self.rulesets[id]
        return 200, {}

    # -- dispatch --------------------------------------------------------------------

    def dispatch(self, method, path, headers, raw_body):
        """Return (status, headers, bytes, delay)."""
        if not path.startswith(PREFIX):
            return 404, {}, b'{"error": {"code": "global/not-found", "message": "Not found."}}', 0
        sub = path[len(PREFIX):].split("?", 1)[0]
        body = None
        if raw_body:
            try:
                body = json.loads(raw_body)
            except ValueError:
                body = "<not json>"
        with self.lock:
            self.requests.append((method, sub, body))
        fault = self.take_fault(method, sub)
        if fault is not None:
            data = fault["raw"] if fault["raw"] is not None else json.dumps(fault["body"]).encode()
            if fault["raw"] is None and fault["status"] >= 400 and self.validate:
                errs = spec().errors(ERROR_ENVELOPE, fault["body"])
                if errs:
                    self.schema_errors.append(("fault", method, sub, errs))
            return fault["status"], fault["headers"], data, fault["delay"]
        auth = headers.get("Authorization", "")
        if auth != "Bearer %s" % self.api_key:
            return self._respond(method, "/instances", 401, {"error": {
                "code": "global/invalid-api-key", "message": "API key was invalid, expired, or deleted.",
                "suggestion": "Check your API key or create a new one, then try again."}}, {})
        for m, rx, api_path, handler in _COMPILED:
            match = rx.match(sub)
            if m == method and match:
                break
        else:
            return 404, {}, json.dumps({"error": {"code": "global/not-found",
                                                  "message": "The requested resource was not found."}}).encode(), 0
        if self.validate:
            rschema = spec().request_schema(method, api_path)
            if rschema is not None:
                errs = spec().errors(rschema, body if body is not None else {})
                if errs:
                    self.request_errors.append((method, sub, errs))
                    return self._respond(method, api_path, 400, {"error": {
                        "code": "global/invalid-parameters", "message": "Invalid request data: %s" % "; ".join(errs)}}, {})
        with self.lock:
            try:
                status, data = getattr(self, "h_" + handler)(body, **match.groupdict())
                payload = {"data": copy.deepcopy(data)}
                extra = {}
            except ApiError as exc:
                status, payload, extra = exc.status, exc.body, exc.headers
        return self._respond(method, api_path, status, payload, extra, raw_extra=(handler == "list_instances"))

    def _respond(self, method, api_path, status, payload, headers, raw_extra=False):
        data = json.dumps(payload).encode()
        if self.validate:
            if data == self._last_valid:
                errs = []  # byte-identical to a response already validated (keeps big lists fast)
            else:
                errs = spec().errors(spec().response_schema(method, api_path, status), payload)
            if errs:
                self.schema_errors.append((method, api_path, status, errs[:5]))
                return 500, {}, json.dumps({"error": {"code": "global/internal-error",
                                                      "message": "fake response off spec"}}).encode(), 0
            if len(data) > 100000:
                self._last_valid = data
        if raw_extra and status == 200 and self.raw_instances:
            payload = dict(payload)
            payload["data"] = payload["data"] + copy.deepcopy(self.raw_instances)
            data = json.dumps(payload).encode()
        return status, headers, data, 0


def _actions(status):
    ok = {"available": True}
    if status == "active":
        return {"migrate": {"available": False, "reason_code": "vm-is-too-old", "reason_description": "n/a"},
                "rebuild": ok, "restart": ok, "cold_reboot": ok, "terminate": ok}
    code = "vm-is-terminating" if status in ("terminating", "terminated") else "vm-has-not-launched"
    no = {"available": False, "reason_code": code, "reason_description": "Instance is %s." % status}
    return {"migrate": no, "rebuild": no, "restart": no, "cold_reboot": no,
            "terminate": ok if status != "terminating" else no}


class _Handler(BaseHTTPRequestHandler):
    fake = None
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # keep test output quiet
        pass

    def setup(self):
        # Called once per accepted TCP connection (a kept-alive one serves many requests).
        super().setup()
        with self.fake.lock:
            self.fake.connections.append(self.client_address)

    def _handle(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        status, headers, data, delay = self.fake.dispatch(self.command, self.path, self.headers, raw)
        if delay:
            time.sleep(delay)
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in headers.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _handle


FakeLambda.handler_class = _Handler
