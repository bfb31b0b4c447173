"""Helpers shared by the role tests."""

from __future__ import annotations

from pathlib import Path


def write_executable(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)
    return path


def ini_sections(path: Path) -> dict[str, dict[str, str]]:
    """Parse an oslo.config style file into {section: {option: value}}."""
    sections: dict[str, dict[str, str]] = {}
    current = None
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("["):
            current = sections.setdefault(stripped.strip("[]"), {})
            continue
        key, _separator, value = stripped.partition("=")
        assert current is not None, f"option outside a section: {line}"
        current[key.strip()] = value.strip()
    return sections
