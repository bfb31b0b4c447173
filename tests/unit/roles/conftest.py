"""Run the collection's roles against this machine with made-up facts.

The roles are run for real by ansible-playbook (connection local), with the
facts of the OS family under test and with every path the role writes moved
into a scratch directory through the roles' private path variables. systemd
does not run here (no /run/systemd/system), so the roles skip service work,
as they do in a chroot.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

HERE_DIR = str(Path(__file__).resolve().parent)
if HERE_DIR not in sys.path:  # for role_helpers, whatever pytest's import mode
    sys.path.insert(0, HERE_DIR)

REPO = Path(__file__).resolve().parents[3]
HERE = Path(__file__).resolve().parent
ANSIBLE_PLAYBOOK = Path(sys.executable).with_name("ansible-playbook")


@dataclass
class Run:
    """Outcome of one ansible-playbook run."""

    rc: int
    output: str

    @property
    def recap(self) -> dict[str, dict[str, int]]:
        """PLAY RECAP counters per host."""
        counters = {}
        for line in self.output.splitlines():
            match = re.match(r"^(\S+)\s+:\s+(ok=.*)$", line)
            if match:
                counters[match.group(1)] = {
                    key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", match.group(2))
                }
        return counters

    def changed(self, host: str = "localhost") -> int:
        return self.recap[host]["changed"]


@pytest.fixture(scope="session")
def collections_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A collections tree where novaops.migration is this work tree."""
    root = tmp_path_factory.mktemp("collections")
    namespace = root / "ansible_collections" / "novaops"
    namespace.mkdir(parents=True)
    (namespace / "migration").symlink_to(REPO, target_is_directory=True)
    return root


@pytest.fixture
def run_playbook(collections_path: Path, tmp_path: Path):
    """Write PLAYS to a playbook and run it; return a Run."""

    def _run(plays: list, inventory: str = "localhost ansible_connection=local\n",
             extra_vars: dict | None = None, check: bool = False) -> Run:
        playbook = tmp_path / "playbook.yml"
        playbook.write_text(json.dumps(plays))
        inventory_file = tmp_path / "inventory.ini"
        inventory_file.write_text(inventory)
        command = [str(ANSIBLE_PLAYBOOK), "-i", str(inventory_file), str(playbook), "--diff"]
        if extra_vars:
            command += ["-e", json.dumps(extra_vars)]
        if check:
            command.append("--check")
        env = dict(os.environ)
        env.update({
            "ANSIBLE_COLLECTIONS_PATH": str(collections_path),
            "ANSIBLE_LIBRARY": str(HERE / "library"),
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_FORCE_COLOR": "0",
            "ANSIBLE_RETRY_FILES_ENABLED": "0",
            "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.default",
            "ANSIBLE_LOCAL_TEMP": str(tmp_path / ".ansible-tmp"),
            "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
        })
        env.pop("ANSIBLE_CONFIG", None)
        result = subprocess.run(command, capture_output=True, text=True, env=env,
                                cwd=tmp_path, timeout=300, check=False)
        return Run(result.returncode, result.stdout + result.stderr)

    return _run
