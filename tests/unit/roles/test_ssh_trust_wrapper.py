"""The forced command of nova's ssh key (roles/novaops_ssh_trust/files/novaops-nova-ssh-wrapper).

The decision (allowed or refused, and why) is tested on the wrapper's own
functions; the commands that Nova and this collection really send are then
run for real through it: the collection's own Copier and host check build
them, real rsync, tar, scp and sftp carry them, a stand-in for ssh hands
them to the wrapper the way sshd does (SSH_ORIGINAL_COMMAND), on this
machine, without a network.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import io
import json
import os
import pwd
import shlex
import shutil
import stat
import struct
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
WRAPPER = REPO / "roles/novaops_ssh_trust/files/novaops-nova-ssh-wrapper"
SERVER_ID = "2b4c1a0e-8f7d-4e6c-9b5a-3d2c1b0a9f8e"
SFTP_SERVER = next((path for path in ("/usr/lib/openssh/sftp-server", "/usr/libexec/openssh/sftp-server")
                    if os.access(path, os.X_OK)), None)
needs_sftp_server = pytest.mark.skipif(SFTP_SERVER is None, reason="no OpenSSH sftp-server on this machine")
needs_copy_tools = pytest.mark.skipif(not all(shutil.which(tool) for tool in ("rsync", "tar", "scp", "sftp")),
                                      reason="rsync, tar, scp or sftp missing on this machine")


def load_wrapper():
    loader = importlib.machinery.SourceFileLoader("novaops_nova_ssh_wrapper", str(WRAPPER))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


wrapper = load_wrapper()


@pytest.fixture
def instances(tmp_path: Path) -> Path:
    """nova's instances_path, the one allowed directory."""
    path = tmp_path / "nova/instances"
    (path / "_base").mkdir(parents=True)
    return path


def allowed(instances: Path, command: str) -> list[list[str]]:
    decision = wrapper.decide(command, [str(instances)])
    assert decision.allowed, decision.reason
    return [step.argv for step in decision.steps]


def refused(instances: Path, command) -> str:
    decision = wrapper.decide(command, [str(instances)])
    assert not decision.allowed, f"{command!r} was allowed: {decision.steps}"
    assert decision.reason
    return decision.reason


# -- what Nova and the collection send ----------------------------------------------------------------------------

def nova_commands(i: Path) -> list[str]:
    """The remote commands of nova 34's libvirt driver, SSH transport (volume/remotefs.py SshDriver)."""
    inst = f"{i}/{SERVER_ID}"
    probe = f"{inst}/0f1e2d3c4b5a69788796a5b4c3d2e1f0.tmp"
    return [
        f"touch {probe}",                      # _is_path_shared_with: create_file
        f"rm {probe}",                         # ... remove_file when the source does not see it
        f"mkdir -p {inst}",                    # migrate_disk_and_power_off: create_dir
        f"rm -rf {inst}",                      # _cleanup_remote_migration: remove_dir
        f"scp -r -t {inst}/disk",              # copy_file (scp -C -r) of a disk, legacy protocol
        f"scp -r -t {inst}/disk.info",
        f"scp -r -t {inst}",                   # the vTPM directory into the instance directory
        f"scp -r -f {i}/_base/0123abcd",       # copy_image receive=True: a base image from the source
        f"scp -r -f {inst}/kernel",
        f"rsync --server -rSze.iLsfxCIvu . {inst}/disk",          # rsync transport: copy_file (compressed)
        f"rsync --server -rSe.iLsfxCIvu . {inst}/disk",           # ... a qcow2 (not compressed)
        f"rsync --server --sender -rSze.iLsfxCIvu . {i}/_base/0123abcd",  # ... receive=True
    ]


def collection_commands(i: Path) -> list[str]:
    partial = f"{i}/.{SERVER_ID}.novaops-partial"
    quoted = shlex.quote(partial)
    return [
        "true",                                                  # migration_host_check
        f"test -e {quoted}",                                     # instance_copy: partial directory there?
        f"test -e {shlex.quote(str(i / '_base/0123abcd'))}",          # ... backing file there?
        f"mkdir -p {quoted} && tar -C {quoted} --sparse -xpf -",  # ... fresh copy
        # The server side rsync 3.2-3.5 runs for instance_copy's copies (rsync_command):
        f"rsync --server -logDtprSe.iLsfxCIvu --timeout=60 --ignore-existing --mkpath . {i}/_base/0123abcd",
        f"rsync --server -logDtprSe.iLsfxCIvu --timeout=60 --delete . {partial}/",
        f"rsync --server -logDtprSze.iLsfxCIvu --timeout=60 --bwlimit=51200 --delete . {partial}/",
        f"rsync --server -logDtprSe.iLsfxCIvu --compress-level=5 --timeout=60 --delete . {partial}/",
        f"rsync --server -nlogDtprce.iLsfxCIvu --log-format=%i --timeout=60 --delete . {partial}/",
        # rsync 3.1 (EL8) sends fewer capabilities.
        f"rsync --server -logDtprSe.iLsfxC --timeout=60 --delete . {partial}/",
    ]


def test_every_command_of_nova_and_the_collection_is_allowed(instances):
    for command in nova_commands(instances) + collection_commands(instances):
        allowed(instances, command)


@pytest.mark.parametrize("server", ["/usr/lib/openssh/sftp-server", "/usr/libexec/openssh/sftp-server",
                                    "/usr/libexec/openssh/sftp-server -f AUTHPRIV -l INFO"])
def test_the_sftp_subsystem_runs_behind_the_filter(instances, server):
    """scp from OpenSSH 9.0 on: sshd puts the Subsystem line's command in SSH_ORIGINAL_COMMAND."""
    decision = wrapper.decide(server, [str(instances)])
    assert decision.allowed, decision.reason
    step = decision.steps[0]
    assert step.kind == wrapper.SFTP
    assert step.argv == shlex.split(server) + ["-P", "rename,posix-rename,symlink,hardlink"]


def test_simple_commands_run_as_sent(instances):
    inst = f"{instances}/{SERVER_ID}"
    assert allowed(instances, f"mkdir -p {inst}") == [["mkdir", "-p", inst]]
    assert allowed(instances, f"rm -rf {inst}") == [["rm", "-rf", inst]]
    assert allowed(instances, f"scp -r -d -t {inst}") == [["scp", "-r", "-d", "-t", inst]]
    assert allowed(instances, "true") == [["true"]]


def test_rsync_receivers_store_symlinks_unusable(instances):
    partial = f"{instances}/.{SERVER_ID}.novaops-partial/"
    assert allowed(instances, f"rsync --server -logDtprSe.iLsfxCIvu --timeout=60 --delete . {partial}") == [
        ["rsync", "--server", "--munge-links", "-logDtprSe.iLsfxCIvu", "--timeout=60", "--delete", ".", partial]]
    # A sender's links are read, not followed: nothing to add.
    source = f"{instances}/_base/0123abcd"
    assert allowed(instances, f"rsync --server --sender -rSze.iLsfxCIvu . {source}") == [
        ["rsync", "--server", "--sender", "-rSze.iLsfxCIvu", ".", source]]


def test_the_fresh_copy_is_a_chain_whose_tar_is_checked(instances):
    partial = f"{instances}/.{SERVER_ID}.novaops-partial"
    decision = wrapper.decide(f"mkdir -p {partial} && tar -C {partial} --sparse -xpf -", [str(instances)])
    assert decision.allowed, decision.reason
    assert [(step.argv, step.kind) for step in decision.steps] == [
        (["mkdir", "-p", partial], wrapper.EXEC),
        (["tar", "-C", partial, "--sparse", "-xpf", "-"], wrapper.TAR)]


def test_a_symlinked_instances_path_is_compared_by_its_target(tmp_path):
    real = tmp_path / "srv/instances"
    real.mkdir(parents=True)
    (tmp_path / "nova").mkdir()
    (tmp_path / "nova/instances").symlink_to(real)
    decision = wrapper.decide(f"mkdir -p {tmp_path}/nova/instances/{SERVER_ID}", [str(tmp_path / "nova/instances")])
    assert decision.allowed, decision.reason


# -- what is refused -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("command", [None, "", "   "])
def test_an_interactive_login_is_refused(instances, command):
    assert "interactive login" in refused(instances, command)


@pytest.mark.parametrize("command", [
    "bash", "bash -i", "sh -c id", "sh -c 'rm -rf /'", "python3 -c 'import os'", "cat /etc/shadow",
    "cat /etc/nova/nova.conf", "env", "sudo -n true", "nova-rootwrap /etc/nova/rootwrap.conf id", "id",
    "ls /", "cp /etc/passwd /tmp/x", "mv a b", "ln -s /etc x", "dd if=/dev/zero of=/tmp/x", "nc -l 9999",
    "/bin/sh", "/usr/bin/rsync --server -logDtpre.iLsfxCIvu . /var/lib/nova/instances/x",
    "./rsync --server", "exec bash", "virsh list",
])
def test_other_programs_are_refused(instances, command):
    reason = refused(instances, command)
    assert "not a command a migration runs" in reason or "without a path" in reason, reason


@pytest.mark.parametrize("command", ["mkdir -p '/var/lib/nova/instances/x", 'touch "/x', "touch /x\\"])
def test_a_command_shlex_cannot_split_is_refused(instances, command):
    assert "cannot be split" in refused(instances, command)


def test_paths_outside_the_allowed_directories_are_refused(instances):
    i = instances
    cases = {
        f"mkdir -p {i}/../../etc/x": '".."',
        f"touch {i}/x/../../y": '".."',
        f"mkdir -p {i}/{SERVER_ID}/..": '".."',
        f"rm -rf {i}": "the allowed directory itself",
        f"rm -rf {i}/": "the allowed directory itself",
        f"rm -rf {i}/.": "the allowed directory itself",
        f"rm -rf {i}//": "the allowed directory itself",
        f"touch {i}": "the allowed directory itself",
        f"mkdir -p {i}": "the allowed directory itself",
        "rm -rf /": "outside the allowed directories",
        "rm -f /etc/passwd": "outside the allowed directories",
        f"rm -rf {i}x": "outside the allowed directories",
        f"touch {i.parent}/.bashrc": "outside the allowed directories",
        f"mkdir -p {i.parent}/.ssh": "outside the allowed directories",
        "mkdir -p relative/dir": "not an absolute path",
        "touch disk": "not an absolute path",
        f"test -e {i.parent}/.ssh/authorized_keys": "outside the allowed directories",
        "test -e /etc/shadow": "outside the allowed directories",
    }
    for command, fragment in cases.items():
        assert fragment in refused(instances, command), command


def test_symlinks_that_lead_outside_are_refused(instances, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (instances / "escape").symlink_to(outside)
    (instances / "dotssh").symlink_to(instances.parent)
    for command in (f"touch {instances}/escape/x", f"mkdir -p {instances}/escape/d", f"rm -rf {instances}/escape",
                    f"scp -t {instances}/escape", f"scp -r -f {instances}/escape", f"test -e {instances}/escape",
                    f"rsync --server -logDtpre.iLsfxCIvu . {instances}/escape/",
                    f"touch {instances}/dotssh/.ssh/authorized_keys",
                    f"mkdir -p {instances}/escape && tar -C {instances}/escape --sparse -xpf -"):
        reason = refused(instances, command)
        assert "really" in reason and "outside the allowed directories" in reason, command


@pytest.mark.parametrize(("command", "fragment"), [
    ("true now", "no arguments"),
    ("test -d {i}", 'only "test -e PATH"'),
    ("test -e {i} -o -e /etc", 'only "test -e PATH"'),
    ("mkdir {i}/x", 'only "mkdir -p PATH"'),
    ("mkdir -p {i}/a {i}/b", "exactly one path"),
    ("mkdir -p -m 777 {i}/a", "exactly one path"),
    ("mkdir -p", "exactly one path"),
    ("touch {i}/a {i}/b", "exactly one path"),
    ("touch -d yesterday {i}/a", "exactly one path"),
    ("touch -r /etc/shadow {i}/a", "exactly one path"),
    ("rm -rf {i}/a {i}/b", "exactly one path"),
    ("rm -rf --no-preserve-root {i}/a", "rm allows only -f or -rf"),
    ("rm -r {i}/a", "rm allows only -f or -rf"),
    ("rm", "exactly one path"),
])
def test_options_and_arguments_that_are_not_on_the_list_are_refused(instances, command, fragment):
    assert fragment in refused(instances, command.format(i=instances))


@pytest.mark.parametrize(("command", "fragment"), [
    ("rsync -av /etc/ {i}/x", "rsync --server"),
    ("rsync --daemon", "rsync --server"),
    ("rsync --server", "without options"),
    ("rsync --server -e ssh . {i}/x", "option word"),
    ("rsync --server -logDtpre.iLsfxCIvu -e sh . {i}/x", "not allowed"),
    ("rsync --server -logDtprLe.iLsfxCIvu . {i}/x", "option word"),        # --copy-links
    ("rsync --server -logDtprKe.iLsfxCIvu . {i}/x", "option word"),        # --keep-dirlinks
    ("rsync --server -logDtprHe.iLsfxCIvu . {i}/x", "option word"),        # hard links
    ("rsync --server -logDtprRe.iLsfxCIvu --no-implied-dirs . /", "not allowed"),  # Nova's rsync create_dir
    ("rsync --server -logDtpre.iLsfxCIvu --rsync-path=/bin/sh . {i}/x", "not allowed"),
    ("rsync --server -logDtpre.iLsfxCIvu --log-file={i}/../.bashrc . {i}/x", "not allowed"),
    ("rsync --server -logDtpre.iLsfxCIvu --temp-dir=/tmp . {i}/x", "not allowed"),
    ("rsync --server -logDtpre.iLsfxCIvu --backup-dir=/tmp . {i}/x", "not allowed"),
    ("rsync --server -logDtpre.iLsfxCIvu --files-from=/etc/shadow . {i}/x", "not allowed"),
    ("rsync --server -logDtpre.iLsfxCIvu --remove-source-files . {i}/x", "not allowed"),
    ("rsync --server -logDtpre.iLsfxCIvu --log-format=%n . {i}/x", "not allowed"),
    ("rsync --server -logDtpre.iLsfxCIvu --munge-links . {i}/x", "not allowed"),
    ("rsync --server -logDtpre.iLsfxCIvu {i}/x", "/x' is not allowed"),
    ("rsync --server -logDtpre.iLsfxCIvu .", '"." and then the paths'),
    ("rsync --server -logDtpre.iLsfxCIvu . /etc", "outside the allowed directories"),
    ("rsync --server -logDtpre.iLsfxCIvu . {i}", "the allowed directory itself"),
    ("rsync --server -logDtpre.iLsfxCIvu . {i}/a {i}/b", "exactly one path"),
    ("rsync --server --sender -logDtpre.iLsfxCIvu . /etc/nova/nova.conf", "outside the allowed directories"),
    ("rsync --server --sender -logDtpre.iLsfxCIvu . {i}/ok /etc/passwd", "outside the allowed directories"),
    ("rsync --server - . {i}/x", "option word"),
])
def test_rsync_is_only_the_server_side_of_a_copy_inside_the_allowed_directories(instances, command, fragment):
    assert fragment in refused(instances, command.format(i=instances))


@pytest.mark.parametrize(("command", "fragment"), [
    ("scp /etc/passwd {i}/x", "without -t or -f"),
    ("scp -r {i}/x", "without -t or -f"),
    ("scp", "without -t or -f"),
    ("scp -S /bin/sh -t {i}/x", "option '-S'"),
    ("scp -o ProxyCommand=sh -t {i}/x", "option '-o'"),
    ("scp -rt {i}/x", "option '-rt'"),
    ("scp -t -f {i}/x", "option '-f'"),
    ("scp -r -r -t {i}/x", "option '-r'"),
    ("scp -t /etc/cron.d/x", "outside the allowed directories"),
    ("scp -t {i}", "the allowed directory itself"),
    ("scp -t {i}/a {i}/b", "exactly one path"),
    ("scp -t", "exactly one path"),
    ("scp -f /etc/passwd", "outside the allowed directories"),
    ("scp -f {i}/ok /etc/passwd", "outside the allowed directories"),
    ("scp -f", "needs a path"),
])
def test_scp_is_only_the_remote_side_of_a_copy_inside_the_allowed_directories(instances, command, fragment):
    assert fragment in refused(instances, command.format(i=instances))


@pytest.mark.parametrize(("command", "fragment"), [
    ("tar -C {i}/x -xpf -", 'only "tar -C DIR --sparse -xpf -"'),
    ("tar -C {i}/x --sparse -xpf /etc/passwd", 'only "tar -C DIR --sparse -xpf -"'),
    ("tar -C {i}/x --sparse -xpf - --to-command=sh", 'only "tar -C DIR --sparse -xpf -"'),
    ("tar -cf - /etc", 'only "tar -C DIR --sparse -xpf -"'),
    ("tar -C /etc --sparse -xpf -", "outside the allowed directories"),
    ("tar -C {i} --sparse -xpf -", "the allowed directory itself"),
    ("/usr/lib/openssh/sftp-server -d /", "option '-d'"),
    ("/usr/lib/openssh/sftp-server -R -p open", "option '-R'"),
    ("/tmp/sftp-server", "without a path"),
    ("sftp-server", "not a command a migration runs"),
])
def test_tar_and_sftp_only_in_the_forms_a_copy_uses(instances, command, fragment):
    assert fragment in refused(instances, command.format(i=instances))


@pytest.mark.parametrize(("command", "fragment"), [
    ("mkdir -p {i}/x && bash", "not a command a migration runs"),
    ("mkdir -p {i}/x && rm -rf {i}/y && true", "may come before"),
    ("tar -C {i}/x --sparse -xpf - && true", "may come before"),
    ("&& true", "a command on each side"),
    ("true &&", "a command on each side"),
    ("true && && true", "a command on each side"),
    ("true; bash", "not a command a migration runs"),
    ("true ; bash", "no arguments"),
    ("mkdir -p {i}/x || bash", "exactly one path"),
    ("mkdir -p {i}/x | sh", "exactly one path"),
    ("mkdir -p {i}/x; rm -rf /", "exactly one path"),
    ("mkdir -p $(id)", "not an absolute path"),
    ("touch `id`", "not an absolute path"),
])
def test_shell_syntax_is_never_interpreted(instances, command, fragment):
    assert fragment in refused(instances, command.format(i=instances))


# -- running it ------------------------------------------------------------------------------------------------------

@pytest.fixture
def config(tmp_path: Path, instances: Path) -> Path:
    path = tmp_path / "wrapper.conf"
    path.write_text(json.dumps({"allowed_paths": [str(instances)]}))
    return path


@pytest.fixture
def logged(monkeypatch) -> list:
    lines = []
    monkeypatch.setattr(wrapper, "log", lambda priority, message: lines.append((priority, message)))
    # run() pins PATH and restores SIGPIPE for the exec'd program: neither may leak into this test process.
    monkeypatch.setenv("PATH", os.environ["PATH"])
    monkeypatch.setattr(wrapper.signal, "signal", lambda *args: None)
    return lines


@pytest.fixture
def execs(monkeypatch) -> list:
    calls = []
    monkeypatch.setattr(wrapper.os, "execvp", lambda file, args: calls.append((file, list(args))))
    return calls


def ssh_environment(command=None) -> dict:
    environ = {"SSH_CLIENT": "192.0.2.12 40022 22", "PATH": "/usr/bin:/bin"}
    if command is not None:
        environ["SSH_ORIGINAL_COMMAND"] = command
    return environ


def test_an_allowed_command_is_executed_with_exactly_its_argv(instances, config, logged, execs):
    inst = f"{instances}/{SERVER_ID}"
    assert wrapper.main(["wrapper", str(config)], ssh_environment(f"mkdir -p '{inst}'")) == 0
    assert execs == [("mkdir", ["mkdir", "-p", inst])]
    assert os.environ["PATH"] == wrapper.SAFE_PATH
    assert logged == [("LOG_INFO", f"running \"mkdir -p '{inst}'\" for 192.0.2.12")]


def test_a_chain_runs_its_first_commands_to_the_end_then_executes_the_last(
        instances, config, logged, execs, monkeypatch):
    calls = []
    monkeypatch.setattr(wrapper.subprocess, "call",
                        lambda argv, stdin=None: calls.append((argv, stdin)) or 0)
    partial = f"{instances}/.{SERVER_ID}.novaops-partial"
    # tar's member check is tested below; here a plain program stands at the end.
    command = f"mkdir -p {partial} && touch {partial}/x"
    assert wrapper.main(["wrapper", str(config)], ssh_environment(command)) == 0
    assert calls == [(["mkdir", "-p", partial], subprocess.DEVNULL)]
    assert execs == [("touch", ["touch", f"{partial}/x"])]


def test_a_failing_first_command_ends_the_chain_with_its_status(instances, config, logged, execs, monkeypatch):
    monkeypatch.setattr(wrapper.subprocess, "call", lambda argv, stdin=None: 3)
    command = f"mkdir -p {instances}/x && touch {instances}/x/y"
    assert wrapper.main(["wrapper", str(config)], ssh_environment(command)) == 3
    assert execs == []


@pytest.mark.parametrize("command", [None, "bash", "cat /etc/passwd", "rm -rf /"])
def test_a_refusal_exits_1_says_why_and_is_logged(config, logged, execs, capsys, command):
    assert wrapper.main(["wrapper", str(config)], ssh_environment(command)) == 1
    assert execs == []
    error = capsys.readouterr().err
    assert error.startswith("novaops-nova-ssh-wrapper: refused: ")
    assert len(logged) == 1 and logged[0][0] == "LOG_WARNING"
    assert logged[0][1].startswith(f"refused {command!r} from 192.0.2.12: ")


@pytest.mark.parametrize("content", [None, "not json", "{}", '{"allowed_paths": []}',
                                     '{"allowed_paths": ["relative"]}', '{"allowed_paths": "/var/lib/nova"}'])
def test_unusable_settings_refuse_everything(tmp_path, logged, execs, capsys, content):
    path = tmp_path / "wrapper.conf"
    if content is not None:
        path.write_text(content)
    assert wrapper.main(["wrapper", str(path)], ssh_environment("true")) == 1
    assert execs == []
    assert f"settings file {path}" in capsys.readouterr().err


def run_wrapper(config: Path, command, stdin=b"", python=sys.executable) -> subprocess.CompletedProcess:
    environ = {"PATH": "/usr/bin:/bin", "SSH_CLIENT": "192.0.2.12 40022 22"}
    if command is not None:
        environ["SSH_ORIGINAL_COMMAND"] = command
    return subprocess.run([python, "-I", str(WRAPPER), str(config)], input=stdin, env=environ,
                          capture_output=True, timeout=60, check=False)


def test_as_a_program_it_runs_what_is_allowed_and_exits_1_on_the_rest(instances, config):
    inst = instances / SERVER_ID
    assert run_wrapper(config, f"mkdir -p {inst}").returncode == 0
    assert inst.is_dir()
    assert run_wrapper(config, f"test -e {inst}").returncode == 0
    assert run_wrapper(config, f"test -e {inst}/nothing").returncode == 1
    for command in (None, "cat /etc/passwd", "sh -c id", f"rm -rf {instances}"):
        result = run_wrapper(config, command)
        assert result.returncode == 1, command
        assert result.stdout == b"" and b"refused:" in result.stderr
    assert inst.is_dir()
    assert run_wrapper(config, f"rm -rf {inst}").returncode == 0
    assert not inst.exists()


def test_the_wrapper_runs_on_the_oldest_python_the_computes_have(instances, config):
    """RHEL 8's platform-python is 3.6: the wrapper must not need anything newer."""
    pythons = [shutil.which(name) for name in ("python3.6", "python3.7")]
    working = [python for python in pythons if python and subprocess.run(
        [python, "-c", "import sys; sys.exit(sys.version_info[:2] > (3, 7))"],
        capture_output=True, check=False).returncode == 0]
    if not working:
        pytest.skip("no Python 3.6 or 3.7 here")
    assert run_wrapper(config, "true", python=working[0]).returncode == 0
    result = run_wrapper(config, "cat /etc/passwd", python=working[0])
    assert result.returncode == 1 and b"refused:" in result.stderr


# -- tar: the member check -------------------------------------------------------------------------------------------

def gnu_tar(directory: Path, *options: str) -> bytes:
    """The stream instance_copy sends (tar -C DIR --sparse -cf - .), in GNU tar's default format or another."""
    sparse = [] if "ustar" in options else ["--sparse"]
    return subprocess.run(["tar", "-C", str(directory), *options, *sparse, "-cf", "-", "."],
                          capture_output=True, check=True).stdout


def guarded(stream: bytes) -> bytes:
    passed = io.BytesIO()
    wrapper.copy_tar_stream(io.BytesIO(stream).read, passed.write)
    return passed.getvalue()


def sample_instance(directory: Path) -> Path:
    directory.mkdir(parents=True)
    with open(directory / "disk", "wb") as disk:
        disk.write(b"QFI\xfb" + os.urandom(5000))
        for offset in (1 << 20, 5 << 20, 9 << 20, 13 << 20, 17 << 20, 21 << 20):
            disk.seek(offset)
            disk.write(os.urandom(700))
        disk.truncate(32 << 20)
    (directory / "disk.info").write_text('{"disk": "qcow2"}')
    (directory / ("a-rather-long-name-" * 8)).write_text("over a hundred characters")
    os.link(directory / "disk.info", directory / "disk.info.link")
    (directory / "swtpm/tpm2").mkdir(parents=True)
    (directory / "swtpm/tpm2/tpm2-00.permall").write_bytes(os.urandom(300))
    return directory


def tree(directory: Path) -> dict:
    return {str(path.relative_to(directory)): (path.read_bytes() if path.is_file() else None)
            for path in sorted(directory.rglob("*"))}


@needs_copy_tools
@pytest.mark.parametrize("tar_format", ["gnu", "posix", "ustar"])
def test_gnu_tar_streams_pass_unchanged(tmp_path, tar_format):
    source = sample_instance(tmp_path / "source")
    options = ("--format", tar_format) if tar_format != "ustar" else ("--format", "ustar", "--exclude", "a-rather*")
    stream = gnu_tar(source, *options)
    passed = guarded(stream)
    assert passed == stream[:len(passed)] and stream[len(passed):] == bytes(len(stream) - len(passed))
    target = tmp_path / "target"
    target.mkdir()
    subprocess.run(["tar", "-C", str(target), "--sparse", "-xpf", "-"], input=passed, check=True)
    expected = tree(source)
    if tar_format == "ustar":
        expected = {name: data for name, data in expected.items() if not name.startswith("a-rather")}
    assert tree(target) == expected
    if tar_format != "ustar":
        assert os.stat(target / "disk").st_blocks < os.stat(source / "disk").st_size // 512, "holes kept"


def member(name: str, kind: bytes, data: bytes = b"", linkname: str = "", tar_format=tarfile.GNU_FORMAT) -> bytes:
    info = tarfile.TarInfo(name)
    info.type, info.size, info.linkname, info.mode = kind, len(data), linkname, 0o644
    padding = bytes(-len(data) % 512)
    return info.tobuf(format=tar_format) + data + padding


def with_checksum(header: bytes) -> bytes:
    header = bytearray(header)
    header[148:156] = b" " * 8
    header[148:156] = b"%06o\x00 " % sum(header)
    return bytes(header)


END = bytes(1024)


@pytest.mark.parametrize(("kind", "what"), [(tarfile.SYMTYPE, "a symbolic link"),
                                            (tarfile.CHRTYPE, "a character device"),
                                            (tarfile.BLKTYPE, "a block device"),
                                            (tarfile.FIFOTYPE, "a FIFO"),
                                            (b"V", "type 'V'")])
def test_links_devices_and_fifos_are_refused_before_tar_sees_them(kind, what):
    good = member("disk.info", tarfile.REGTYPE, b"{}")
    stream = good + member("evil", kind, linkname="/var/lib/nova/.ssh") + END
    passed = io.BytesIO()
    with pytest.raises(wrapper.Refused, match=what):
        wrapper.copy_tar_stream(io.BytesIO(stream).read, passed.write)
    assert passed.getvalue() == good


def test_a_symlink_behind_a_posix_long_name_is_refused():
    stream = member("x" * 150, tarfile.SYMTYPE, linkname="/etc", tar_format=tarfile.PAX_FORMAT) + END
    with pytest.raises(wrapper.Refused, match="a symbolic link"):
        guarded(stream)


def test_a_member_tar_reads_no_data_for_cannot_hide_a_header_in_its_data():
    """tar takes a file named "x/" for a directory and reads the next block as a header: so must the check."""
    hidden = member("evil", tarfile.SYMTYPE, linkname="/etc")
    for name, kind in (("x/", tarfile.AREGTYPE), ("x/", tarfile.REGTYPE), ("x", tarfile.DIRTYPE),
                       ("x", tarfile.LNKTYPE)):
        header = bytearray(member("placeholder", tarfile.REGTYPE, bytes(512))[:512])
        header[:100] = name.encode().ljust(100, b"\x00")
        header[156] = kind[0]
        with pytest.raises(wrapper.Refused, match="carries data where tar reads none"):
            guarded(with_checksum(bytes(header)) + hidden + END)


def test_a_block_that_is_not_a_valid_header_is_refused():
    """tar skips such a block and looks for the next header, which could be a symlink inside 'data'."""
    bad = bytearray(member("disk", tarfile.REGTYPE, b"data")[:512])
    bad[0:4] = b"DISK"
    with pytest.raises(wrapper.Refused, match="not a valid header"):
        guarded(bytes(bad) + member("evil", tarfile.SYMTYPE, linkname="/etc") + END)
    with pytest.raises(wrapper.Refused, match="not a valid header"):
        guarded(b"not a tar archive at all".ljust(512, b"\x01"))


def test_nothing_after_the_end_of_the_archive_reaches_tar():
    stream = member("disk", tarfile.REGTYPE, b"data") + bytes(512) + member("evil", tarfile.SYMTYPE, linkname="/")
    assert guarded(stream) == member("disk", tarfile.REGTYPE, b"data") + END


@needs_copy_tools
def test_the_extraction_ends_with_tar_status_and_nothing_escapes(tmp_path, instances, config):
    partial = instances / f".{SERVER_ID}.novaops-partial"
    command = f"mkdir -p {partial} && tar -C {partial} --sparse -xpf -"
    source = sample_instance(tmp_path / "source")
    result = run_wrapper(config, command, stdin=gnu_tar(source))
    assert result.returncode == 0, result.stderr
    assert tree(partial) == tree(source)

    shutil.rmtree(partial)
    evil = member("disk.info", tarfile.REGTYPE, b"{}") + member("ssh", tarfile.SYMTYPE, linkname=str(tmp_path)) + \
        member("ssh/authorized_keys", tarfile.REGTYPE, b"ssh-ed25519 AAAA intruder") + END
    result = run_wrapper(config, command, stdin=evil)
    assert result.returncode == 1
    assert b"refused: tar stream: a symbolic link (ssh) is not accepted" in result.stderr
    assert not (partial / "ssh").exists() and not (tmp_path / "authorized_keys").exists()


# -- sftp: the request filter ----------------------------------------------------------------------------------------

def sftp_string(text) -> bytes:
    data = text.encode() if isinstance(text, str) else text
    return struct.pack(">I", len(data)) + data


def request(kind: int, *fields: bytes, request_id: int = 7) -> bytes:
    return bytes([kind]) + struct.pack(">I", request_id) + b"".join(fields)


ATTRS = struct.pack(">I", 0)


def open_request(path, flags):
    return request(3, sftp_string(path), struct.pack(">I", flags), ATTRS)


SFTP_REQUESTS = [
    ("init", lambda i: b"\x01\x00\x00\x00\x03", True),
    ("open to write", lambda i: open_request(f"{i}/x/disk", 0x1a), True),  # write|create|truncate
    ("open to read", lambda i: open_request(f"{i}/_base/abc", 0x01), True),
    ("open relative", lambda i: open_request("x/disk", 0x1a), True),      # relative to the first directory
    ("open outside", lambda i: open_request("/etc/passwd", 0x01), False),
    ("open up and out", lambda i: open_request(f"{i}/../.ssh/authorized_keys", 0x02), False),
    ("open relative out", lambda i: open_request("../.bashrc", 0x1a), False),
    ("open home", lambda i: open_request("~/.bashrc", 0x1a), False),
    ("write the directory", lambda i: open_request(str(i), 0x1a), False),
    ("stat", lambda i: request(17, sftp_string(f"{i}/x")), True),
    ("lstat outside", lambda i: request(7, sftp_string("/")), False),
    ("realpath .", lambda i: request(16, sftp_string(".")), True),
    ("realpath empty", lambda i: request(16, sftp_string("")), True),
    ("realpath outside", lambda i: request(16, sftp_string("/etc")), False),
    ("mkdir", lambda i: request(14, sftp_string(f"{i}/x"), ATTRS), True),
    ("mkdir the directory", lambda i: request(14, sftp_string(str(i)), ATTRS), False),
    ("rmdir the directory", lambda i: request(15, sftp_string(str(i))), False),
    ("remove", lambda i: request(13, sftp_string(f"{i}/x/disk")), True),
    ("setstat", lambda i: request(9, sftp_string(f"{i}/x"), ATTRS), True),
    ("setstat the directory", lambda i: request(9, sftp_string(str(i)), ATTRS), False),
    ("opendir outside", lambda i: request(11, sftp_string("/etc")), False),
    ("rename", lambda i: request(18, sftp_string(f"{i}/a"), sftp_string(f"{i}/b")), False),
    ("symlink", lambda i: request(20, sftp_string("/etc"), sftp_string(f"{i}/link")), False),
    ("read by handle", lambda i: request(5, sftp_string(b"\x00\x00\x00\x01"), struct.pack(">QI", 0, 4096)), True),
    ("limits", lambda i: request(200, sftp_string("limits@openssh.com")), True),
    ("expand ~", lambda i: request(200, sftp_string("expand-path@openssh.com"), sftp_string("~/.ssh")), False),
    ("expand inside", lambda i: request(200, sftp_string("expand-path@openssh.com"), sftp_string(f"{i}/x")), True),
    ("hardlink", lambda i: request(
        200, sftp_string("hardlink@openssh.com"), sftp_string(f"{i}/a"), sftp_string(f"{i}/b")), False),
    ("posix-rename", lambda i: request(
        200, sftp_string("posix-rename@openssh.com"), sftp_string(f"{i}/a"), sftp_string(f"{i}/b")), False),
    ("home-directory", lambda i: request(200, sftp_string("home-directory")), False),
    ("unknown type", lambda i: request(99), False),
]


@pytest.mark.parametrize(("build", "allowed_request"), [(build, ok) for _name, build, ok in SFTP_REQUESTS],
                         ids=[name for name, _build, _ok in SFTP_REQUESTS])
def test_sftp_requests_are_checked_before_the_server_sees_them(instances, build, allowed_request):
    request_id, reason = wrapper.check_sftp_request(build(instances), [str(instances)], str(instances))
    assert (reason is None) == allowed_request, reason
    assert request_id == (None if build(instances)[0] == 1 else 7)


def test_an_sftp_packet_that_cannot_be_read_ends_the_session(instances):
    for payload in (b"", b"\x03\x00", request(3, struct.pack(">I", 4000) + b"short")):
        if len(payload) >= 5:
            request_id, reason = wrapper.check_sftp_request(payload, [str(instances)], str(instances))
            assert request_id == 7 and "truncated" in reason
        else:
            with pytest.raises(wrapper.Refused):
                wrapper.check_sftp_request(payload, [str(instances)], str(instances))


def test_a_refused_sftp_request_is_answered_permission_denied():
    answer = wrapper.sftp_status(7, wrapper.SSH_FX_PERMISSION_DENIED, "no")
    length, kind, request_id, code = struct.unpack(">IBII", answer[:13])
    assert (length, kind, request_id, code) == (len(answer) - 4, 101, 7, 3)
    assert answer[13:] == sftp_string("no") + sftp_string("en")


# -- end to end: the real tools, through a stand-in for ssh ---------------------------------------------------------

FAKE_SSH = """\
#!{python}
# Stands in for ssh + sshd: hands the remote command to the forced command as sshd does.
import os, sys
VALUE_OPTIONS = set("bcDEeFIiJLlmOopQRSWw")
args, index, subsystem = sys.argv[1:], 0, False
while index < len(args):
    word = args[index]
    if word == "--":
        index += 1
        break
    if not word.startswith("-") or word == "-":
        break
    if word[1] in VALUE_OPTIONS:
        index += 2 if len(word) == 2 else 1
        continue
    subsystem = subsystem or "s" in word[1:]
    index += 1
remote = args[index + 1:]
environ = dict(os.environ, SSH_CLIENT="192.0.2.12 40022 22")
environ.pop("SSH_ORIGINAL_COMMAND", None)
if subsystem and remote == ["sftp"]:
    environ["SSH_ORIGINAL_COMMAND"] = {sftp_server!r}
elif remote:
    environ["SSH_ORIGINAL_COMMAND"] = " ".join(remote)
os.execve({python!r}, [{python!r}, "-I", {wrapper!r}, {config!r}], environ)
"""


@pytest.fixture
def fake_ssh(tmp_path: Path, config: Path) -> str:
    path = tmp_path / "bin/ssh"
    path.parent.mkdir()
    path.write_text(FAKE_SSH.format(python=sys.executable, wrapper=str(WRAPPER), config=str(config),
                                    sftp_server=SFTP_SERVER or "/usr/lib/openssh/sftp-server"))
    path.chmod(0o755)
    return str(path)


def collection_module_utils():
    """The collection's module_utils, importable from a collection tree (make unit) or this checkout."""
    try:
        from ansible_collections.novaops.migration.plugins.module_utils import host_checks, instance_copy
    except ImportError:
        tree = REPO / ".collections"
        if not (tree / "ansible_collections/novaops/migration").exists():
            pytest.skip("the collection is not importable here (run through make unit)")
        sys.path.insert(0, str(tree))
        from ansible_collections.novaops.migration.plugins.module_utils import host_checks, instance_copy
    return host_checks, instance_copy


@needs_copy_tools
def test_the_host_check_probe_goes_through(fake_ssh):
    host_checks, _instance_copy = collection_module_utils()
    user = pwd.getpwuid(os.geteuid()).pw_name
    argv = host_checks.ssh_argv("compute2", user, 20, os.geteuid(), user)
    argv[argv.index("ssh")] = fake_ssh
    assert subprocess.run(argv, capture_output=True, check=False).returncode == 0


@needs_copy_tools
def test_the_manual_copy_of_the_collection_goes_through_and_verifies(tmp_path, instances, fake_ssh):
    """instance_copy's probe, tar copy, rsync copies and checksum check, as the module builds them."""
    _host_checks, instance_copy = collection_module_utils()
    source = sample_instance(tmp_path / "source" / SERVER_ID)
    (source / "console.log").write_text("not copied")
    partial = str(instances / f".{SERVER_ID}.novaops-partial")
    backing = instances / "_base/0123abcd"
    backing.write_bytes(os.urandom(1000))
    tools = {"ssh": fake_ssh, "rsync": shutil.which("rsync"), "tar": shutil.which("tar")}
    user = pwd.getpwuid(os.geteuid()).pw_name
    copier = instance_copy.Copier(str(source), partial, "compute2", user, instance_copy.ssh_option_args(None), 30,
                                  instance_copy.validate_rsync_options(["--bwlimit=50M", "--compress"]), tools)
    assert copier.target_has(partial) is False
    assert copier.target_has(str(backing)) is True
    copier.copy_backing_file(str(backing))
    copier.copy_with_tar()
    assert copier.target_has(partial) is True
    assert copier.differences() == ""
    (source / "disk.info").write_text('{"disk": "raw"}')
    copier.copy_with_rsync()
    assert copier.differences() == ""
    expected = {name: data for name, data in tree(source).items() if name != "console.log"}
    assert tree(Path(partial)) == expected


@needs_copy_tools
def test_a_copy_to_outside_the_allowed_directories_fails(tmp_path, instances, fake_ssh):
    _host_checks, instance_copy = collection_module_utils()
    source = sample_instance(tmp_path / "source" / SERVER_ID)
    outside = tmp_path / "elsewhere/partial"
    tools = {"ssh": fake_ssh, "rsync": shutil.which("rsync"), "tar": shutil.which("tar")}
    user = pwd.getpwuid(os.geteuid()).pw_name
    copier = instance_copy.Copier(str(source), str(outside), "compute2", user, instance_copy.ssh_option_args(None),
                                  30, [], tools)
    with pytest.raises(instance_copy.CopyError) as raised:
        copier.copy_with_tar()
    assert "outside the allowed directories" in raised.value.stderr
    with pytest.raises(instance_copy.CopyError) as raised:
        copier.copy_with_rsync()
    assert "outside the allowed directories" in raised.value.stderr
    assert not outside.exists()


def nova_ssh(fake_ssh: str, *command: str) -> subprocess.CompletedProcess:
    """nova's utils.ssh_execute: ssh -o BatchMode=yes HOST COMMAND..."""
    return subprocess.run([fake_ssh, "-o", "BatchMode=yes", "compute2", *command], capture_output=True,
                          check=False)


def nova_scp(fake_ssh: str, *args: str, legacy: bool) -> subprocess.CompletedProcess:
    """nova's SshDriver.copy_file: scp [-C] -r SRC DST (legacy: what OpenSSH before 9.0 speaks)."""
    return subprocess.run(["scp", "-S", fake_ssh, *(["-O"] if legacy else []), "-C", "-r", *args],
                          capture_output=True, check=False, timeout=60)


@needs_copy_tools
@pytest.mark.parametrize("legacy", [True, pytest.param(False, marks=needs_sftp_server)],
                         ids=["scp-protocol", "sftp-protocol"])
def test_a_cold_migration_by_nova_goes_through(tmp_path, instances, fake_ssh, legacy):
    """The remote side of migrate_disk_and_power_off, in nova 34's order, with scp of either protocol."""
    source = sample_instance(tmp_path / "source" / f"{SERVER_ID}_resize")
    inst = instances / SERVER_ID
    probe = inst / "0f1e2d3c4b5a69788796a5b4c3d2e1f0.tmp"
    # _is_path_shared_with: the probe cannot be made before the directory exists (not shared, as Nova concludes).
    assert nova_ssh(fake_ssh, "touch", str(probe)).returncode != 0
    assert nova_ssh(fake_ssh, "mkdir", "-p", str(inst)).returncode == 0
    assert nova_ssh(fake_ssh, "touch", str(probe)).returncode == 0
    assert nova_ssh(fake_ssh, "rm", str(probe)).returncode == 0
    for name in ("disk", "disk.info"):
        result = nova_scp(fake_ssh, str(source / name), f"compute2:{inst / name}", legacy=legacy)
        assert result.returncode == 0, result.stderr
    result = nova_scp(fake_ssh, str(source / "swtpm"), f"compute2:{inst}", legacy=legacy)
    assert result.returncode == 0, result.stderr
    assert (inst / "disk").read_bytes() == (source / "disk").read_bytes()
    assert (inst / "swtpm/tpm2/tpm2-00.permall").read_bytes() == (source / "swtpm/tpm2/tpm2-00.permall").read_bytes()
    # A base image Glance lost, fetched back from the source (copy_image receive=True).
    base = instances / "_base/0123abcd"
    base.write_bytes(os.urandom(2000))
    fetched = tmp_path / "fetched"
    result = nova_scp(fake_ssh, f"compute2:{base}", str(fetched), legacy=legacy)
    assert result.returncode == 0, result.stderr
    assert fetched.read_bytes() == base.read_bytes()
    assert nova_ssh(fake_ssh, "rm", "-rf", str(inst)).returncode == 0
    assert not inst.exists()


@needs_copy_tools
@pytest.mark.parametrize("legacy", [True, pytest.param(False, marks=needs_sftp_server)],
                         ids=["scp-protocol", "sftp-protocol"])
def test_scp_outside_the_allowed_directories_fails(tmp_path, instances, fake_ssh, legacy):
    secret = tmp_path / "secret"
    secret.write_text("nova.conf passwords")
    local = tmp_path / "file"
    local.write_text("payload")
    assert nova_scp(fake_ssh, str(local), f"compute2:{tmp_path}/written", legacy=legacy).returncode != 0
    assert not (tmp_path / "written").exists()
    assert nova_scp(fake_ssh, f"compute2:{secret}", str(tmp_path / "stolen"), legacy=legacy).returncode != 0
    assert not (tmp_path / "stolen").exists()
    # Through a symlink inside the allowed directory, too.
    (instances / "escape").symlink_to(tmp_path)
    assert nova_scp(fake_ssh, str(local), f"compute2:{instances}/escape/written", legacy=legacy).returncode != 0
    assert not (tmp_path / "written").exists()


@needs_sftp_server
@needs_copy_tools
def test_sftp_requests_outside_are_denied_one_by_one(tmp_path, instances, fake_ssh):
    local = tmp_path / "file"
    local.write_text("payload")
    batch = tmp_path / "batch"
    batch.write_text("\n".join([
        f"-put {local} {instances}/inside",
        f"-put {local} {tmp_path}/outside",
        f"-get /etc/hostname {tmp_path}/hostname",
        f"-symlink {tmp_path} {instances}/link",
        f"-rename {instances}/inside {instances}/renamed",
        f"-rmdir {instances}",
        f"-mkdir {instances}/made",
        f"-ls {instances}",
    ]) + "\n")
    result = subprocess.run(["sftp", "-S", fake_ssh, "-b", str(batch), "compute2"], capture_output=True,
                            check=False, timeout=60)
    assert result.returncode == 0, result.stderr
    assert (instances / "inside").read_text() == "payload"
    assert (instances / "made").is_dir()
    assert not (tmp_path / "outside").exists() and not (tmp_path / "hostname").exists()
    assert not (instances / "link").exists() and not (instances / "renamed").exists()
    assert instances.is_dir()
    assert result.stderr.count(b"refused: sftp") >= 5, result.stderr


@needs_copy_tools
def test_received_symlinks_are_stored_unusable(tmp_path, instances, fake_ssh):
    """A link sent by rsync must not become a way out for the next scp (rsync --munge-links)."""
    source = tmp_path / "source"
    source.mkdir()
    (source / "disk").write_text("disk")
    (source / "way-out").symlink_to(tmp_path)
    target = instances / f".{SERVER_ID}.novaops-partial"
    result = subprocess.run(["rsync", "-a", f"--rsh={fake_ssh}", f"{source}/", f"compute2:{target}/"],
                            capture_output=True, check=False)
    assert result.returncode == 0, result.stderr
    assert (target / "disk").read_text() == "disk"
    assert os.readlink(target / "way-out").startswith("/rsyncd-munged/")
    result = nova_scp(fake_ssh, str(source / "disk"), f"compute2:{target}/way-out/authorized_keys", legacy=True)
    assert result.returncode != 0
    assert not (tmp_path / "authorized_keys").exists()


def test_the_wrapper_file_can_be_run_by_hand_too():
    """The role runs it through the system Python with -I; the shebang and mode are for a person trying it."""
    assert WRAPPER.stat().st_mode & stat.S_IXUSR
    # The one Python shebang ansible-test's sanity check accepts outside modules.
    assert WRAPPER.read_text().startswith("#!/usr/bin/env python\n")
