"""What a release ships says the same thing everywhere: the ansible-core it needs, where it lives, what it holds."""

from __future__ import annotations

import fnmatch
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
ROLES = sorted(path.name for path in (REPO / "roles").iterdir() if (path / "meta/main.yml").exists())

# What ansible-galaxy collection build always leaves out (ansible.galaxy.collection._build_files_manifest_walk).
GALAXY_DEFAULT_IGNORES = ["MANIFEST.json", "FILES.json", "galaxy.yml", "galaxy.yaml", ".git", "*.pyc", "*.retry",
                          "tests/output", "novaops-migration-*.tar.gz"]

# Development-only paths; none of them belongs in the collection tarball.
DEVELOPMENT_PATHS = [".venv", ".build", ".ci", ".collections", ".ansible", ".pytest_cache", "changelogs/fragments",
                     "tests/output", "tests/unit", "lab/state", "lab", "bench/results", "bench", "molecule",
                     "requirements/dev.lock", "Makefile", "ansible.cfg"]

# An operator's inventory, vault and clouds.yaml kept in the checkout under the README's names.
OPERATOR_FILES = ["hosts", "vault.yml", "clouds.yaml", "clouds.yml", "secure.yaml", "secure.yml"]

# What the collection needs at run time, or that tools read from the installed collection: an EE build reads
# requirements.txt and bindep.txt through meta/execution-environment.yml.
SHIPPED_PATHS = ["README.md", "LICENSE", "meta/runtime.yml", "meta/execution-environment.yml", "requirements.txt",
                 "bindep.txt", "changelogs/changelog.yaml", "changelogs/config.yaml", "plugins/modules/server.py",
                 "roles/novaops_libvirt/tasks/main.yml", "playbooks/migrate.yml", "examples/execution-environment.yml"]


def galaxy():
    return yaml.safe_load((REPO / "galaxy.yml").read_text())


def version_tuple(text: str) -> tuple[int, ...]:
    parts = [int(part) for part in text.strip().split(".")]
    return tuple(parts + [0] * (3 - len(parts)))


def required_ansible() -> tuple[int, ...]:
    requirement = yaml.safe_load((REPO / "meta/runtime.yml").read_text())["requires_ansible"]
    assert requirement.startswith(">="), f"requires_ansible should name a minimum, got {requirement!r}"
    return version_tuple(requirement[2:].split(",")[0])


def ignored(path: str, patterns: list[str]) -> bool:
    """Whether ansible-galaxy leaves ``path`` out: it skips a directory that matches, and all beneath it."""
    parts = path.split("/")
    prefixes = ["/".join(parts[:count]) for count in range(1, len(parts) + 1)]
    return any(fnmatch.fnmatch(prefix, pattern) for prefix in prefixes for pattern in patterns)


@pytest.mark.parametrize("role", ROLES)
def test_role_needs_the_ansible_core_the_collection_needs(role):
    meta = yaml.safe_load((REPO / "roles" / role / "meta/main.yml").read_text())
    min_ansible_version = str(meta["galaxy_info"]["min_ansible_version"])
    assert version_tuple(min_ansible_version) == required_ansible(), (
        f"roles/{role}/meta/main.yml says min_ansible_version {min_ansible_version}, meta/runtime.yml requires_ansible "
        f"{'.'.join(map(str, required_ansible()))}: make them the same")


def test_galaxy_links_are_real_or_absent():
    metadata = galaxy()
    for key in ("repository", "documentation", "homepage", "issues"):
        url = metadata.get(key)
        if url is None:
            continue
        assert url.startswith("https://"), f"{key}: {url}"
        assert not any(placeholder in url for placeholder in ("example.", "localhost", "TODO", "changeme")), (
            f"galaxy.yml {key} is a placeholder ({url}); remove the key until there is a real address")


@pytest.mark.parametrize("path", DEVELOPMENT_PATHS + OPERATOR_FILES)
def test_build_leaves_out_development_and_operator_files(path):
    patterns = GALAXY_DEFAULT_IGNORES + list(galaxy().get("build_ignore") or [])
    assert ignored(path, patterns), f"ansible-galaxy collection build would ship {path}; add it to build_ignore"


@pytest.mark.parametrize("path", SHIPPED_PATHS)
def test_build_keeps_what_the_collection_needs(path):
    patterns = GALAXY_DEFAULT_IGNORES + list(galaxy().get("build_ignore") or [])
    assert (REPO / path).exists(), path
    assert not ignored(path, patterns), f"build_ignore leaves out {path}, which the collection needs"


def test_galaxy_version_is_the_newest_release_or_unreleased_work_on_top():
    """galaxy.yml's version is the newest release of changelogs/changelog.yaml, or a later one being prepared."""
    releases = yaml.safe_load((REPO / "changelogs/changelog.yaml").read_text())["releases"]
    assert releases, "changelogs/changelog.yaml records no release"
    newest = max(releases, key=version_tuple)
    assert version_tuple(galaxy()["version"]) >= version_tuple(newest)
    for version, release in releases.items():
        assert release.get("release_date"), f"release {version} has no date"


def test_changelog_rst_lists_every_release():
    releases = yaml.safe_load((REPO / "changelogs/changelog.yaml").read_text())["releases"]
    text = (REPO / "CHANGELOG.rst").read_text()
    for version in releases:
        assert f"\nv{version}\n" in text, f"CHANGELOG.rst has no section for {version}: antsibull-changelog generate"
