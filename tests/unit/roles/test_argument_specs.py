"""Each role's meta/argument_specs.yml documents exactly its defaults."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

ROLES_DIR = Path(__file__).resolve().parents[3] / "roles"
ROLES = sorted(path.name for path in ROLES_DIR.iterdir() if (path / "meta/argument_specs.yml").exists())


def load(role: str) -> tuple[dict, dict]:
    defaults = yaml.safe_load((ROLES_DIR / role / "defaults/main.yml").read_text()) or {}
    specs = yaml.safe_load((ROLES_DIR / role / "meta/argument_specs.yml").read_text())
    return defaults, specs["argument_specs"]["main"]["options"]


def test_every_role_has_specs():
    assert set(ROLES) == {"novaops_libvirt", "novaops_scheduler", "novaops_ssh_trust"}


@pytest.mark.parametrize("role", ROLES)
def test_specs_and_defaults_name_the_same_variables(role):
    defaults, options = load(role)
    assert set(defaults) == set(options)
    assert all(name.startswith(f"{role}_") for name in defaults)


@pytest.mark.parametrize("role", ROLES)
def test_specs_defaults_equal_role_defaults(role):
    defaults, options = load(role)
    for name, option in options.items():
        assert option.get("default") == defaults[name], name
        assert "type" in option and option.get("description"), name
        if "choices" in option:
            assert defaults[name] in option["choices"], name
