"""Benchmark the sophia.platform.lambda_cloud inventory plugin on 1,000 instances.

Serves 1,000 instances from the fake Lambda API (tests/lambda_fake, 127.0.0.1 only) and times

* the plugin's own work (parse() in this process): cold (one API call) and cached (none);
* the whole ``ansible-inventory --list`` process: plugin cold, plugin cached, and a static
  YAML inventory of the same hosts, variables and groups.

Bar (docs/lambda-cloud.md): plugin work < 1 s cold, < 0.2 s cached; one API call cold,
none cached; the ansible-inventory process <= 1.3x the static one. Exits non-zero when a
bar is missed.

    .venv/bin/python scripts/bench-inventory.py [--instances 1000] [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
BIN = pathlib.Path(sys.executable).parent
sys.path.insert(0, str(REPO / ".collections"))
sys.path.insert(0, str(REPO / "tests"))

from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder  # noqa: E402

_AnsibleCollectionFinder(paths=[str(REPO / ".collections")])._install()

import yaml  # noqa: E402
from ansible._internal._datatag._tags import Origin  # noqa: E402
from ansible.inventory.data import InventoryData  # noqa: E402
from ansible.inventory.manager import _InventoryDataWrapper  # noqa: E402
from ansible.parsing.dataloader import DataLoader  # noqa: E402
from ansible.plugins.loader import inventory_loader  # noqa: E402
from lambda_fake import FakeLambda  # noqa: E402


def static_inventory(inventory):
    """The plugin's result as a static YAML inventory (same hosts, vars, groups)."""
    groups = {}
    for name, group in inventory.groups.items():
        if name in ("all", "ungrouped"):
            continue
        entry = {}
        if group.hosts:
            entry["hosts"] = {h.name: None for h in group.hosts}
        if group.child_groups:
            entry["children"] = {c.name: None for c in group.child_groups}
        groups[name] = entry
    hosts = {name: json.loads(json.dumps(dict(h.vars))) for name, h in inventory.hosts.items()}
    for entry in groups.values():
        for name in entry.get("hosts", {}):
            entry["hosts"][name] = {}
    # through JSON: plain str/dict/list (inventory names are tagged str subclasses)
    return json.loads(json.dumps({"all": {"hosts": hosts, "children": groups}}))


def time_cli(args, env, runs):
    times = []
    for dummy in range(runs):
        start = time.perf_counter()
        proc = subprocess.run(args, env=env, cwd=REPO, capture_output=True, text=True, check=False)
        times.append(time.perf_counter() - start)
        if proc.returncode != 0:
            raise SystemExit("%s failed:\n%s" % (" ".join(args), proc.stderr[-2000:]))
    return statistics.median(times), proc.stdout


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("--instances", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    opts = parser.parse_args()

    work = pathlib.Path(tempfile.mkdtemp(prefix="bench-inventory-"))
    fake = FakeLambda()
    url = fake.start()
    for i in range(opts.instances):
        fake.add_instance("node-%04d" % i, tags={"cluster": "bench", "role": "server" if i < 3 else "agent"},
                          instance_type="gpu_1x_gh200" if i % 4 else "gpu_8x_h100_sxm5",
                          region="us-east-3" if i % 4 else "us-west-1")
    fake.add_instance("other-cluster", tags={"cluster": "prod", "role": "agent"})
    # Validate the big response once against the OpenAPI schema before timing anything.
    from ansible_collections.sophia.platform.plugins.module_utils._lambda_cloud import LambdaCloudClient

    LambdaCloudClient(api_key=fake.api_key, api_url=url).list_instances()
    assert not fake.schema_errors, fake.schema_errors

    cache_dir = work / "cache"
    config = work / "bench.lambda_cloud.yml"
    config.write_text(
        "plugin: sophia.platform.lambda_cloud\napi_url: %s\ntags: [cluster=bench]\n"
        "cache: true\ncache_plugin: ansible.builtin.jsonfile\ncache_connection: %s\ncache_timeout: 3600\n"
        % (url, cache_dir)
    )
    os.environ["LAMBDA_API_KEY"] = fake.api_key

    # -- the plugin's own work, in process ------------------------------------------------
    def parse(cache, proxy=False):
        # proxy=False: the plugin's own work (InventoryData directly).
        # proxy=True: as InventoryManager runs it, through the proxy that passes every value
        # to core's variable visitor (origin tags): includes what core adds per variable.
        plugin = inventory_loader.get("sophia.platform.lambda_cloud")
        inventory = InventoryData()
        target = inventory
        if proxy:
            target = _InventoryDataWrapper(inventory, target_plugin=plugin, origin=Origin(description="bench"))
        start = time.perf_counter()
        plugin.parse(target, DataLoader(), str(config), cache=cache)
        plugin.update_cache_if_changed()
        return time.perf_counter() - start, inventory

    cold, cached, cold_calls, cached_calls = [], [], [], []
    inventory = None
    for dummy in range(opts.runs):
        for p in cache_dir.glob("*"):
            p.unlink()
        before = len(fake.calls("GET", "/instances"))
        seconds, inventory = parse(cache=True)
        cold.append(seconds)
        cold_calls.append(len(fake.calls("GET", "/instances")) - before)
        before = len(fake.calls("GET", "/instances"))
        seconds, dummy = parse(cache=True)
        cached.append(seconds)
        cached_calls.append(len(fake.calls("GET", "/instances")) - before)
    hosts = len(inventory.hosts)
    proxied = [parse(cache=True, proxy=True)[0] for dummy in range(opts.runs)]

    # -- whole ansible-inventory processes ----------------------------------------------------
    static = work / "static.yml"
    static.write_text(yaml.safe_dump(static_inventory(inventory), sort_keys=False))
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), LAMBDA_API_KEY=fake.api_key, HOME=str(work))
    cli = [str(BIN / "ansible-inventory"), "--list", "-i"]
    static_s, static_out = time_cli(cli + [str(static)], env, opts.runs)
    cold_s, dummy = time_cli(cli + [str(config), "--flush-cache"], env, opts.runs)
    cached_s, plugin_out = time_cli(cli + [str(config)], env, opts.runs)
    fake.stop()
    static_hosts = len(json.loads(static_out)["_meta"]["hostvars"])
    plugin_hosts = len(json.loads(plugin_out)["_meta"]["hostvars"])

    rows = [
        ("plugin parse(), cold (median)", "%.3f s" % statistics.median(cold), "< 1 s", statistics.median(cold) < 1.0),
        ("plugin parse(), cached (median)", "%.3f s" % statistics.median(cached), "< 0.2 s", statistics.median(cached) < 0.2),
        ("  same, through core's proxy (info)", "%.3f s" % statistics.median(proxied), "", True),
        ("API calls cold / cached", "%d / %d" % (max(cold_calls), max(cached_calls)), "1 / 0",
         max(cold_calls) == 1 and max(cached_calls) == 0),
        ("ansible-inventory, static YAML", "%.2f s" % static_s, "", True),
        ("ansible-inventory, plugin cold", "%.2f s (%.2fx)" % (cold_s, cold_s / static_s), "<= 1.3x", cold_s <= 1.3 * static_s),
        ("ansible-inventory, plugin cached", "%.2f s (%.2fx)" % (cached_s, cached_s / static_s), "<= 1.3x",
         cached_s <= 1.3 * static_s),
    ]
    print("Machine: %s, %d CPUs, Python %s; %d instances served, %d hosts selected (static: %d)"
          % (platform.platform(), os.cpu_count(), platform.python_version(), opts.instances + 1, hosts, static_hosts))
    assert hosts == plugin_hosts == static_hosts == opts.instances
    width = max(len(r[0]) for r in rows)
    for name, value, target, ok in rows:
        print("%-*s  %-18s %-8s %s" % (width, name, value, target, "ok" if ok else "MISSED"))
    return 0 if all(r[3] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
