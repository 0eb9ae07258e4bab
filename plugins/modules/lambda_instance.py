#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Sophia platform team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
module: lambda_instance
short_description: Launch, restart or terminate Lambda Cloud instances, idempotently
version_added: 0.1.0
author:
  - Sophia platform team (@sophia-platform)
description:
  - Makes sure a named Lambda Cloud instance, or a named group of numbered instances
    (O(count), O(exact_count)), exists, is restarted or is terminated.
  - An instance is identified by its name B(and) O(tags). The API does not make names unique,
    so this module never launches a second instance for a name that already has one; an
    instance with that name but other tags is an error (tags cannot be changed after launch).
  - Before launching, every input is checked against the API (region, instance type, capacity
    in the region, SSH key, file systems, firewall rulesets); nothing is launched if any is wrong.
  - Launches are spaced by O(launch_interval) seconds (the API allows one per 12 seconds) and
    an HTTP 429 answer is retried after the C(Retry-After) it gives.
  - Lambda has no stop or resize; region, type, SSH keys, file systems, firewall rulesets,
    image and user data are used only at launch. A difference on an existing instance is
    reported as a warning, never "fixed" by replacing the instance.
extends_documentation_fragment:
  - sophia.platform.lambda_cloud
  - sophia.platform.lambda_cloud.platform
attributes:
  check_mode:
    support: full
    description: Reports what would be launched, restarted or terminated; checks inputs against the API.
  diff_mode:
    support: full
    description: Shows the instances (name, status, type, region) before and after.
options:
  name:
    description:
      - Name of the instance, or, with O(count) or O(exact_count), the base name of a group of
        instances named C(<name>-01), C(<name>-02), ...
      - At most 64 characters (with the number suffix).
    type: str
    required: true
  state:
    description:
      - V(present) launches what is missing. V(absent) terminates. V(restarted) restarts the
        matching instances (always a change).
    type: str
    choices: [present, absent, restarted]
    default: present
  count:
    description:
      - Make sure at least this many instances of the group O(name) exist. Missing ones are
        launched with the lowest free numbers; extra ones are left alone.
    type: int
  exact_count:
    description:
      - Make sure exactly this many instances of the group O(name) exist. Missing ones are
        launched with the lowest free numbers; the highest-numbered extras are terminated.
    type: int
  region:
    description: Region to launch in, for example V(us-east-3). Required to launch.
    type: str
  instance_type:
    description: Instance type to launch, for example V(gpu_1x_gh200). Required to launch.
    type: str
  ssh_key_names:
    description:
      - Names of SSH keys (already in the account) to install. The API currently takes exactly one.
        Required to launch.
    type: list
    elements: str
  file_system_names:
    description: File systems (same region) to mount at their default mount point. Launch only.
    type: list
    elements: str
  file_system_mounts:
    description: File systems to mount at a chosen mount point. Launch only.
    type: list
    elements: dict
    suboptions:
      file_system_id:
        description: Id of the file system.
        type: str
        required: true
      mount_point:
        description: Absolute path under C(/home), C(/lambda/nfs) or C(/data).
        type: str
        required: true
  firewall_rulesets:
    description:
      - Firewall rulesets to attach at launch, by name or id, in the launch region.
        They cannot be attached to a running instance.
    type: list
    elements: str
  image_family:
    description: Image family to boot, for example V(lambda-stack-22-04). Defaults to the latest Lambda Stack.
    type: str
  image_id:
    description: Id of the image to boot.
    type: str
  user_data:
    description: cloud-init user data (plain text, at most 1 MB). Launch only; treated as a secret, never returned or logged.
    type: str
  hostname:
    description:
      - Hostname written to C(/etc/hostname). Defaults to the instance name when that is a valid
        hostname (lowercase letters, digits and dashes).
    type: str
  tags:
    description:
      - Tags set at launch and used, with O(name), to identify the instances.
      - Keys match C(^[a-z][a-z0-9-:]+$) (at most 55 characters), values at most 128 characters.
    type: dict
    default: {}
  wait:
    description: Wait until launched or restarted instances are C(active), or terminated ones gone.
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait in total.
    type: int
    default: 900
  wait_interval:
    description: Seconds between two status polls.
    type: float
    default: 10.0
  launch_interval:
    description: Seconds between two launches by this task (the API allows one every 12 seconds).
    type: float
    default: 12.0
  check_capacity:
    description:
      - Check C(regions_with_capacity_available) before launching and fail with the regions
        where the type is available instead of spending a rate-limited launch call.
    type: bool
    default: true
notes:
  - Without O(wait), a launched instance is C(booting) and has no address yet.
  - Instances of another group are never touched. The group of O(name) is exactly the
    instances named C(<name>-<digits>) that carry all O(tags).
seealso:
  - module: sophia.platform.lambda_instance_info
  - module: sophia.platform.lambda_instance_type_info
"""

EXAMPLES = r"""
- name: One K3s server
  sophia.platform.lambda_instance:
    name: sophia-master-01
    region: us-east-3
    instance_type: gpu_1x_gh200
    ssh_key_names: [sophia-prod]
    firewall_rulesets: [sophia-prod-perimeter]
    tags:
      cluster: prod
      role: server

- name: At least two agents, sophia-worker-01 and -02 (never terminates any)
  sophia.platform.lambda_instance:
    name: sophia-worker
    count: 2
    region: us-east-3
    instance_type: gpu_1x_gh200
    ssh_key_names: [sophia-prod]
    tags:
      cluster: prod
      role: agent
  register: workers

- name: Terminate one agent
  sophia.platform.lambda_instance:
    name: sophia-worker-03
    state: absent
    tags:
      cluster: prod

- name: Settings shared by every Lambda module of a play
  module_defaults:
    group/sophia.platform.lambda_cloud:
      api_key: "{{ vault_lambda_api_key }}"
  block:
    - name: Restart a node
      sophia.platform.lambda_instance:
        name: sophia-worker-01
        state: restarted
"""

RETURN = r"""
instances:
  description: The matching instances after the task (terminated ones are not listed).
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Instance id.
      type: str
    name:
      description: Instance name.
      type: str
    status:
      description: Status (C(booting), C(active), ...).
      type: str
    ip:
      description: Public IPv4 address, once booted.
      type: str
    private_ip:
      description: Private IPv4 address, once booted.
      type: str
    region:
      description: Region name.
      type: str
    instance_type:
      description: Instance type name.
      type: str
    architecture:
      description: CPU architecture derived from the type (V(aarch64) for GH200).
      type: str
    gpu_count:
      description: GPUs of the type.
      type: int
    tags:
      description: Tags as a dictionary.
      type: dict
  sample:
    - id: 0920582c7ff041399e34823a0be62549
      name: sophia-worker-01
      status: active
      ip: 198.51.100.2
      private_ip: 10.0.2.100
      region: us-east-3
      instance_type: gpu_1x_gh200
      architecture: aarch64
      gpu_count: 1
      tags: {cluster: prod, role: agent}
instance:
  description: Without O(count) or O(exact_count), the instance (or null when absent).
  returned: always
  type: dict
launched:
  description:
    - Names of the instances launched (or that would be, in check mode).
    - When a launch fails part-way, the failed result lists the ones launched before it.
  returned: always
  type: list
  elements: str
  sample: [sophia-worker-03]
instance_ids:
  description:
    - Ids of the instances this task launched, in launch order (empty in check mode).
    - Also in the failed result of a launch, wait or terminate that fails after launching,
      so instances already running (and billed) are never forgotten.
  returned: always
  type: list
  elements: str
  sample: [0920582c7ff041399e34823a0be62549]
not_launched:
  description: Names that were still to be launched when a launch failed part-way.
  returned: when a launch failed after another one of the same task succeeded
  type: list
  elements: str
terminated:
  description: Names of the instances terminated (or that would be, in check mode).
  returned: always
  type: list
  elements: str
restarted:
  description: Names of the instances restarted.
  returned: always
  type: list
  elements: str
"""

import re
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.sophia.platform.plugins.module_utils._lambda_cloud import (
    GONE_STATUSES,
    LambdaCloudError,
    client_from_module,
    dict_to_tags,
    fail_from_error,
    instance_summary,
    lambda_cloud_argument_spec,
    tags_to_dict,
)

TAG_KEY_RE = re.compile(r"^[a-z][a-z0-9-:]+$")
HOSTNAME_RE = re.compile(r"^[a-z0-9][0-9a-z-]{0,62}$")
MOUNT_RE = re.compile(r"^(/home|/lambda/nfs|/data)[/a-zA-Z0-9-]*$")
ID_RE = re.compile(r"^[0-9a-f]{32}$")


class InstanceManager:
    def __init__(self, module, client):
        self.module = module
        self.client = client
        self.p = module.params
        self.tags = {str(k): "" if v is None else str(v) for k, v in (self.p["tags"] or {}).items()}
        self.group = self.p["count"] is not None or self.p["exact_count"] is not None
        self.result = dict(changed=False, launched=[], instance_ids=[], terminated=[], restarted=[], instances=[],
                           instance=None)

    # -- validation (no API call) -------------------------------------------------------

    def validate_params(self):
        p = self.p
        errors = []
        for key, value in self.tags.items():
            if not TAG_KEY_RE.match(key) or len(key) > 55:
                errors.append("tag key %r must match ^[a-z][a-z0-9-:]+$ and be at most 55 characters" % key)
            if len(value) > 128:
                errors.append("tag %s: the value is longer than 128 characters" % key)
        for opt in ("count", "exact_count"):
            if p[opt] is not None and p[opt] < 0:
                errors.append("%s must be 0 or more, not %d" % (opt, p[opt]))
        longest = p["name"] + ("-%02d" % max(p["count"] or 0, p["exact_count"] or 0, 1) if self.group else "")
        if not p["name"] or len(longest) > 64:
            errors.append("name %r is empty or, with its number, longer than 64 characters" % p["name"])
        if p["hostname"] and not HOSTNAME_RE.match(p["hostname"]):
            errors.append("hostname %r must match ^[a-z0-9][0-9a-z-]{0,62}$" % p["hostname"])
        if p["hostname"] and self.group:
            errors.append("hostname cannot be set for a group (count/exact_count): each instance uses its own name")
        for mount in p["file_system_mounts"] or []:
            if not MOUNT_RE.match(mount["mount_point"]) or len(mount["mount_point"]) > 256:
                errors.append("mount_point %r must be under /home, /lambda/nfs or /data" % mount["mount_point"])
        if p["ssh_key_names"] is not None and not p["ssh_key_names"]:
            errors.append("ssh_key_names must name one SSH key")
        if p["user_data"] is not None and len(p["user_data"].encode("utf-8")) > 1024 * 1024:
            errors.append("user_data is larger than 1 MB")
        if errors:
            self.module.fail_json(msg="Invalid parameters: " + "; ".join(errors))

    # -- current state --------------------------------------------------------------------

    def _index(self, name):
        if not self.group:
            return 0 if name == self.p["name"] else None
        match = re.match(r"^%s-(\d+)$" % re.escape(self.p["name"]), name or "")
        return int(match.group(1)) if match else None

    def current(self):
        """Live instances of this name/group, as (index, instance); an error on foreign tags."""
        mine, foreign = [], []
        for inst in self.client.list_instances():
            if not isinstance(inst, dict) or inst.get("status") in GONE_STATUSES:
                continue
            index = self._index(inst.get("name"))
            if index is None:
                continue
            have = tags_to_dict(inst.get("tags"))
            if all(have.get(k) == v for k, v in self.tags.items()):
                mine.append((index, inst))
            else:
                foreign.append(inst)
        if foreign and self.p["state"] == "present":
            inst = foreign[0]
            self.module.fail_json(
                msg="Instance %s (id %s) already has this name but its tags %s do not include %s. Lambda cannot "
                    "change tags after launch, so it is not taken over and no second instance of that name is "
                    "launched: choose another name or terminate it."
                    % (inst.get("name"), inst.get("id"), tags_to_dict(inst.get("tags")), self.tags))
        mine.sort(key=lambda pair: (pair[0], pair[1].get("id")))
        return mine

    # -- checks before launching ---------------------------------------------------------------

    def check_launch_inputs(self):
        """Read-only checks: every problem is reported before anything is launched."""
        p = self.p
        missing = [opt for opt in ("region", "instance_type", "ssh_key_names") if not p[opt]]
        if missing:
            self.module.fail_json(msg="To launch %s, set %s." % (p["name"], ", ".join(missing)))
        region, itype = p["region"], p["instance_type"]
        errors = []
        try:
            regions = [r.get("name") for r in self.client.list_regions()]
        except LambdaCloudError as exc:
            if exc.status != 404:
                raise
            regions = None  # older API without GET /regions: the type check below still names regions
        if regions is not None and region not in regions:
            errors.append("unknown region %r (regions: %s)" % (region, ", ".join(sorted(regions))))
        types = self.client.list_instance_types()
        if itype not in types:
            errors.append("unknown instance type %r (types: %s)" % (itype, ", ".join(sorted(types))))
        elif p["check_capacity"] and not errors:
            available = [r.get("name") for r in types[itype].get("regions_with_capacity_available") or []]
            if region not in available:
                where = ("it has capacity in: %s" % ", ".join(available)) if available else "it has no capacity in any region right now"
                errors.append("no capacity for %s in %s; %s" % (itype, region, where))
        # Resources an earlier task of the same run may create: in check mode they cannot
        # exist yet, so their absence is a warning there and an error otherwise.
        missing = []
        keys = {k.get("name") for k in self.client.list_ssh_keys()}
        for key in p["ssh_key_names"]:
            if key not in keys:
                missing.append("SSH key %r is not in the account (use sophia.platform.lambda_ssh_key)" % key)
        if p["file_system_names"] or p["file_system_mounts"]:
            filesystems = self.client.list_filesystems()
            by_name = {f.get("name"): f for f in filesystems}
            by_id = {f.get("id"): f for f in filesystems}
            for name in p["file_system_names"] or []:
                fs = by_name.get(name)
                if fs is None:
                    errors.append("file system %r does not exist" % name)
                elif (fs.get("region") or {}).get("name") != region:
                    errors.append("file system %r is in %s, not %s" % (name, (fs.get("region") or {}).get("name"), region))
            for mount in p["file_system_mounts"] or []:
                if mount["file_system_id"] not in by_id:
                    errors.append("file system id %r does not exist" % mount["file_system_id"])
        ruleset_ids = []
        if p["firewall_rulesets"]:
            rulesets = self.client.list_firewall_rulesets()
            for ref in p["firewall_rulesets"]:
                found = [r for r in rulesets if r.get("id") == ref
                         or (r.get("name") == ref and (r.get("region") or {}).get("name") == region)]
                if len(found) > 1:
                    errors.append("firewall ruleset %r is not unique in %s" % (ref, region))
                elif not found:
                    missing.append("firewall ruleset %r does not exist in %s" % (ref, region))
                else:
                    ruleset_ids.append(found[0]["id"])
        if missing and self.module.check_mode and not errors:
            for problem in missing:
                self.module.warn("A launch would fail unless an earlier task creates it: %s." % problem)
        else:
            errors.extend(missing)
        if errors:
            self.module.fail_json(msg="Cannot launch %s: %s." % (p["name"], "; ".join(errors)))
        return ruleset_ids

    def launch_request(self, name, ruleset_ids):
        p = self.p
        req = {
            "region_name": p["region"],
            "instance_type_name": p["instance_type"],
            "ssh_key_names": list(p["ssh_key_names"]),
            "name": name,
        }
        hostname = p["hostname"] or (name if HOSTNAME_RE.match(name) else None)
        if hostname:
            req["hostname"] = hostname
        if p["file_system_names"]:
            req["file_system_names"] = list(p["file_system_names"])
        if p["file_system_mounts"]:
            req["file_system_mounts"] = [dict(file_system_id=m["file_system_id"], mount_point=m["mount_point"])
                                         for m in p["file_system_mounts"]]
        if p["image_id"]:
            req["image"] = {"id": p["image_id"]}
        elif p["image_family"]:
            req["image"] = {"family": p["image_family"]}
        if p["user_data"] is not None:
            req["user_data"] = p["user_data"]
        if self.tags:
            req["tags"] = dict_to_tags(self.tags)
        if ruleset_ids:
            req["firewall_rulesets"] = [{"id": i} for i in ruleset_ids]
        return req

    def warn_drift(self, instances):
        p = self.p
        for dummy, inst in instances:
            have_region = (inst.get("region") or {}).get("name")
            have_type = (inst.get("instance_type") or {}).get("name")
            if p["region"] and have_region and have_region != p["region"]:
                self.module.warn("%s is in %s, not %s; Lambda cannot move an instance." % (inst.get("name"), have_region, p["region"]))
            if p["instance_type"] and have_type and have_type != p["instance_type"]:
                self.module.warn("%s is a %s, not %s; Lambda cannot resize an instance." % (inst.get("name"), have_type, p["instance_type"]))

    def launch(self, names, ruleset_ids):
        """Launch ``names`` one by one; a failure part-way reports what is already running."""
        ids = self.result["instance_ids"]
        for number, name in enumerate(names):
            try:
                new = self.client.launch_instance(self.launch_request(name, ruleset_ids))
            except LambdaCloudError as exc:
                if not self.result["launched"]:
                    raise
                # Instances already launched cost money and carry the group's names: say
                # which, so nobody launches them twice or forgets to terminate them.
                self.result["not_launched"] = list(names[number:])
                self.module.fail_json(
                    msg="Launched %s (ids %s), then launching %s failed: %s Run the task again to launch "
                        "the rest; it finds the launched ones by name and tags and does not launch them twice."
                        % (", ".join(self.result["launched"]), ", ".join(ids), name, exc),
                    status=exc.status, code=exc.code, api_message=exc.message, suggestion=exc.suggestion,
                    **self.result)
            self.result["launched"].append(name)
            ids.extend(new)
        return list(ids)

    # -- waiting ------------------------------------------------------------------------

    def wait_active(self, ids, deadline):
        done = {}
        pending = list(ids)
        while pending:
            for iid in list(pending):
                inst = self.client.get_instance(iid)
                status = inst.get("status")
                if status == "active":
                    done[iid] = inst
                    pending.remove(iid)
                elif status in GONE_STATUSES:
                    self.module.fail_json(msg="Instance %s (%s) became %s while waiting for it to be active."
                                              % (inst.get("name"), iid, status), **self.result)
            if pending:
                if time.monotonic() > deadline:
                    self.module.fail_json(msg="Timed out after %d s waiting for %s to be active; they may still boot."
                                              % (self.p["wait_timeout"], ", ".join(pending)), **self.result)
                time.sleep(self.p["wait_interval"])
        return done

    def wait_gone(self, ids, deadline):
        ids = set(ids)
        while True:
            live = {i.get("id") for i in self.client.list_instances()
                    if isinstance(i, dict) and i.get("status") not in ("terminated",)}
            if not ids & live:
                return
            if time.monotonic() > deadline:
                self.module.fail_json(msg="Timed out after %d s waiting for %s to terminate."
                                          % (self.p["wait_timeout"], ", ".join(sorted(ids & live))), **self.result)
            time.sleep(self.p["wait_interval"])

    # -- states -------------------------------------------------------------------------

    def plan_present(self, current):
        """(names to launch, instances to terminate)."""
        p = self.p
        if not self.group:
            return ([] if current else [p["name"]]), []
        want = p["exact_count"] if p["exact_count"] is not None else p["count"]
        used = {index for index, dummy in current}
        launch = []
        index = 1
        while len(current) + len(launch) < want:
            if index not in used:
                launch.append("%s-%02d" % (p["name"], index))
            index += 1
        terminate = []
        if p["exact_count"] is not None and len(current) > want:
            terminate = [inst for dummy, inst in sorted(current, key=lambda pair: -pair[0])[: len(current) - want]]
        return launch, terminate

    def run(self):
        p = self.p
        self.validate_params()
        current = self.current()
        before = [_diff_view(i) for dummy, i in current]
        deadline = time.monotonic() + p["wait_timeout"]
        after_ids = None

        if p["state"] == "present":
            launch, terminate = self.plan_present(current)
            self.warn_drift(current)
            ruleset_ids = self.check_launch_inputs() if launch else []
            self.result["terminated"] = [i.get("name") for i in terminate]
            if launch or terminate:
                self.result["changed"] = True
            if self.module.check_mode:
                self.result["launched"] = launch
            else:
                self.client.launch_interval = p["launch_interval"]
                new_ids = self.launch(launch, ruleset_ids)
                if terminate:
                    self.client.terminate_instances([i["id"] for i in terminate])
                if p["wait"]:
                    if new_ids:
                        self.wait_active(new_ids, deadline)
                    if terminate:
                        self.wait_gone([i["id"] for i in terminate], deadline)
        elif p["state"] == "absent":
            self.result["terminated"] = [i.get("name") for dummy, i in current]
            if current:
                self.result["changed"] = True
                if not self.module.check_mode:
                    ids = [i["id"] for dummy, i in current]
                    self.client.terminate_instances(ids)
                    if p["wait"]:
                        self.wait_gone(ids, deadline)
            after_ids = []
        else:  # restarted
            if not current:
                self.module.fail_json(msg="No instance %s with tags %s to restart." % (p["name"], self.tags))
            self.result["restarted"] = [i.get("name") for dummy, i in current]
            self.result["changed"] = True
            if not self.module.check_mode:
                ids = [i["id"] for dummy, i in current]
                self.client.restart_instances(ids)
                if p["wait"]:
                    self.wait_active(ids, deadline)

        if self.module.check_mode:
            after = self._planned_after(before)
            self.result["instances"] = [instance_summary(i) for dummy, i in current
                                        if i.get("name") not in self.result["terminated"]]
        else:
            final = [] if after_ids == [] else [i for dummy, i in self.current()]
            self.result["instances"] = [instance_summary(i) for i in final]
            after = [_diff_view(i) for i in final]
        if not self.group:
            self.result["instance"] = self.result["instances"][0] if self.result["instances"] else None
        if self.module._diff:
            self.result["diff"] = dict(before=dict(instances=before), after=dict(instances=after))
        return self.result

    def _planned_after(self, before):
        p = self.p
        after = [b for b in before if b["name"] not in self.result["terminated"]]
        for name in self.result["launched"]:
            after.append(dict(name=name, status="active" if p["wait"] else "booting",
                              instance_type=p["instance_type"], region=p["region"], tags=self.tags))
        return sorted(after, key=lambda v: v["name"] or "")


def _diff_view(inst):
    return dict(
        name=inst.get("name"),
        status=inst.get("status"),
        instance_type=(inst.get("instance_type") or {}).get("name"),
        region=(inst.get("region") or {}).get("name"),
        tags=tags_to_dict(inst.get("tags")),
    )


def main():
    argument_spec = lambda_cloud_argument_spec(
        name=dict(type="str", required=True),
        state=dict(type="str", default="present", choices=["present", "absent", "restarted"]),
        count=dict(type="int"),
        exact_count=dict(type="int"),
        region=dict(type="str"),
        instance_type=dict(type="str"),
        ssh_key_names=dict(type="list", elements="str", no_log=False),
        file_system_names=dict(type="list", elements="str"),
        file_system_mounts=dict(type="list", elements="dict", options=dict(
            file_system_id=dict(type="str", required=True),
            mount_point=dict(type="str", required=True),
        )),
        firewall_rulesets=dict(type="list", elements="str"),
        image_family=dict(type="str"),
        image_id=dict(type="str"),
        user_data=dict(type="str", no_log=True),
        hostname=dict(type="str"),
        tags=dict(type="dict", default={}),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=900),
        wait_interval=dict(type="float", default=10.0),
        launch_interval=dict(type="float", default=12.0),
        check_capacity=dict(type="bool", default=True),
    )
    module = AnsibleModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        mutually_exclusive=[("count", "exact_count"), ("image_family", "image_id")],
    )
    client = client_from_module(module)
    manager = InstanceManager(module, client)
    try:
        result = manager.run()
    except LambdaCloudError as exc:
        # After a launch (waiting, terminating), the failure still names what was launched.
        done = {}
        if not module.check_mode:
            done = dict(launched=manager.result["launched"], instance_ids=manager.result["instance_ids"])
        fail_from_error(module, exc, **done)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
