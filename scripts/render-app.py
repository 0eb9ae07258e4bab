# Copyright: Sophia platform team
# Apache License 2.0 (see LICENSE)
"""Render every object of the application layer for every environment, offline.

Runs the real playbooks/app.yml once per environment with k8s_apply_render_dir
set, so every role (validation included) writes the objects it would apply to
the cluster as OUT/<env>/<set>.yaml, and no cluster is contacted. Inventories
are the ones scripts/render-platform.py builds (lab's own; dev, staging and
prod from their group_vars with a synthetic host list). No vault is opened:
the vault_* names get placeholder values that say so.

Usage: python scripts/render-app.py [--out DIR] [--set NAME=VALUE ...] [ENV ...]
       (default: all four environments, into .cache/app-manifests)
"""

import argparse
import concurrent.futures
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
_SPEC = importlib.util.spec_from_file_location("render_platform", os.path.join(HERE, "render-platform.py"))
platform = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(platform)

REPO = platform.REPO
ENVIRONMENTS = platform.ENVIRONMENTS
MCP_SERVERS = ["ai-memory", "codacy", "github", "linear", "asana", "notion", "hubspot", "slack"]
PLACEHOLDERS = {
    "vault_postgres_ha_app_password": "render-placeholder-postgres-password",
    "vault_postgres_ha_backup_access_key_id": "render-placeholder-s3-key-id",
    "vault_postgres_ha_backup_secret_access_key": "render-placeholder-s3-secret-key",
    "vault_redis_ha_password": "render-placeholder-redis-password",
    "vault_sophia_app_jwt_signing_key": "render-placeholder-jwt-signing-key-0123456789",
    "vault_sophia_app_oauth_client_secrets": {"google": "render-placeholder-oauth-google"},
    "vault_sophia_app_mcp_api_keys": {name: "render-placeholder-mcp-key-" + name for name in MCP_SERVERS},
}


def secret_values():
    """Every placeholder string a rendered object or log must show only inside a Secret."""
    values = []
    for value in PLACEHOLDERS.values():
        values.extend(value.values() if isinstance(value, dict) else [value])
    return values


def render(env, out, workdir, playbook_bin, overrides, playbook="app.yml"):
    target = os.path.join(out, env)
    shutil.rmtree(target, ignore_errors=True)
    os.makedirs(target)
    extra = dict(PLACEHOLDERS, ansible_python_interpreter=sys.executable, k8s_apply_render_dir=target)
    extra.update(overrides)
    extra_file = os.path.join(workdir, "extra-%s.json" % env)
    with open(extra_file, "w") as handle:
        json.dump(extra, handle)
    run = subprocess.run(
        [playbook_bin, "-i", platform.inventory_for(env, workdir), "-e", "@" + extra_file,
         os.path.join(REPO, "playbooks", playbook)],
        cwd=REPO, env=dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
                           ANSIBLE_RETRY_FILES_ENABLED="0", ANSIBLE_LOCALHOST_WARNING="0"),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, check=False)
    return run.returncode, sorted(os.listdir(target)), run.stdout


def parse_sets(items):
    overrides = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep:
            raise SystemExit("--set needs NAME=VALUE, got %r" % item)
        try:
            overrides[name] = json.loads(value)
        except ValueError:
            overrides[name] = value
    return overrides


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(REPO, ".cache", "app-manifests"))
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="extra variable for every environment (JSON or a string), e.g. a recovery target time")
    parser.add_argument("--show-output", action="store_true", help="print ansible-playbook's output")
    parser.add_argument("environments", nargs="*", metavar="ENV")
    args = parser.parse_args()
    unknown = sorted(set(args.environments) - set(ENVIRONMENTS))
    if unknown:
        parser.error("unknown environment(s) %s; known: %s" % (", ".join(unknown), ", ".join(ENVIRONMENTS)))
    playbook_bin = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    if not os.path.exists(playbook_bin):
        playbook_bin = shutil.which("ansible-playbook") or "ansible-playbook"
    out, overrides = os.path.abspath(args.out), parse_sets(args.set)
    environments = args.environments or ENVIRONMENTS
    workdir = tempfile.mkdtemp(prefix="render-app-")
    failed = []
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=len(environments)) as pool:
            results = list(pool.map(lambda env: render(env, out, workdir, playbook_bin, overrides), environments))
        for env, (code, files, log) in zip(environments, results):
            if args.show_output or code:
                print(log if code == 0 else log[-6000:])
            print("%s: %s" % (env, ", ".join(files) if code == 0 else "FAILED (ansible-playbook exit %d)" % code))
            if code:
                failed.append(env)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if failed:
        raise SystemExit("rendering failed for " + ", ".join(failed))
    print("objects in %s" % out)


if __name__ == "__main__":
    main()
