"""The AWX survey examples ask for variables the playbooks read, with values the playbooks accept."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ansible_collections.novaops.migration.plugins.module_utils import settings

REPO = Path(__file__).resolve().parents[3]
SURVEYS = sorted((REPO / "examples" / "awx").glob("*-survey.json"))
# The question types AWX's survey_spec accepts.
TYPES = {"text", "textarea", "password", "integer", "float", "multiplechoice", "multiselect"}


def playbook_of(path):
    return path.name[:-len("-survey.json")]


def test_there_are_surveys_for_migrate_and_drain():
    assert {playbook_of(path) for path in SURVEYS} >= {"migrate", "drain"}


@pytest.mark.parametrize("path", SURVEYS, ids=lambda path: path.name)
def test_survey_shape(path):
    survey = json.loads(path.read_text())
    assert survey["name"] and survey["description"] and survey["spec"]
    for item in survey["spec"]:
        assert item["type"] in TYPES, item
        assert item["question_name"] and item["question_description"] and item["variable"], item
        assert isinstance(item["required"], bool), item
    variables = [item["variable"] for item in survey["spec"]]
    assert len(variables) == len(set(variables)), "a variable is asked twice"


def answers(path):
    """variable -> every value the survey can give: its default and, for a choice, each choice."""
    found = {}
    for item in json.loads(path.read_text())["spec"]:
        values = [item["default"]]
        if item["type"] in ("multiplechoice", "multiselect"):
            choices = item["choices"].split("\n") if isinstance(item["choices"], str) else item["choices"]
            assert item["default"] in choices, item
            values = choices
        found[item["variable"]] = values
    return found


@pytest.mark.parametrize("path", SURVEYS, ids=lambda path: path.name)
def test_survey_variables_are_the_playbooks_prefixed_settings(path):
    playbook = playbook_of(path)
    prefix = "novaops_%s_" % playbook
    known = {name for name, _reader, _default in settings.PLAYBOOK_SETTINGS[playbook]}
    required = {name for name, _reader, default in settings.PLAYBOOK_SETTINGS[playbook] if default is None}
    asked = {variable[len(prefix):] for variable in answers(path) if variable.startswith(prefix)}
    assert set(answers(path)) == {prefix + name for name in asked}, "every variable has the playbook's prefix"
    assert asked <= known, "unknown settings: %s" % sorted(asked - known)
    spec = {item["variable"][len(prefix):]: item for item in json.loads(path.read_text())["spec"]}
    for name in required:
        assert name in spec and spec[name]["required"], "the survey must require %s" % name


@pytest.mark.parametrize("path", SURVEYS, ids=lambda path: path.name)
def test_every_answer_the_survey_can_give_is_accepted(path):
    playbook = playbook_of(path)
    prefix = "novaops_%s_" % playbook
    # Filled in for the required text questions, whose default is empty.
    filled = {name: "compute1" if name == "host" else "x" for name, _r, default in
              settings.PLAYBOOK_SETTINGS[playbook] if default is None}
    for variable, values in answers(path).items():
        name = variable[len(prefix):]
        for value in values:
            given = dict(filled)
            if value != "" or name not in filled:
                given[name] = value
            if playbook == "migrate" and name == "cold_method" and value == "manual":
                given["mode"] = "cold"
            settings.read_settings(playbook, given)
