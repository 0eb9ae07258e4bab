# Copyright: Sophia platform team
# Apache License 2.0 (see LICENSE)
"""sophia-deploy ENV PLAYBOOK: one playbook against inventories/ENV through ansible-runner.

Exit status (also in the JSON summary as ``exit_code``):
  0  every host ran the playbook without a failed task and was reachable
  1  a task failed on at least one host
  2  bad usage: unknown option, environment or playbook, unreadable extra-vars file
  3  prod refused: ``prod`` without --confirm-prod (nothing was run)
  4  at least one host was unreachable (and no task failed)
  5  the run itself failed or reached no host (inventory or syntax error, no host matched)
  130 interrupted
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import pathlib
import shlex
import sys
import time

import ansible_runner
import yaml
from ansible.parsing.splitter import parse_kv

from sophia_deploy import progress, project, summary

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_PROD_REFUSED, EXIT_UNREACHABLE, EXIT_RUN_ERROR = 0, 1, 2, 3, 4, 5
EXIT_INTERRUPTED = 130
PROTECTED_ENVIRONMENTS = frozenset({"prod"})
PROD_REFUSAL = ("sophia-deploy: refusing to run %s against %r without --confirm-prod; nothing was run. "
                "Add --confirm-prod to change production.")
IDENT = "run"


def parser():
    parse = argparse.ArgumentParser(
        prog="sophia-deploy",
        description="Run one sophia.platform playbook against inventories/ENV through ansible-runner, "
                    "with a line per task, a table per host and JSON + JUnit summaries.",
        epilog="Exit status: 0 ok, 1 task failed, 2 bad usage, 3 prod refused, 4 host unreachable, "
               "5 run error or no host. Vault: set ANSIBLE_VAULT_PASSWORD_FILE; no password is ever "
               "taken on the command line.")
    parse.add_argument("environment", metavar="ENV", help="an inventory under inventories/ (lab, dev, staging, prod)")
    parse.add_argument("playbook", metavar="PLAYBOOK", help="site.yml or a playbook of playbooks/ (report, playbooks/report.yml)")
    parse.add_argument("--check", action="store_true", help="ansible's check mode: change nothing")
    parse.add_argument("--diff", action="store_true", help="record the differences of changed files (in the run's artifacts/stdout, not printed)")
    parse.add_argument("--limit", metavar="PATTERN", help="only these hosts or groups")
    parse.add_argument("--tags", metavar="TAGS", help="only tasks with these tags")
    parse.add_argument("-e", "--extra-vars", metavar="VARS", action="append", default=[],
                       help="key=value pairs, JSON/YAML, or @file; values are never printed")
    parse.add_argument("--confirm-prod", action="store_true", help="required to run against prod")
    parse.add_argument("--project-dir", type=pathlib.Path, default=None,
                       help="the sophia.platform checkout (default: the one this command was installed from)")
    parse.add_argument("--runner-dir", type=pathlib.Path, default=None,
                       help="where runs are kept (default: PROJECT/.cache/runner)")
    return parse


def parse_extra_vars(values, cwd):
    """(variables, files): inline key=value / JSON / YAML merged in order, and @file paths made absolute."""
    variables, files = {}, []
    for value in values:
        value = value.strip()
        if value.startswith("@"):
            path = (cwd / value[1:]).resolve()
            if not path.is_file():
                raise project.UsageError("extra-vars file %s does not exist" % path)
            files.append(path)
        elif value.startswith(("{", "[")):
            loaded = yaml.safe_load(value)
            if not isinstance(loaded, dict):
                raise project.UsageError("--extra-vars JSON/YAML must be a mapping")
            variables.update(loaded)
        elif value:
            parsed = parse_kv(value)
            if "_raw_params" in parsed:
                raise project.UsageError("--extra-vars takes key=value pairs, JSON/YAML or @file")
            variables.update(parsed)
    return variables, files


def run_dir(root, environment, playbook):
    """A new private_data_dir: <root>/<UTC time>-<env>-<playbook>, readable by its owner only."""
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    stem = pathlib.PurePosixPath(playbook).stem
    root.mkdir(parents=True, exist_ok=True)
    for attempt in range(100):
        path = root / ("%s-%s-%s%s" % (stamp, environment, stem, "-%d" % attempt if attempt else ""))
        try:
            path.mkdir(mode=0o700)
            return path
        except FileExistsError:
            continue
    raise project.UsageError("cannot create a run directory under %s" % root)


def write_extravars(pdd, variables):
    """Extra vars go to env/extravars (mode 0600), which the runner passes as -e @file.

    Handing them to ansible_runner as a dict would put their values on
    ansible-playbook's command line (visible to ps, kept in the artifacts' command file).
    """
    if not variables:
        return None
    env = pdd / "env"
    env.mkdir(mode=0o700, exist_ok=True)
    path = env / "extravars"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump(variables, handle)
    return path


def redact_command_file(path):
    """Keep the names, not the values, of the environment the runner recorded in artifacts/<ident>/command.

    The runner writes the whole environment there: LAMBDA_API_KEY, cloud tokens and
    whatever else CI exported would otherwise stay on disk with the artifacts.
    """
    if not path.is_file():
        return
    recorded = json.loads(path.read_text())
    recorded["env"] = sorted(recorded.get("env") or {})
    path.write_text(json.dumps(recorded))


def exit_code(status, rc, facts):
    """(code, reason) from the runner's status and the per-host summary."""
    if facts["failed_hosts"]:
        return EXIT_FAILED, "task failed on " + ", ".join(facts["failed_hosts"])
    if facts["unreachable_hosts"]:
        return EXIT_UNREACHABLE, "unreachable: " + ", ".join(facts["unreachable_hosts"])
    if status != "successful" or rc != 0:
        return EXIT_RUN_ERROR, "the run failed (runner status %s, rc %s)" % (status, rc)
    if not facts["hosts"]:
        return EXIT_RUN_ERROR, "no host ran a task"
    return EXIT_OK, "ok"


def error_lines(stdout_path, limit=10):
    """Ansible's own error lines from the stdout of a run in which no task ran (inventory, syntax)."""
    if not stdout_path.is_file():
        return []
    lines = [line for line in stdout_path.read_text(errors="replace").splitlines()
             if line.startswith(("ERROR!", "[ERROR]"))]
    return [progress.one_line(line, 300) for line in lines[:limit]]


def main(argv=None, out=None):
    out = out or sys.stdout
    args = parser().parse_args(argv)
    repo = (args.project_dir or project.default_project_dir()).resolve()
    try:
        inventory = project.resolve_environment(repo, args.environment)
        playbook = project.resolve_playbook(repo, args.playbook)
        variables, files = parse_extra_vars(args.extra_vars, pathlib.Path.cwd())
    except project.UsageError as error:
        print("sophia-deploy: %s" % error, file=sys.stderr)
        return EXIT_USAGE
    if args.environment in PROTECTED_ENVIRONMENTS and not args.confirm_prod:
        print(PROD_REFUSAL % (playbook, args.environment), file=sys.stderr)
        return EXIT_PROD_REFUSED
    return deploy(args, repo, inventory, playbook, variables, files, out)


def deploy(args, repo, inventory, playbook, variables, files, out):
    pdd = run_dir((args.runner_dir or repo / ".cache" / "runner").resolve(), args.environment, playbook)
    extravars_file = write_extravars(pdd, variables)
    cmdline = []
    if args.check:
        cmdline.append("--check")
    if args.diff:
        cmdline.append("--diff")
    for path in files:
        cmdline += ["-e", "@%s" % path]
    envvars = {"ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0"}
    if (repo / "ansible.cfg").is_file():
        envvars["ANSIBLE_CONFIG"] = str(repo / "ansible.cfg")

    mode = " (check mode)" if args.check else ""
    out.write("sophia-deploy: %s on %s%s\n" % (playbook, args.environment, mode))
    out.write("  inventory  %s\n  run dir    %s\n" % (inventory, pdd))
    if args.limit:
        out.write("  limit      %s\n" % args.limit)
    if args.tags:
        out.write("  tags       %s\n" % args.tags)
    if variables or files:
        names = sorted(variables) + ["@%s" % path for path in files]
        out.write("  extra vars %s (values not shown)\n" % ", ".join(names))
    if os.environ.get("ANSIBLE_VAULT_PASSWORD_FILE"):
        out.write("  vault      password file from ANSIBLE_VAULT_PASSWORD_FILE\n")
    out.flush()

    handler = progress.Progress(out)
    started = time.time()
    try:
        result = ansible_runner.run(
            private_data_dir=str(pdd), project_dir=str(repo), playbook=playbook, inventory=str(inventory),
            ident=IDENT, envvars=envvars, cmdline=shlex.join(cmdline) if cmdline else None,
            limit=args.limit, tags=args.tags, quiet=True, event_handler=handler)
    except KeyboardInterrupt:
        out.write("sophia-deploy: interrupted\n")
        return EXIT_INTERRUPTED
    finally:
        # Kept artifacts must not hold the values of extra vars.
        if extravars_file is not None:
            extravars_file.unlink(missing_ok=True)
        redact_command_file(pdd / "artifacts" / IDENT / "command")
    handler.finish_task()
    finished = time.time()

    artifacts = pdd / "artifacts" / IDENT
    meta = {
        "environment": args.environment, "playbook": playbook, "inventory": str(inventory),
        "check": args.check, "diff": args.diff, "limit": args.limit, "tags": args.tags,
        "extra_vars": sorted(variables) + ["@%s" % path for path in files],
        "runner_status": result.status, "rc": result.rc, "artifacts_dir": str(artifacts),
        "started": datetime.datetime.fromtimestamp(started, datetime.timezone.utc).isoformat(),
        "duration_s": round(finished - started, 3),
    }
    facts = summary.build(meta, handler.stats, handler.failures)
    facts["exit_code"], facts["exit_reason"] = exit_code(result.status, result.rc, facts)
    artifacts.mkdir(parents=True, exist_ok=True)
    summary.write_json(facts, artifacts / "summary.json")
    summary.write_junit(facts, artifacts / "junit.xml")

    out.write("\n" + summary.table(facts) + "\n\n")
    if facts["exit_code"] == EXIT_RUN_ERROR and not handler.results_seen:
        for line in error_lines(artifacts / "stdout"):
            out.write("  %s\n" % line)
    out.write("result     %s (exit %d)\n" % (facts["exit_reason"], facts["exit_code"]))
    out.write("artifacts  %s\nsummary    %s\njunit      %s\n" % (
        artifacts, artifacts / "summary.json", artifacts / "junit.xml"))
    out.flush()
    return facts["exit_code"]


def console():
    """Console-script entry point."""
    sys.exit(main())
