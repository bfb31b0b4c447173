"""Print the few lines that say why a test run failed, for the end of CI's output.

CI shows only the last lines of what it printed, and a failed Ansible task or
pytest test scrolls far out of sight before the run ends (Molecule's recap,
the lab's teardown). The Makefile keeps full logs under tests/output/logs/;
this picks out of them the failed tasks with their messages and pytest's
one-line failure summaries.

    python3 tests/ci/failure_summary.py tests/output/logs/*.log
"""
import re
import sys

ANSI = re.compile(r"\x1b\[[0-9;]*m")
# Molecule frames Ansible's output with a gutter.
GUTTER = re.compile(r"^\s*[\u2502\u2514\u250c]\s?")
TASK = re.compile(r"TASK \[(.+?)\]")
FATAL = re.compile(r"(fatal: \[[^\]]+\]: [A-Z!]+ =>.*|failed: \[[^\]]+\].*)")
PYTEST_FAILED = re.compile(r"^(FAILED|ERROR) \S+\.py")
WIDTH = 400


def summarise(path):
    lines = []
    task = None
    with open(path, errors="replace") as log:
        text = [GUTTER.sub("", ANSI.sub("", raw)).rstrip() for raw in log]
    for number, line in enumerate(text):
        found = TASK.search(line)
        if found:
            task = found.group(1)
            continue
        fatal = FATAL.search(line)
        if fatal:
            # The YAML callback puts the message on the lines that follow.
            detail = " ".join(part.strip() for part in [fatal.group(1)] + text[number + 1:number + 12])
            lines.append("%s: task [%s] %s" % (path, task or "?", " ".join(detail.split())[:WIDTH]))
        elif PYTEST_FAILED.match(line):
            lines.append("%s: %s" % (path, line[:WIDTH]))
    return lines


def main(paths):
    found = []
    for path in paths:
        try:
            found += summarise(path)
        except OSError:
            continue
    if found:
        print("=== why it failed (from %s)" % ", ".join(paths))
        print("\n".join(found[-12:]))


if __name__ == "__main__":
    main(sys.argv[1:])
