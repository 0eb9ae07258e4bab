"""execution-environment.yml: `ansible-builder create` makes its build context offline, with
the checkout's own pins, the collection tarball and the system packages in it."""

import os
import pathlib
import shutil
import subprocess
import sys
import tarfile

import ansible_collections
import pytest
import yaml

REPO = pathlib.Path(__file__).resolve().parents[3]
BIN = pathlib.Path(sys.executable).parent
EE = yaml.safe_load((REPO / "execution-environment.yml").read_text())
GALAXY = yaml.safe_load((REPO / "galaxy.yml").read_text())
TARBALL = "sophia-platform-%s.tar.gz" % GALAXY["version"]
# Any network use during `create` fails fast: proxies that nothing listens on.
OFFLINE = {"HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9", "NO_PROXY": "",
           "ANSIBLE_GALAXY_SERVER": "http://127.0.0.1:9"}


def pins(path):
    return {line.split("==")[0].lower(): line.strip() for line in path.read_text().splitlines()
            if "==" in line and not line.lstrip().startswith("#")}


def run(*argv, cwd):
    done = subprocess.run([str(BIN / argv[0]), *argv[1:]], cwd=cwd, capture_output=True, text=True, timeout=300,
                          check=False, env={**os.environ, **OFFLINE})
    assert done.returncode == 0, done.stdout + done.stderr
    return done


@pytest.fixture(scope="module")
def context(tmp_path_factory):
    """The checkout's EE files in a scratch copy, the collection built, `ansible-builder create` run."""
    work = tmp_path_factory.mktemp("ee")
    for name in ("execution-environment.yml", "requirements.txt", "constraints.txt"):
        shutil.copy(REPO / name, work / name)
    run("ansible-galaxy", "collection", "build", "--force", "--output-path", str(work / ".cache" / "ee"), str(REPO),
        cwd=work)
    run("ansible-builder", "create", "-f", "execution-environment.yml", "-c", "context", cwd=work)
    return work, work / "context"


def test_schema_version_3_on_a_pinned_interpreter():
    assert EE["version"] == 3
    assert EE["dependencies"]["python_interpreter"]["python_path"] == "/usr/bin/python3.11"


def test_ansible_core_and_runner_are_the_checkouts_pins():
    wanted = pins(REPO / "requirements.txt")
    assert EE["dependencies"]["ansible_core"]["package_pip"] == wanted["ansible-core"]
    assert EE["dependencies"]["ansible_runner"]["package_pip"] == wanted["ansible-runner"]


def test_collection_tarball_named_after_galaxy_version():
    collection = EE["dependencies"]["galaxy"]["collections"]
    assert collection == [{"name": "/build/collection/" + TARBALL, "type": "file"}]
    assert {"src": ".cache/ee/" + TARBALL, "dest": "collection"} in EE["additional_build_files"]


def test_create_copies_requirements_and_constraints_unchanged(context):
    work, ctx = context
    assert (ctx / "_build" / "requirements.txt").read_text() == (REPO / "requirements.txt").read_text()
    assert (ctx / "_build" / "configs" / "constraints.txt").read_text() == (REPO / "constraints.txt").read_text()
    assert (ctx / "_build" / "collection" / TARBALL).read_bytes() == (work / ".cache" / "ee" / TARBALL).read_bytes()


def test_containerfile_enforces_the_constraints_before_any_pip_install(context):
    lines = (context[1] / "Containerfile").read_text().splitlines()
    assert lines[0] == 'ARG EE_BASE_IMAGE="%s"' % EE["images"]["base_image"]["name"]
    constraint = lines.index("ENV PIP_CONSTRAINT=/etc/sophia-platform/constraints.txt")
    copy = lines.index("COPY _build/configs/constraints.txt /etc/sophia-platform/constraints.txt")
    first_pip = min(number for number, line in enumerate(lines) if "pip_install" in line or "pip install" in line)
    assert copy < constraint < first_pip
    wanted = pins(REPO / "requirements.txt")
    assert 'ARG ANSIBLE_INSTALL_REFS="%s %s"' % (wanted["ansible-core"], wanted["ansible-runner"]) in lines
    assert 'ARG ANSIBLE_GALAXY_CLI_COLLECTION_OPTS="--no-deps"' in lines


def test_galaxy_stage_installs_the_collection_and_bindep_names_ssh(context):
    ctx = context[1]
    galaxy = yaml.safe_load((ctx / "_build" / "requirements.yml").read_text())
    assert galaxy["collections"] == [{"name": "/build/collection/" + TARBALL, "type": "file"}]
    assert "openssh-clients [platform:rpm]" in (ctx / "_build" / "bindep.txt").read_text().splitlines()


def test_every_collection_of_the_project_comes_with_the_pinned_ansible_package():
    # The galaxy stage installs with --no-deps: galaxy.yml's dependencies must be
    # the ones the `ansible` package (pinned in requirements.txt) ships.
    required = {entry["name"] for entry in yaml.safe_load((REPO / "collections" / "requirements.yml").read_text())[
        "collections"]}
    assert required == set(GALAXY["dependencies"])
    assert "ansible" in pins(REPO / "requirements.txt")
    shipped = {"%s.%s" % (path.parent.name, path.name) for root in ansible_collections.__path__
               for path in pathlib.Path(root).glob("*/*") if (path / "MANIFEST.json").is_file()}
    assert required <= shipped


def test_collection_tarball_leaves_out_the_deploy_command_and_workflows(context):
    with tarfile.open(context[0] / ".cache" / "ee" / TARBALL) as tarball:
        names = tarball.getnames()
    assert "roles/common/tasks/main.yml" in names
    assert not [name for name in names if name.split("/")[0] in ("tools", ".github", ".venv", ".cache")]
