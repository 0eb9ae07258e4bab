# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Sophia platform team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
name: lambda_cloud
short_description: Lambda Cloud instances as an inventory source
version_added: 0.1.0
author:
  - Sophia platform team (@sophia-platform)
description:
  - Reads the instances of a Lambda Cloud account with one C(GET /instances) call of the
    public API v1 and turns them into inventory hosts, named by instance name (the id when an
    instance has no name), never by address.
  - Every field of an instance is a host variable with O(hostvars_prefix), plus derived ones
    (CPU architecture, GPU count, region and instance type names, tags as a dictionary).
  - Hosts are grouped by region, instance type and CPU architecture, and, from the O(role_tag)
    tag, into the K3s groups C(k3s_server), C(k3s_agent) (both children of C(k3s_cluster)) and
    C(gpu), the same groups the lab inventory has.
  - Data the API sends that does not fit its own schema (a missing field, an unknown status) is
    skipped or passed through with a warning; it never stops the inventory.
  - The configuration file name must end with C(lambda_cloud.yml) or C(lambda_cloud.yaml).
extends_documentation_fragment:
  - constructed
  - inventory_cache
requirements:
  - requests
  - urllib3 >= 2.0.0
options:
  plugin:
    description: The name of this plugin; marks the file as its configuration.
    required: true
    type: str
    choices: [sophia.platform.lambda_cloud, lambda_cloud]
  api_key:
    description:
      - Lambda Cloud API key, sent as a Bearer token.
      - May be a template (for example C("{{ vault_lambda_api_key }}")) or vault-encrypted.
        It is never written to the cache, the output or the logs.
    type: str
    env:
      - name: LAMBDA_API_KEY
  api_url:
    description:
      - Base URL of the Lambda Cloud API v1.
      - Must be C(https://); plain C(http://) is refused unless the host is loopback
        (C(127.0.0.0/8), C(::1), C(localhost)), because the API key is sent with every request.
    type: str
    default: https://cloud.lambda.ai/api/v1
    env:
      - name: LAMBDA_API_URL
  api_timeout:
    description: Seconds to wait for an answer to the API request.
    type: float
    default: 30.0
  regions:
    description: Only instances in these regions (for example C(us-east-3)). Empty means all.
    type: list
    elements: str
    default: []
  instance_types:
    description: Only instances of these types (for example C(gpu_1x_gh200)). Empty means all.
    type: list
    elements: str
    default: []
  statuses:
    description:
      - Only instances with one of these statuses.
      - The API documents C(booting), C(active), C(unhealthy), C(terminating), C(terminated) and
        C(preempted); another value is accepted with a warning.
    type: list
    elements: str
    default: [active]
  name_pattern:
    description: Only instances whose name matches this Python regular expression (searched, not anchored).
    type: str
  tags:
    description:
      - Only instances carrying all of these tags, each written C(key=value).
    type: list
    elements: str
    default: []
  connect_with:
    description:
      - Which address becomes C(ansible_host).
      - An instance without that address (still booting) is skipped, with a message at C(-v).
    type: str
    default: public_ip
    choices: [public_ip, private_ip, hostname]
  hostvars_prefix:
    description: Prefix of every host variable built from the API (not of C(ansible_host)).
    type: str
    default: lambda_
  hostvars_exclude:
    description:
      - API fields not turned into host variables nor written to the cache.
      - The default keeps the Jupyter login token out of the inventory.
    type: list
    elements: str
    default: [jupyter_token, jupyter_url]
  group:
    description: Every host becomes a member of this group; also the prefix of the region, type and architecture groups.
    type: str
    default: lambda
  role_tag:
    description:
      - Tag whose value places a host in the K3s groups. C(server) goes to C(k3s_server),
        C(agent) to C(k3s_agent); both are children of C(k3s_cluster). Tagged instances with
        GPUs also go to C(gpu).
      - Set O(k3s_groups=false) to build none of these groups.
    type: str
    default: role
  k3s_groups:
    description: Whether to build the K3s groups from O(role_tag).
    type: bool
    default: true
"""

EXAMPLES = r"""
# inventories/prod/lambda_cloud.yml: the hosts of the prod cluster.
# The key comes from the environment (LAMBDA_API_KEY) or, as here, from a vaulted variable.
plugin: sophia.platform.lambda_cloud
api_key: "{{ vault_lambda_api_key }}"
tags:
  - cluster=prod
connect_with: public_ip
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/sophia/lambda-inventory
cache_timeout: 300

---
# All GH200 instances in us-east-3, reached over the private network,
# grouped by their "team" tag as well.
plugin: sophia.platform.lambda_cloud
regions: [us-east-3]
instance_types: [gpu_1x_gh200]
connect_with: private_ip
keyed_groups:
  - key: lambda_tags.team | default('none')
    prefix: team
compose:
  ansible_user: "'ubuntu'"
"""

import re

from ansible.errors import AnsibleError, AnsibleParserError
from ansible.module_utils.common.text.converters import to_native
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable
from ansible.utils.display import Display
from ansible.utils.unsafe_proxy import wrap_var as make_unsafe

from ansible_collections.sophia.platform.plugins.module_utils._lambda_cloud import (
    DEFAULT_API_URL,
    KNOWN_STATUSES,
    HAS_REQUESTS,
    REQUESTS_IMPORT_ERROR,
    LambdaCloudClient,
    LambdaCloudError,
    check_api_url,
    instance_architecture,
    tags_to_dict,
    urllib3_too_old,
)

display = Display()

_PLAIN = (int, float, bool, type(None))


def untrusted(value):
    """``value`` with every string marked unsafe (never templated), cheaply.

    A plain ``str`` (exact type) carries no tag, so core 2.19 already treats it as
    untrusted; anything else that may carry trust (tagged strings from a cache, other
    types) goes through core's own ``wrap_var``. Walking 1,000 instances this way costs a
    fraction of calling ``wrap_var`` on everything.
    """
    kind = type(value)
    if kind is str or kind in _PLAIN:
        return value
    if kind is dict:
        return {untrusted(k): untrusted(v) for k, v in value.items()}
    if kind is list:
        return [untrusted(v) for v in value]
    return make_unsafe(value)


K3S_ROLE_GROUPS = {"server": "k3s_server", "agent": "k3s_agent"}
K3S_PARENT = "k3s_cluster"
GPU_GROUP = "gpu"
_CONNECT_FIELDS = {"public_ip": "ip", "private_ip": "private_ip", "hostname": "hostname"}


def inventory_hostname(instance):
    """The inventory name of an instance: its name, or its id when it has none. Never an address."""
    name = instance.get("name")
    if isinstance(name, str) and name.strip():
        return name.strip()
    return str(instance["id"])


def build_hostvars(instance, prefix="lambda_", exclude=(), connect_with="public_ip"):
    """Build the host variables of one instance (pure function, JSON-serialisable result).

    Returns ``(hostvars, problems)``; ``problems`` lists what did not fit the API schema.
    ``ansible_host`` is present only when the instance has the address ``connect_with`` asks for.
    """
    problems = []
    hostvars = {}
    for key, value in instance.items():
        if key in exclude:
            continue
        if key == "tags":
            continue
        hostvars[prefix + key] = value

    itype = instance.get("instance_type")
    if not isinstance(itype, dict):
        problems.append("no instance_type")
        itype = {}
    type_name = itype.get("name")
    specs = itype.get("specs") if isinstance(itype.get("specs"), dict) else {}
    gpus = specs.get("gpus")
    if not isinstance(gpus, int) or isinstance(gpus, bool):
        if type_name is not None:
            problems.append("instance type %s without a GPU count" % type_name)
        gpus = None
    region = instance.get("region")
    if not isinstance(region, dict) or not region.get("name"):
        problems.append("no region")
        region = {}
    status = instance.get("status")
    if status not in KNOWN_STATUSES:
        problems.append("unknown status %r" % (status,))

    hostvars[prefix + "instance_type_name"] = type_name
    hostvars[prefix + "architecture"] = instance_architecture(type_name) if type_name else None
    hostvars[prefix + "gpu_count"] = gpus
    hostvars[prefix + "region_name"] = region.get("name")
    raw_tags = instance.get("tags")
    if raw_tags is not None and not isinstance(raw_tags, list):
        problems.append("tags are not a list")
        raw_tags = []
    hostvars[prefix + "tags"] = tags_to_dict(raw_tags)

    address = instance.get(_CONNECT_FIELDS[connect_with])
    if isinstance(address, str) and address:
        hostvars["ansible_host"] = address
    return hostvars, problems


def parse_tag_filters(items):
    """``["k=v", ...]`` -> ``{k: v}``; raises ValueError naming a malformed entry."""
    result = {}
    for item in items or []:
        if not isinstance(item, str) or "=" not in item or not item.split("=", 1)[0].strip():
            raise ValueError("tag filter %r is not written key=value" % (item,))
        key, value = item.split("=", 1)
        result[key.strip()] = value.strip()
    return result


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    NAME = "sophia.platform.lambda_cloud"

    def verify_file(self, path):
        if not super().verify_file(path):
            return False
        return path.endswith(("lambda_cloud.yml", "lambda_cloud.yaml"))

    # -- configuration -------------------------------------------------------------

    def _api_key(self):
        key = self.get_option("api_key")
        if key is not None:
            key = self.templar.template(key)
        if key is None or not str(key).strip():
            raise AnsibleError(
                "No Lambda Cloud API key for the sophia.platform.lambda_cloud inventory: set the "
                "environment variable LAMBDA_API_KEY, or the api_key option of the inventory file "
                "(a vault-encrypted value, or a template such as \"{{ vault_lambda_api_key }}\" with the "
                "variable passed as extra vars from a vault-encrypted file)."
            )
        return str(key)

    def _check_client(self):
        """Refuse a missing or too old HTTP library and a plain-http api_url before any call."""
        if not HAS_REQUESTS:
            raise AnsibleError("sophia.platform.lambda_cloud: the Python library 'requests' is required: %s"
                               % REQUESTS_IMPORT_ERROR)
        too_old = urllib3_too_old()
        if too_old:
            raise AnsibleError("sophia.platform.lambda_cloud: %s" % too_old)
        try:
            check_api_url(self.get_option("api_url") or DEFAULT_API_URL)
        except LambdaCloudError as exc:
            raise AnsibleError("sophia.platform.lambda_cloud: %s %s" % (exc.message, exc.suggestion))

    def _filters(self):
        try:
            tags = parse_tag_filters(self.get_option("tags"))
        except ValueError as exc:
            raise AnsibleParserError("sophia.platform.lambda_cloud: %s" % exc)
        pattern = self.get_option("name_pattern")
        try:
            name_re = re.compile(pattern) if pattern else None
        except re.error as exc:
            raise AnsibleParserError("sophia.platform.lambda_cloud: name_pattern %r is not a regular expression: %s" % (pattern, exc))
        statuses = list(self.get_option("statuses") or [])
        for status in statuses:
            if status not in KNOWN_STATUSES:
                display.warning("sophia.platform.lambda_cloud: status %r in statuses is not one the API documents %s"
                                % (status, ", ".join(KNOWN_STATUSES)))
        return dict(
            regions=set(self.get_option("regions") or []),
            types=set(self.get_option("instance_types") or []),
            statuses=set(statuses),
            name_re=name_re,
            tags=tags,
        )

    # -- fetch and cache ------------------------------------------------------------

    def _fetch(self, api_key):
        exclude = set(self.get_option("hostvars_exclude") or [])
        client = LambdaCloudClient(
            api_key=api_key,
            api_url=self.get_option("api_url") or DEFAULT_API_URL,
            read_timeout=self.get_option("api_timeout"),
            user_agent="sophia.platform.lambda_cloud inventory",
        )
        try:
            instances = client.list_instances()
        except LambdaCloudError as exc:
            raise AnsibleError("sophia.platform.lambda_cloud: %s" % exc)
        # Drop excluded fields (secrets) before anything can write them to a cache.
        return [
            {k: v for k, v in inst.items() if k not in exclude} if isinstance(inst, dict) else inst
            for inst in instances
        ]

    def _instances(self, path, cache, api_key):
        cache_key = self.get_cache_key(path)
        user_cache = self.get_option("cache")
        if user_cache and cache:
            try:
                return self._cache[cache_key]
            except KeyError:
                pass
        instances = self._fetch(api_key)
        if user_cache:
            self._cache[cache_key] = instances
        return instances

    # -- building ---------------------------------------------------------------------

    def _wanted(self, instance, hostvars, name, filters):
        prefix = self.get_option("hostvars_prefix")
        if filters["statuses"] and instance.get("status") not in filters["statuses"]:
            return False
        if filters["regions"] and hostvars[prefix + "region_name"] not in filters["regions"]:
            return False
        if filters["types"] and hostvars[prefix + "instance_type_name"] not in filters["types"]:
            return False
        if filters["name_re"] is not None and not filters["name_re"].search(str(instance.get("name") or "")):
            return False
        tags = hostvars[prefix + "tags"]
        for key, value in filters["tags"].items():
            if tags.get(key) != value:
                return False
        return True

    def _populate(self, instances, filters):
        prefix = self.get_option("hostvars_prefix")
        connect_with = self.get_option("connect_with")
        exclude = set(self.get_option("hostvars_exclude") or [])
        top = self.get_option("group")
        k3s = self.get_option("k3s_groups")
        role_tag = self.get_option("role_tag")
        strict = self.get_option("strict")
        compose = self.get_option("compose")
        groups = self.get_option("groups")
        keyed = self.get_option("keyed_groups")
        sanitize = self._sanitize_group_name
        inventory = self.inventory

        inventory.add_group(top)
        if k3s:
            inventory.add_group(K3S_PARENT)
            for child in K3S_ROLE_GROUPS.values():
                inventory.add_group(child)
                inventory.add_child(K3S_PARENT, child)
            inventory.add_group(GPU_GROUP)
        seen = {}
        for instance in instances:
            if not isinstance(instance, dict) or not instance.get("id"):
                display.warning("sophia.platform.lambda_cloud: skipped an instance without an id: %.200r" % (instance,))
                continue
            hostvars, problems = build_hostvars(instance, prefix, exclude, connect_with)
            name = inventory_hostname(instance)
            if problems:
                display.warning("sophia.platform.lambda_cloud: instance %s: %s; passed through as it is"
                                % (name, "; ".join(problems)))
            if not self._wanted(instance, hostvars, name, filters):
                continue
            if "ansible_host" not in hostvars:
                display.v("sophia.platform.lambda_cloud: skipped %s (status %s): no %s yet"
                          % (name, instance.get("status"), connect_with))
                continue
            if name in seen:
                display.warning("sophia.platform.lambda_cloud: instances %s and %s share the name %s; "
                                "the second one is named by its id" % (seen[name], instance["id"], name))
                name = str(instance["id"])
            seen[name] = instance["id"]

            inventory.add_host(name, group=top)
            for var, value in hostvars.items():
                inventory.set_variable(name, var, untrusted(value))

            arch = hostvars[prefix + "architecture"]
            for kind, value in (("region", hostvars[prefix + "region_name"]),
                                ("type", hostvars[prefix + "instance_type_name"]),
                                ("arch", arch)):
                if value:
                    group = inventory.add_group(sanitize("%s_%s_%s" % (top, kind, value)))
                    inventory.add_child(group, name)
            if k3s:
                role = hostvars[prefix + "tags"].get(role_tag)
                if role in K3S_ROLE_GROUPS:
                    inventory.add_child(K3S_ROLE_GROUPS[role], name)
                    if hostvars[prefix + "gpu_count"]:
                        inventory.add_child(GPU_GROUP, name)
                elif role is not None:
                    display.warning("sophia.platform.lambda_cloud: instance %s has %s=%s; only %s place it in a K3s group"
                                    % (name, role_tag, role, " or ".join(sorted(K3S_ROLE_GROUPS))))

            if compose or groups or keyed:
                host_vars = inventory.get_host(name).get_vars()
                self._set_composite_vars(compose, host_vars, name, strict=strict)
                self._add_host_to_composed_groups(groups, {}, name, strict=strict)
                self._add_host_to_keyed_groups(keyed, {}, name, strict=strict)

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache)
        self._read_config_data(path)
        self.templar.available_variables = self._vars or {}
        filters = self._filters()
        self._check_client()
        # The key is required even when the cache could answer: no credentials, no inventory.
        api_key = self._api_key()
        try:
            instances = self._instances(path, cache, api_key)
        except LambdaCloudError as exc:
            raise AnsibleError("sophia.platform.lambda_cloud: %s" % to_native(exc))
        if not isinstance(instances, list):
            raise AnsibleError("sophia.platform.lambda_cloud: the cached or fetched data is not a list of instances")
        self._populate(instances, filters)
