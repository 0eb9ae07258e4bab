# Copyright: Sophia platform team
# Apache License 2.0 (see LICENSE)
"""Render every manifest of the platform layer for every environment, offline.

Runs the real playbooks/platform.yml once per environment with a local
connection, every role's manifests directory pointed at OUT/<env>/ and
*_wait_for_k3s false, so the roles (validation included) write exactly what
they would write on the first K3s server.

- lab: its own inventory (inventories/lab/hosts.yml).
- dev, staging, prod: their inventories read Lambda Cloud and need an API key.
  They are rendered from their own group_vars with a synthetic host list built
  from group_vars/all/provision.yml (sophia_lambda_node_groups: names, roles and
  counts; every node in the gpu group, as every node is a GH200 instance) and
  made-up private addresses in 10.19.0.0/24.
- Secrets: no vault is opened. The vault_* names (and the lab's generated
  Grafana password) are given placeholder values that say so.

Usage: python scripts/render-platform.py [--out DIR] [ENV ...]   (default: all four, into .cache/platform-manifests)
"""

import argparse
import concurrent.futures
import json
import os
import shutil
import subprocess
import sys
import tempfile

import yaml

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
ENVIRONMENTS = ["lab", "dev", "staging", "prod"]
ROLES = ["cert_manager", "traefik_config", "monitoring", "logging", "gpu_operator"]
PLACEHOLDERS = {
    "vault_monitoring_grafana_admin_password": "render-placeholder-not-a-real-password",
    "vault_monitoring_alertmanager_pagerduty_routing_key": "render-placeholder-routing-key00",
    "vault_monitoring_alertmanager_slack_webhook_url": "https://hooks.slack.com/services/RENDER/PLACEHOLDER/not-a-real-hook",
}


def synthetic_hosts(env):
    """Inventory data for a Lambda environment, from its provision.yml node groups."""
    with open(os.path.join(REPO, "inventories", env, "group_vars", "all", "provision.yml")) as handle:
        provision = yaml.safe_load(handle)
    servers, agents = {}, {}
    address = 10
    for group in provision["sophia_lambda_node_groups"]:
        for number in range(1, int(group["count"]) + 1):
            address += 1
            host = {"sophia_private_ip": "10.19.0.%d" % address}
            (servers if group["role"] == "server" else agents)["%s-%02d" % (group["name"], number)] = host
    gpu = {name: {} for name in list(servers) + list(agents)}
    return {"all": {"children": {
        "k3s_cluster": {"children": {"k3s_server": {"hosts": servers}, "k3s_agent": {"hosts": agents}}},
        "gpu": {"hosts": gpu},
    }}}


def inventory_for(env, workdir):
    if env == "lab":
        return os.path.join(REPO, "inventories", "lab")
    inventory = os.path.join(workdir, "inventory-" + env)
    os.mkdir(inventory)
    # group_vars next to the inventory source: the environment's own, unchanged.
    os.symlink(os.path.join(REPO, "inventories", env, "group_vars"), os.path.join(inventory, "group_vars"))
    with open(os.path.join(inventory, "hosts.yml"), "w") as handle:
        json.dump(synthetic_hosts(env), handle)
    return inventory


def render(env, out, workdir, playbook_bin):
    target = os.path.join(out, env)
    shutil.rmtree(target, ignore_errors=True)
    os.makedirs(target)
    extra = dict(PLACEHOLDERS, ansible_connection="local", ansible_python_interpreter=sys.executable,
                 ansible_become=False)
    if env == "lab":
        extra["monitoring_grafana_admin_password"] = PLACEHOLDERS["vault_monitoring_grafana_admin_password"]
    for role in ROLES:
        extra[role + "_manifests_dir"] = target
        extra[role + "_wait_for_k3s"] = False
    extra_file = os.path.join(workdir, "extra-%s.json" % env)
    with open(extra_file, "w") as handle:
        json.dump(extra, handle)
    env_vars = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
                    ANSIBLE_RETRY_FILES_ENABLED="0")
    run = subprocess.run(
        [playbook_bin, "-i", inventory_for(env, workdir), "-e", "@" + extra_file,
         os.path.join(REPO, "playbooks", "platform.yml")],
        cwd=REPO, env=env_vars, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
        check=False)
    if run.returncode != 0:
        sys.stderr.write(run.stdout[-6000:])
        raise SystemExit("rendering %s failed (ansible-playbook exit %d)" % (env, run.returncode))
    return sorted(os.listdir(target)), run.stdout


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(REPO, ".cache", "platform-manifests"))
    parser.add_argument("--show-output", action="store_true", help="print ansible-playbook's output")
    parser.add_argument("environments", nargs="*", metavar="ENV", help="one of %s (default: all)" % ", ".join(ENVIRONMENTS))
    args = parser.parse_args()
    unknown = sorted(set(args.environments) - set(ENVIRONMENTS))
    if unknown:
        parser.error("unknown environment(s) %s; known: %s" % (", ".join(unknown), ", ".join(ENVIRONMENTS)))
    playbook_bin = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    if not os.path.exists(playbook_bin):
        playbook_bin = shutil.which("ansible-playbook") or "ansible-playbook"
    out = os.path.abspath(args.out)
    workdir = tempfile.mkdtemp(prefix="render-platform-")
    environments = args.environments or ENVIRONMENTS
    try:
        # One ansible-playbook per environment, side by side: each waits mostly on its own start-up.
        with concurrent.futures.ThreadPoolExecutor(max_workers=len(environments)) as pool:
            results = list(pool.map(lambda env: render(env, out, workdir, playbook_bin), environments))
        for env, (files, log) in zip(environments, results):
            if args.show_output:
                print(log)
            print("%s: %s" % (env, ", ".join(files)))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print("manifests in %s" % out)


if __name__ == "__main__":
    main()
