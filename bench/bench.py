#!/usr/bin/env python3
"""Benchmark of novaops.migration against the plain tools, on the lab (issue 7).

    make bench                                # every section, BENCH_REPEATS times each
    BENCH_REPEATS=1 .venv/bin/python bench/bench.py --only live

Sections (each compares A, ours, with B, the usual tool, alternating A/B):
  site    playbooks/site.yml, first run and second run (changed=0)
  live    live migration: migrate.yml vs `openstack server migrate --live-migration`
  cold    cold migration through the API: migrate.yml vs `openstack server migrate` + confirm
  manual  manual cold migration (migrate.yml cold_method=manual) vs plain rsync -a and scp -r
  create  playbooks/server.yml vs the same resources with openstack.cloud modules
  drain   drain.yml of 20, 5 and 1 servers, concurrency=1 vs concurrency=3 (per server as N grows)
  plan    migration_plan of 1,000 servers on 20 computes running Nova's fake virt driver (no A/B: a limit)

The lab is shared: every use of it holds /run/lock/novaops-labuse.lock, one
repeat at a time, so other users' tests interleave. Everything the bench
creates is named bench-* and deleted at the end, even on failure.
Prints a table and writes bench/results/latest.json.
"""
import argparse
import contextlib
import datetime
import fcntl
import json
import os
import pathlib
import platform
import re
import shlex
import signal
import statistics
import subprocess
import sys
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "integration"))
from conftest import HOSTS, LabHost, is_prepared, wait_until  # noqa: E402  (needs the path above)

VENV_BIN = pathlib.Path(sys.executable).parent
ANSIBLE_PLAYBOOK = str(VENV_BIN / "ansible-playbook")
OPENSTACK = str(VENV_BIN / "openstack")
CLOUDS_YAML = REPO / "lab" / "clouds.yaml"
GUEST_IMAGE_FILE = REPO / "lab" / "state" / "images" / "guest.qcow2"
RESULTS = REPO / "bench" / "results" / "latest.json"
LOCK_PATH = "/run/lock/novaops-labuse.lock"
LOCK_WAIT = 1800
COMPUTES = ("compute1", "compute2")
INSTANCES = "/var/lib/nova/instances"
PREFIX = "bench-"
SECTIONS = ("site", "live", "cold", "manual", "create", "drain", "plan")
# Two A/B pairs per section: the drain takes ~20 min a pair (1, 5 and 20 servers, each serial and 3 at a time)
# and the plan ~18 min, the other sections a few minutes each, on 2 cores.
DEFAULT_REPEATS = 2

# The playbooks name no cloud: openstacksdk takes the lab's from OS_CLOUD, whatever the caller's environment says.
ENV = dict(os.environ, OS_CLIENT_CONFIG_FILE=str(CLOUDS_YAML), OS_CLOUD="lab", ANSIBLE_NOCOLOR="1",
           ANSIBLE_FORCE_COLOR="0", PATH=f"{VENV_BIN}:{os.environ.get('PATH', '')}")


def log(message):
    print(f"[{datetime.datetime.now(datetime.timezone.utc):%H:%M:%S}] {message}", flush=True)


# -- the lab lock -----------------------------------------------------------------------------

@contextlib.contextmanager
def lab_lock(what):
    """Hold the shared lab lock (the same flock(2) as `flock FILE CMD`) while the block runs."""
    with open(LOCK_PATH, "a") as handle:
        deadline = time.monotonic() + LOCK_WAIT
        waited = False
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the lab lock was busy for {LOCK_WAIT} s")
                if not waited:
                    log(f"waiting for the lab lock ({what})")
                    waited = True
                time.sleep(2)
        taken = time.monotonic()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
            held = time.monotonic() - taken
            if held > 480:
                log(f"note: held the lab lock {held:.0f} s for {what} (more than 8 min)")


# -- running things ---------------------------------------------------------------------------

def iso_seconds(stamp):
    """Seconds since the epoch of an ISO time from the JSON callback or the API (naive = UTC)."""
    moment = datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment.timestamp()


class PlaybookRun:
    """One ansible-playbook run with the JSON callback: wall time, per-task durations, results, stats."""

    def __init__(self, playbook, extra_vars, timeout=1800):
        argv = [ANSIBLE_PLAYBOOK, "-i", "lab/hosts", playbook]
        for name, value in extra_vars.items():
            argv += ["-e", f"{name}={value}"]
        env = dict(ENV, ANSIBLE_STDOUT_CALLBACK="ansible.posix.json")
        self.argv = argv
        self.launched = time.time()
        started = time.monotonic()
        completed = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout,
                                   check=False)
        self.wall = time.monotonic() - started
        self.rc = completed.returncode
        self.stderr = completed.stderr
        self.data = self._parse(completed.stdout)

    @staticmethod
    def _parse(stdout):
        start = stdout.find("{")
        try:
            return json.loads(stdout[start:]) if start >= 0 else {}
        except json.JSONDecodeError:
            return {}

    def tasks(self):
        for play in self.data.get("plays", []):
            yield from play.get("tasks", [])

    def task_seconds(self, pattern):
        """Total duration of the tasks whose name matches `pattern` (a regular expression)."""
        total = 0.0
        for task in self.tasks():
            if re.search(pattern, task["task"]["name"]):
                duration = task["task"]["duration"]
                if duration.get("end"):
                    total += iso_seconds(duration["end"]) - iso_seconds(duration["start"])
        return total

    def result(self, pattern, host="localhost"):
        """The result of the last task whose name matches, on `host`."""
        found = {}
        for task in self.tasks():
            if re.search(pattern, task["task"]["name"]) and host in task["hosts"]:
                found = task["hosts"][host]
        return found

    def span(self, first, then):
        """Seconds from the start of the first task matching `first` to the start of the first matching `then`."""
        def start_of(pattern):
            return next(iso_seconds(task["task"]["duration"]["start"]) for task in self.tasks()
                        if re.search(pattern, task["task"]["name"]))
        return start_of(then) - start_of(first)

    def slowest(self, count=8):
        """The `count` task names that took longest in total, for the JSON profile."""
        totals = {}
        for task in self.tasks():
            name, duration = task["task"]["name"], task["task"]["duration"]
            if duration.get("end"):
                seconds = iso_seconds(duration["end"]) - iso_seconds(duration["start"])
                totals[name] = totals.get(name, 0.0) + seconds
        ranked = sorted(totals.items(), key=lambda item: -item[1])[:count]
        return [[name, round(seconds, 2)] for name, seconds in ranked]

    def startup(self):
        """Seconds from launching ansible-playbook to the start of its first task."""
        starts = [iso_seconds(task["task"]["duration"]["start"]) for task in self.tasks()]
        return min(starts) - self.launched if starts else float("nan")

    def changed(self):
        return sum(host.get("changed", 0) for host in self.data.get("stats", {}).values())

    def failures(self):
        """The failed tasks' messages, for the error raised when a run fails."""
        lines = []
        for task in self.tasks():
            for host, result in task["hosts"].items():
                if result.get("failed"):
                    lines.append(f"{task['task']['name']} on {host}: {str(result.get('msg', ''))[:500]}")
        return lines

    def check(self):
        if self.rc != 0:
            raise RuntimeError(f"{' '.join(self.argv[3:])} failed (rc {self.rc}):\n" + "\n".join(self.failures())
                               + f"\n{self.stderr[-2000:]}")
        return self


def playbook(path, timeout=1800, **extra_vars):
    run = PlaybookRun(path, extra_vars, timeout=timeout).check()
    log(f"  ansible-playbook {path} {' '.join(f'{k}={v}' for k, v in extra_vars.items())}: {run.wall:.1f} s")
    return run


def osc(*args, timeout=900):
    """Run the openstack CLI as an operator would; return its wall time."""
    argv = [OPENSTACK, "--os-cloud", "lab", *args]
    started = time.monotonic()
    completed = subprocess.run(argv, env=ENV, capture_output=True, text=True, timeout=timeout, check=False)
    wall = time.monotonic() - started
    if completed.returncode != 0:
        raise RuntimeError(f"openstack {' '.join(args)}: rc {completed.returncode}: {completed.stderr.strip()}")
    log(f"  openstack {' '.join(args)}: {wall:.1f} s")
    return wall


def remote_seconds(host, command, timeout=900):
    """Run `command` on a lab host and time it there (ssh set-up is not part of it)."""
    timed = f"s=$(date +%s.%N); {command}; rc=$?; e=$(date +%s.%N); echo \"BENCH $rc $s $e\""
    result = LabHost(host).run(f"bash -c {shlex.quote(timed)}", check=False, timeout=timeout)
    match = re.search(r"BENCH (\d+) ([\d.]+) ([\d.]+)", result.stdout)
    # rsync exits 24 when a file vanished meanwhile; the copy is still a full one.
    if not match or int(match.group(1)) not in (0, 24):
        raise RuntimeError(f"{host}: {command!r} failed: {result.stdout[-500:]} {result.stderr[-1500:]}")
    return float(match.group(3)) - float(match.group(2))


# -- measurements and the table ---------------------------------------------------------------

class Section:
    """The samples of one section's metrics and its comparisons."""

    def __init__(self, name, title):
        self.name = name
        self.title = title
        self.metrics = {}
        self.comparisons = []
        self.notes = []
        # Per run of ours: its slowest tasks, to see where the time goes (JSON only).
        self.profiles = []

    def add(self, metric, value):
        self.metrics.setdefault(metric, []).append(round(value, 2))

    def median(self, metric):
        values = self.metrics.get(metric)
        return statistics.median(values) if values else None

    def compare(self, label, numerator, denominator, target, limit):
        """Check the ratio of two metrics' medians (or one metric's median, denominator None) against a limit."""
        a = self.median(numerator)
        b = self.median(denominator) if denominator else 1.0
        value = None if a is None or not b else a / b
        # An infinite limit marks a ratio shown for information only, with no target.
        passed = None if value is None or limit == float("inf") else value <= limit
        self.comparisons.append(dict(label=label, a=numerator, b=denominator, value=value, target=target,
                                     passed=passed))

    def profile(self, label, run):
        self.profiles.append(dict(run=label, wall=round(run.wall, 2), slowest_tasks=run.slowest()))

    def as_json(self):
        return dict(title=self.title, notes=self.notes, comparisons=self.comparisons, profiles=self.profiles,
                    metrics={name: dict(samples=values, min=min(values), median=statistics.median(values),
                                        max=max(values)) for name, values in self.metrics.items()})


def print_table(sections):
    width = 68
    print()
    print(f"{'section / metric (seconds)':{width}} {'n':>2} {'min':>7} {'median':>7} {'max':>7}")
    for section in sections:
        print(f"-- {section.title}")
        for metric, values in section.metrics.items():
            print(f"  {metric:{width - 2}} {len(values):>2} {min(values):7.1f} {statistics.median(values):7.1f} "
                  f"{max(values):7.1f}")
        for item in section.comparisons:
            verdict = "info" if item["passed"] is None else ("PASS" if item["passed"] else "MISS")
            value = "n/a" if item["value"] is None else f"{item['value']:.2f}"
            print(f"  => {item['label']:{width - 5}} {value:>10}  target {item['target']}: {verdict}")
        for note in section.notes:
            print(f"  note: {note}")
    print()


def machine_facts():
    def command(*argv):
        return subprocess.run(argv, capture_output=True, text=True, cwd=REPO, check=False).stdout.strip()

    with open("/proc/meminfo") as meminfo:
        ram_kib = int(meminfo.readline().split()[1])
    return dict(nproc=os.cpu_count(), ram_gib=round(ram_kib / 1048576, 1), kernel=platform.release(),
                date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                git_commit=command("git", "rev-parse", "HEAD"),
                git_dirty=bool(command("git", "status", "--porcelain", "--untracked-files=no")),
                python=platform.python_version(), openstack_client=command(OPENSTACK, "--version"))


# -- the cloud: shared resources, servers, cleanup -------------------------------------------

def connect():
    import openstack

    os.environ["OS_CLIENT_CONFIG_FILE"] = str(CLOUDS_YAML)
    return openstack.connect(cloud="lab")


class Lab:
    """The bench's own image, flavors and network (bench-*), made once, and its servers."""

    def __init__(self, cloud):
        self.cloud = cloud
        self._image = self._network = None
        self._flavors = {}

    def image(self):
        if self._image is None:
            # A 5 s guest shutdown: the cold moves must not be dominated by the wait for the guest.
            self._image = self.cloud.image.find_image(f"{PREFIX}guest") or self.cloud.create_image(
                f"{PREFIX}guest", filename=str(GUEST_IMAGE_FILE), disk_format="qcow2", container_format="bare",
                wait=True, os_shutdown_timeout="5")
        return self._image

    def flavor(self, disk_gb=1):
        name = f"{PREFIX}tiny-{disk_gb}g"
        if name not in self._flavors:
            self._flavors[name] = self.cloud.compute.find_flavor(name) or self.cloud.compute.create_flavor(
                name=name, ram=128, vcpus=1, disk=disk_gb)
        return self._flavors[name]

    def network(self):
        if self._network is None:
            self._network = self.cloud.network.find_network(f"{PREFIX}net")
            if self._network is None:
                self._network = self.cloud.network.create_network(name=f"{PREFIX}net")
                self.cloud.network.create_subnet(network_id=self._network.id, cidr="192.168.91.0/24",
                                                 ip_version=4, name=f"{PREFIX}subnet")
        return self._network

    def boot(self, names, host, disk_gb=1):
        """Boot servers on `host` (all at once: booting is the slow part) and wait until ACTIVE."""
        image, flavor, network = self.image(), self.flavor(disk_gb), self.network()
        created = []
        for name in names:
            self.delete_servers(f"^{re.escape(name)}$")
            created.append(self.cloud.compute.create_server(
                name=name, image_id=image.id, flavor_id=flavor.id, networks=[{"uuid": network.id}],
                availability_zone=f"nova:{host}"))
        servers = [self.cloud.compute.wait_for_server(server, wait=600) for server in created]
        log(f"  booted {', '.join(names)} on {host}")
        return servers

    def server(self, server_id):
        return self.cloud.compute.get_server(server_id)

    def wait_computes_back(self, since, timeout=300):
        """Wait until every nova-compute reported in after `since` (UTC epoch): restarted and serving again."""
        def reported():
            return all(service.state == "up" and service.updated_at and iso_seconds(service.updated_at) > since
                       for service in self.cloud.compute.services(binary="nova-compute"))
        wait_until(reported, timeout, interval=2, what="every nova-compute reporting in after the restart")

    def host_of(self, server_id):
        return self.server(server_id).compute_host

    def wait_settled(self, server_id, status, host=None, timeout=300):
        """Wait until the server is `status` (or one of them) with no task (on `host`); return it."""
        statuses = (status,) if isinstance(status, str) else status

        def settled():
            server = self.server(server_id)
            return (server.status in statuses and not server.task_state
                    and (host is None or server.compute_host == host)) and server
        return wait_until(settled, timeout, interval=0.5, what=f"{server_id} {status} on {host}")

    def stop(self, server_id):
        self.cloud.compute.stop_server(server_id)
        return self.wait_settled(server_id, "SHUTOFF")

    def latest_migration(self, server_id):
        """The server's newest migration record and its duration in Nova (created_at -> updated_at)."""
        records = list(self.cloud.compute.migrations(instance_uuid=server_id))
        newest = max(records, key=lambda record: record.id)
        return newest, iso_seconds(newest.updated_at) - iso_seconds(newest.created_at)

    def delete_servers(self, pattern):
        servers = list(self.cloud.compute.servers(name=pattern, all_projects=True))
        for server in servers:
            self.cloud.compute.delete_server(server)
        for server in servers:
            self.cloud.compute.wait_for_delete(server, wait=300)

    def delete_named(self, prefix):
        """Delete the servers, networks, flavors and images whose name starts with `prefix`."""
        cloud = self.cloud
        self.delete_servers(f"^{re.escape(prefix)}")
        for network in cloud.network.networks():
            if network.name.startswith(prefix):
                for port in cloud.network.ports(network_id=network.id):
                    cloud.network.delete_port(port)
                cloud.network.delete_network(network)
        for flavor in cloud.compute.flavors():
            if flavor.name.startswith(prefix):
                cloud.compute.delete_flavor(flavor)
        for image in cloud.image.images():
            if image.name and image.name.startswith(prefix):
                cloud.image.delete_image(image)

    def cleanup(self):
        """Delete every bench-* resource, whoever of this bench made it; enable both computes."""
        cloud = self.cloud
        self.delete_named(PREFIX)
        for service in cloud.compute.services(binary="nova-compute"):
            if service.host in COMPUTES and service.status != "enabled":
                cloud.compute.enable_service(service)
        log("cleaned up every bench-* resource; compute1 and compute2 enabled")


def other_than(host):
    return [name for name in COMPUTES if name != host][0]


def alternated(repeat, first, second):
    """A then B on even repeats, B then A on odd ones, so neither always goes first."""
    return (first, second) if repeat % 2 == 0 else (second, first)


# -- section: site.yml ------------------------------------------------------------------------

def bench_site(lab, repeats):
    """The first run prepares the lab; the second must change nothing. The first cannot be repeated
    without undoing the preparation, which would disturb the lab's other users: one of each."""
    section = Section("site", "site.yml: first and second run")
    with lab_lock("site: first run"):
        fresh = not is_prepared({name: LabHost(name) for name in HOSTS})
        first = playbook("playbooks/site.yml")
    label = "first run (lab was fresh)" if fresh else "first run (lab already prepared: just another run)"
    section.add(label, first.wall)
    section.profile("first run", first)
    section.add("first run: ansible start-up (launch to first task)", first.startup())
    if not fresh:
        section.notes.append("the lab was already prepared, so the 'first run' changed "
                             f"{first.changed()} task(s) and is only another run")
    with lab_lock("site: second run"):
        second = playbook("playbooks/site.yml")
    section.add("second run", second.wall)
    section.profile("second run", second)
    section.add("second run: ansible start-up (launch to first task)", second.startup())
    section.comparisons.append(dict(label="second run: changed tasks", a="second run", b=None,
                                    value=second.changed(), target="= 0", passed=second.changed() == 0))
    return section


# -- sections: live and cold migration through the API ---------------------------------------

# Task names of migrate.yml, to split its wall time into what runs before, during and after the move.
CHECK_TASKS = (r"^(Read the variables|Name the request|Check the server and the target in the cloud|"
               r"Stop if there is no such server|Decide the mode|Read how the target|Connect from the source|"
               r"Stop before moving|Make a file for the move's progress)")
AFTER_TASKS = (r"^(Take the outcome|Remove the progress file|Verify the server's ports|Report|"
               r"Hand the report to AWX|Report \| .*)$")


def followed_result(run):
    """The move's own result, as novaops.migration.follow_jobs returned it."""
    return (run.result(r"^Follow the move until it ends$").get("results") or [{}])[0]


def migrate_ours(server, target, **extra):
    run = playbook("playbooks/migrate.yml", instance=server.name, target=target, **extra)
    return run, followed_result(run).get("duration")


def add_migrate_breakdown(section, run, module_duration):
    section.profile(" ".join(run.argv[3:]), run)
    section.add("ours: ansible start-up (launch to first task)", run.startup())
    section.add("ours: checks before the move (tasks)", run.task_seconds(CHECK_TASKS))
    if module_duration is not None:
        section.add("ours: module alone (its returned duration)", module_duration)
    section.add("ours: verification and report after the move (tasks)", run.task_seconds(AFTER_TASKS))


def cli_confirm(server):
    """Confirm a cold migration with the CLI; older clients only know `server resize confirm`."""
    try:
        return osc("server", "migrate", "confirm", server.name)
    except RuntimeError:
        return osc("server", "resize", "confirm", server.name)


def bench_api_migration(lab, repeats, mode):
    """Our playbook against the CLI, moving one server back and forth between the computes."""
    title = {"live": "live migration: migrate.yml vs openstack server migrate --live-migration",
             "cold": "cold migration (API, ACTIVE server): migrate.yml vs openstack server migrate + confirm"}[mode]
    section = Section(mode, title)
    with lab_lock(f"{mode}: boot"):
        server = lab.boot([f"{PREFIX}{mode}"], "compute1")[0]
    for repeat in range(repeats):
        with lab_lock(f"{mode} repeat {repeat + 1}"):
            for tool in alternated(repeat, "ours", "cli"):
                target = other_than(lab.host_of(server.id))
                if tool == "ours":
                    run, module_duration = migrate_ours(server, target, mode=mode)
                    wall = run.wall
                    add_migrate_breakdown(section, run, module_duration)
                elif mode == "live":
                    wall = osc("server", "migrate", "--live-migration", "--host", target, "--wait", server.name)
                else:
                    started = time.monotonic()
                    osc("server", "migrate", "--host", target, "--wait", server.name)
                    cli_confirm(server)
                    # Done for the operator when the server is ACTIVE again, confirmed, on the target.
                    lab.wait_settled(server.id, "ACTIVE", target)
                    wall = time.monotonic() - started
                lab.wait_settled(server.id, "ACTIVE", target)
                record, nova = lab.latest_migration(server.id)
                section.add(f"{tool}: wall time", wall)
                section.add(f"{tool}: Nova's migration record (created_at -> updated_at)", nova)
                section.add(f"{tool}: wall time minus Nova's migration", wall - nova)
                if tool == "ours" and module_duration is not None:
                    section.add("ours: module alone minus Nova's migration", module_duration - nova)
    section.compare("ours / cli wall time (medians)", "ours: wall time", "cli: wall time", "<= 1.0", 1.0)
    section.compare("ours: overhead over Nova's migration (s, median)", "ours: wall time minus Nova's migration",
                    None, "<= 2 s", 2.0)
    return section


# -- section: manual cold migration against plain copies -------------------------------------

# Data written into each case's disk (offset, size) with qemu-io, from /dev/urandom: random, so that
# neither compression nor zero detection makes the copy cheaper than real data would be. The guest's
# own image is 24 MiB, so nothing below 64 MiB is touched and the guest still boots.
DISK_CASES = {
    # 300 MiB of data in a 1 GB disk.
    "dense": dict(disk_gb=1, writes=[("100M", "300M")]),
    # An 8 GB disk with 4 x 2 MiB written 2 GiB apart: big, mostly unallocated. Alone that makes a
    # small qcow2 file, not a sparse one (qcow2 allocates clusters one after the other); so 1 GiB is
    # also written and discarded, which punches a hole of 1 GiB into the file: what a guest's
    # deleted files leave.
    "sparse": dict(disk_gb=8, writes=[("1G", "2M"), ("3G", "2M"), ("5G", "2M"), ("7G", "2M")],
                   holes=[("1536M", "1G")]),
}
COPY_EXCLUDE = "console.log*"  # root's once libvirt has run the guest; nova cannot read it


def fill_disk(lab, server, case):
    """Stop the server and write the case's random data into its qcow2 overlay, as root on its compute."""
    lab.stop(server.id)
    host = lab.host_of(server.id)
    disk = f"{INSTANCES}/{server.id}/disk"
    commands = [f"owner=$(stat -c %U:%G {disk})"]
    for offset, size in DISK_CASES[case]["writes"]:
        commands.append(f"head -c {size} /dev/urandom > /tmp/bench-random && "
                        f"qemu-io -f qcow2 -c 'write -s /tmp/bench-random {offset} {size}' {disk} >/dev/null")
    for offset, size in DISK_CASES[case].get("holes", []):
        commands.append(f"qemu-io -f qcow2 -d unmap -c 'write -P 0x5a {offset} {size}' "
                        f"-c 'discard {offset} {size}' {disk} >/dev/null")
    commands += ["rm -f /tmp/bench-random", f"chown $owner {disk}"]
    LabHost(host).run(" && ".join(commands), timeout=600)
    return describe_directory(host, server.id)


def describe_directory(host, server_id):
    """The instance directory's apparent and allocated size, for the notes."""
    path = f"{INSTANCES}/{server_id}"
    sizes = LabHost(host).run(f"du -sh --apparent-size {path} | cut -f1; du -sh {path} | cut -f1").stdout.split()
    return f"instance directory {sizes[0]} apparent, {sizes[1]} allocated"


def plain_copy_commands(server_id, target):
    """The two plain copies of the instance directory to a scratch directory on `target`, run as nova."""
    source_dir = f"{INSTANCES}/{server_id}"
    scratch = f"{INSTANCES}/.bench-copy-{server_id}"
    address = HOSTS[target]
    ssh = "ssh -o BatchMode=yes"
    rsync = f"sudo -u nova rsync -a --exclude='{COPY_EXCLUDE}' -e '{ssh}' {source_dir}/ {address}:{scratch}/"
    # scp has no --exclude: the directory's entries but console.log are named one by one.
    scp = (f"sudo -u nova {ssh} {address} mkdir -p {scratch} && cd {source_dir} && "
           f"sudo -u nova scp -o BatchMode=yes -r $(ls -A | grep -v '^console.log') {address}:{scratch}/")
    return dict(rsync=rsync, scp=scp), f"rm -rf {scratch}"


def time_plain_copies(lab, server, section, case):
    source = lab.host_of(server.id)
    target = other_than(source)
    copies, remove = plain_copy_commands(server.id, target)
    for tool, command in copies.items():
        seconds = remote_seconds(source, command)
        LabHost(target).run(remove)
        log(f"  {case}: plain {tool} {source} -> {target}: {seconds:.1f} s")
        section.add(f"{case}: plain {'rsync -a' if tool == 'rsync' else 'scp -r'} (same directory, same hosts)",
                    seconds)


def time_manual_move(lab, server, section, case):
    target = other_than(lab.host_of(server.id))
    run, _ = migrate_ours(server, target, mode="cold", cold_method="manual", allow_stop="true")
    section.add(f"{case}: ours, whole playbook", run.wall)
    section.profile(f"{case}: " + " ".join(run.argv[3:]), run)
    section.add(f"{case}: ours, ansible start-up (launch to first task)", run.startup())
    copied = run.result(r"^Manual \| Copy the instance directory")
    task = run.task_seconds(r"^Manual \| Copy the instance directory")
    section.add(f"{case}: ours, copy ({copied.get('method', '?')} over ssh, as the module timed it)",
                copied.get("copy_seconds") or 0.0)
    section.add(f"{case}: ours, copy + checksum verification (as the module timed them)",
                (copied.get("copy_seconds") or 0.0) + (copied.get("verify_seconds") or 0.0))
    section.add(f"{case}: ours, copy task incl. backing file, stale-copy check and Ansible overhead", task)
    lab.wait_settled(server.id, ("SHUTOFF", "ACTIVE"), target)


def bench_manual(lab, repeats):
    section = Section("manual", "manual cold migration (SHUTOFF server): migrate.yml cold_method=manual vs "
                                "plain rsync -a / scp -r")
    servers = {}
    with lab_lock("manual: boot and fill the disks"):
        booted = lab.boot([f"{PREFIX}manual-dense"], "compute1", disk_gb=DISK_CASES["dense"]["disk_gb"])
        booted += lab.boot([f"{PREFIX}manual-sparse"], "compute1", disk_gb=DISK_CASES["sparse"]["disk_gb"])
        for case, server in zip(DISK_CASES, booted):
            servers[case] = server
            section.notes.append(f"{case}: {fill_disk(lab, server, case)}; random data written (offset, size): "
                                 f"{DISK_CASES[case]['writes']}, holes: {DISK_CASES[case].get('holes', [])}")
    for repeat in range(repeats):
        for case, server in servers.items():
            with lab_lock(f"manual {case} repeat {repeat + 1}"):
                # Ours moves the server to the other compute; the plain copies go the same way,
                # from where the server is, before or after ours in turn.
                for tool in alternated(repeat, "ours", "plain"):
                    if tool == "ours":
                        time_manual_move(lab, server, section, case)
                    else:
                        time_plain_copies(lab, server, section, case)
    for case in DISK_CASES:
        section.compare(f"{case}: ours copy+verify / plain rsync -a", f"{case}: ours, copy + checksum verification "
                        "(as the module timed them)", f"{case}: plain rsync -a (same directory, same hosts)", "<= 1.3", 1.3)
        section.compare(f"{case}: ours whole playbook / plain rsync -a", f"{case}: ours, whole playbook",
                        f"{case}: plain rsync -a (same directory, same hosts)", "(info)", float("inf"))
    section.compare("sparse: ours copy+verify / scp -r", "sparse: ours, copy + checksum verification (as the module timed them)",
                    "sparse: plain scp -r (same directory, same hosts)", "< 1.0", 0.999)
    return section


# -- section: the procedure's resources, ours vs openstack.cloud -----------------------------

CREATE_PLAYBOOKS = {"ours": "playbooks/server.yml", "openstack.cloud": "bench/openstack_cloud_server.yml"}
CREATE_STEPS = {"image": r"^Upload the guest image$", "flavor": r"^Create the flavor$",
                "network": r"^Create the network$", "subnet": r"^Create the subnet$",
                "server (boot, waited for)": r"^Boot the server$", "console URL": r"^Get the server's console URL$"}


def create_vars(prefix):
    return dict(novaops_server_image_name=f"{prefix}image", novaops_server_flavor_name=f"{prefix}flavor",
                novaops_server_network_name=f"{prefix}net", novaops_server_subnet_name=f"{prefix}subnet",
                novaops_server_name=f"{prefix}server", novaops_server_image_file=str(GUEST_IMAGE_FILE))


def bench_create(lab, repeats):
    section = Section("create", "server.yml's resources (image, flavor, network, subnet, server): "
                                "ours vs openstack.cloud")
    section.notes.append("openstack.cloud has no console module: its playbook skips the console URL "
                         "(ours asks for it; the lab serves no console, so ours notes the refusal)")
    for repeat in range(repeats):
        for tool in alternated(repeat, "ours", "openstack.cloud"):
            prefix = f"{PREFIX}c{repeat}-{'o' if tool == 'ours' else 'oc'}-"
            with lab_lock(f"create {tool} repeat {repeat + 1}"):
                try:
                    run = playbook(CREATE_PLAYBOOKS[tool], **create_vars(prefix))
                finally:
                    lab.delete_named(prefix)
            section.add(f"{tool}: wall time", run.wall)
            section.profile(tool, run)
            section.add(f"{tool}: ansible start-up (launch to first task)", run.startup())
            for step, pattern in CREATE_STEPS.items():
                seconds = run.task_seconds(pattern)
                if seconds:
                    section.add(f"{tool}: {step} (task)", seconds)
    section.compare("ours / openstack.cloud wall time (medians)", "ours: wall time", "openstack.cloud: wall time",
                    "(info)", float("inf"))
    return section


# -- section: drain -----------------------------------------------------------------------------

# Drains of 1, 5 and 20 servers: the time per server as the drain grows, serial against 3 at a time.
DRAIN_SIZES = (20, 5, 1)
DRAIN_LIMIT = 0.5


def foreign_servers(lab, host):
    """Servers on `host` that are not the bench's: a drain would move them too."""
    return [server.name for server in lab.cloud.compute.servers(all_projects=True, compute_host=host)
            if not server.name.startswith(PREFIX)]


def move_all_to(lab, servers, host):
    """Live-migrate the servers to `host` with the CLI, three at a time (not timed)."""
    pending = [server for server in servers if lab.host_of(server.id) != host]
    for batch_start in range(0, len(pending), 3):
        batch = pending[batch_start:batch_start + 3]
        processes = [subprocess.Popen([OPENSTACK, "--os-cloud", "lab", "server", "migrate", "--live-migration",
                                       "--host", host, "--wait", server.id], env=ENV,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for server in batch]
        for process in processes:
            process.wait(timeout=900)
        for server in batch:
            lab.wait_settled(server.id, "ACTIVE", host)


DRAIN_VCPU_RATIO = 16.0


def vcpu_allocation_ratio(lab, ratio):
    """Set the computes' VCPU allocation ratio in Placement; return what it was, per provider.

    The lab's computes have 2 cores at Nova's ratio of 4: 8 one-vCPU servers each, fewer than the drain's 20.
    Their nova.conf leaves cpu_allocation_ratio unset, so nova-compute keeps the ratio set in Placement."""
    before = {}
    for provider in lab.cloud.placement.resource_providers():
        if provider.name not in COMPUTES:
            continue
        inventory = [entry for entry in lab.cloud.placement.resource_provider_inventories(provider)
                     if entry.resource_class == "VCPU"][0]
        before[provider.id] = inventory.allocation_ratio
        wanted = ratio if isinstance(ratio, float) else ratio[provider.id]
        # A PUT of the whole inventory record (openstacksdk's update sends only the changed fields: a 400).
        body = dict(resource_provider_generation=inventory.resource_provider_generation, total=inventory.total,
                    reserved=inventory.reserved, min_unit=inventory.min_unit, max_unit=inventory.max_unit,
                    step_size=inventory.step_size, allocation_ratio=wanted)
        response = lab.cloud.placement.put(f"/resource_providers/{provider.id}/inventories/VCPU", json=body)
        if response.status_code != 200:
            raise RuntimeError(f"Placement refused the VCPU ratio of {provider.name}: {response.status_code} "
                               f"{response.text[:300]}")
    return before


def drain_host_for(lab, drained, others):
    """The compute to drain: holds no one else's server, and needs the fewest untimed moves to hold exactly
    `drained` (the other bench servers go to the other compute)."""
    hosts = [host for host in COMPUTES if not foreign_servers(lab, host)]
    if not hosts:
        raise RuntimeError("both computes hold servers that are not the bench's: a drain would move them")
    placed = {server.id: lab.host_of(server.id) for server in list(drained) + list(others)}

    def moves_needed(host):
        return (sum(placed[server.id] != host for server in drained)
                + sum(placed[server.id] == host for server in others))
    return min(hosts, key=moves_needed)


def cpu_jiffies():
    """(busy, total) jiffies of all the machine's cores since boot, from /proc/stat (the lab's hosts included)."""
    with open("/proc/stat", encoding="ascii") as stat:
        fields = [int(value) for value in stat.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal (guest time is counted in user already).
    idle = fields[3] + fields[4]
    total = sum(fields[:8])
    return total - idle, total


def busy_share(before, after):
    """The share of the machine's CPU time that was busy between two cpu_jiffies() readings."""
    total = after[1] - before[1]
    return (after[0] - before[0]) / total if total > 0 else 0.0


def drain_once(lab, drained, others, concurrency):
    """Drain a compute holding exactly `drained` (moved there first, untimed), then put it back in service.

    Returns the run and the share of the machine's CPU that was busy during it: with 2 cores shared by the
    controller's services, both computes and their QEMU guests, that share says whether more moves at once
    can still go faster.
    """
    host = drain_host_for(lab, drained, others)
    move_all_to(lab, others, other_than(host))
    move_all_to(lab, drained, host)
    try:
        before = cpu_jiffies()
        run = playbook("playbooks/drain.yml", host=host, target=other_than(host), concurrency=concurrency)
        busy = busy_share(before, cpu_jiffies())
    finally:
        playbook("playbooks/drain.yml", host=host, enable="true")
    if run.rc != 0:
        raise RuntimeError(f"drain of {host} ({len(drained)} servers, concurrency {concurrency}) failed: "
                           f"{run.failures()}")
    return run, busy


def bench_drain(lab, repeats):
    section = Section("drain", f"drain.yml of {', '.join(map(str, DRAIN_SIZES))} ACTIVE servers: concurrency=1 "
                               "vs concurrency=3 (a sliding window of 3 move slots)")
    names = [f"{PREFIX}drain-{number}" for number in range(1, max(DRAIN_SIZES) + 1)]
    # Nova runs one live migration per source host at a time by default; a drain's concurrency can only
    # help when the computes allow as many. Set for the section, back to Nova's default after it.
    with lab_lock("drain: computes allow 3 live migrations at once"):
        playbook("playbooks/site.yml", novaops_libvirt_max_concurrent_live_migrations=3)
        # site.yml restarted nova-compute; a server booted before it serves again goes to ERROR.
        lab.wait_computes_back(time.time())
    section.notes.append("the computes ran with nova's max_concurrent_live_migrations=3 "
                         "(novaops_libvirt_max_concurrent_live_migrations), set back to 1 afterwards")
    quota = ratios = None
    try:
        # 20 servers are more than the default quota of 10 instances, and than one compute's 8 vCPUs.
        quota = admin_quota_unlimited(lab)
        ratios = vcpu_allocation_ratio(lab, DRAIN_VCPU_RATIO)
        section.notes.append(f"the computes' VCPU allocation ratio was {DRAIN_VCPU_RATIO:g} in Placement for the "
                             "section (2 cores: room for 20 one-vCPU servers on one compute), set back afterwards")
        bench_drain_runs(lab, section, names, repeats)
    finally:
        try:
            lab.delete_servers(f"^{re.escape(PREFIX)}drain-")
        finally:
            if ratios is not None:
                vcpu_allocation_ratio(lab, ratios)
            if quota is not None:
                lab.cloud.set_compute_quotas(quota[0], **quota[1])
            with lab_lock("drain: computes back to one live migration at a time"):
                playbook("playbooks/site.yml", novaops_libvirt_max_concurrent_live_migrations=1)
                lab.wait_computes_back(time.time())
    for size in DRAIN_SIZES:
        section.compare(f"{size} server(s): concurrency=3 / concurrency=1 wall time (medians)",
                        f"{size} server(s), concurrency=3: wall time", f"{size} server(s), concurrency=1: wall time",
                        f"<= {DRAIN_LIMIT}" if size == max(DRAIN_SIZES) else "(info)",
                        DRAIN_LIMIT if size == max(DRAIN_SIZES) else float("inf"))
    return section


def bench_drain_runs(lab, section, names, repeats):
    with lab_lock("drain: boot"):
        boot_started = time.monotonic()
        servers = lab.boot(names, "compute1")
        section.add("booting the servers (Nova, not compared)", time.monotonic() - boot_started)
    for repeat in range(repeats):
        for size in DRAIN_SIZES:
            drained, others = servers[:size], servers[size:]
            for concurrency in alternated(repeat, 1, 3):
                with lab_lock(f"drain of {size} concurrency={concurrency} repeat {repeat + 1}"):
                    run, busy = drain_once(lab, drained, others, concurrency)
                label = f"{size} server(s), concurrency={concurrency}"
                section.add(f"{label}: wall time", run.wall)
                section.add(f"{label}: CPU busy, % of all cores (not seconds)", 100 * busy)
                section.add(f"{label}: seconds per server", run.wall / size)
                section.profile(label, run)
                section.add(f"{label}: the moves (slots made to the check after)",
                            run.span(r"^Drain \| Make the move slots$", r"^Drain \| Look at what is still on the host$"))


# -- section: plan ------------------------------------------------------------------------------

PLAN_HOSTS = 20
PLAN_SERVERS = 1000
PLAN_BATCH = 50
PLAN_ZONE = f"{PREFIX}fake"
PLAN_LIMIT = 30.0


def fake_hosts():
    return [f"fake{number}" for number in range(1, PLAN_HOSTS + 1)]


def start_fake_computes(lab):
    """PLAN_HOSTS nova-compute services with the fake virt driver on the controller, mapped and in their own zone."""
    units = " ".join(f"lab-fake-compute@{number}" for number in range(1, PLAN_HOSTS + 1))
    LabHost("controller").run(f"systemctl start {units}", timeout=300)
    wanted = set(fake_hosts())

    def up():
        services = {s.host: s for s in lab.cloud.compute.services(binary="nova-compute") if s.host in wanted}
        providers = {p.name for p in lab.cloud.placement.resource_providers() if p.name in wanted}
        return len(services) == len(wanted) and all(s.state == "up" for s in services.values()) and \
            providers == wanted
    wait_until(up, 600, interval=5, what=f"{PLAN_HOSTS} fake nova-compute services up with resource providers")
    LabHost("controller").run("su -s /bin/sh nova -c '/opt/openstack/bin/nova-manage cell_v2 discover_hosts'",
                              timeout=300)
    aggregate = lab.cloud.compute.create_aggregate(name=PLAN_ZONE, availability_zone=PLAN_ZONE)
    for host in fake_hosts():
        lab.cloud.compute.add_host_to_aggregate(aggregate, host)
    return aggregate


def stop_fake_computes(lab):
    """Undo start_fake_computes: the aggregate, the units, their services (and so their compute nodes)."""
    for aggregate in lab.cloud.compute.aggregates():
        if aggregate.name == PLAN_ZONE:
            for host in aggregate.hosts or []:
                lab.cloud.compute.remove_host_from_aggregate(aggregate, host)
            lab.cloud.compute.delete_aggregate(aggregate)
    LabHost("controller").run("systemctl stop 'lab-fake-compute@*'", check=False, timeout=300)
    for service in lab.cloud.compute.services(binary="nova-compute"):
        if service.host in fake_hosts():
            lab.cloud.compute.delete_service(service)


def admin_quota_unlimited(lab):
    """Lift the admin project's instance, core and RAM quota; return what to set back."""
    project = lab.cloud.current_project_id
    before = lab.cloud.get_compute_quotas(project)
    lab.cloud.set_compute_quotas(project, instances=-1, cores=-1, ram=-1)
    return project, dict(instances=before["instances"], cores=before["cores"], ram=before["ram"])


def boot_fake_servers(lab):
    """PLAN_SERVERS servers without ports in the fake zone, PLAN_BATCH per request; their ids once ACTIVE."""
    flavor = lab.cloud.compute.find_flavor(f"{PREFIX}fake") or lab.cloud.compute.create_flavor(
        name=f"{PREFIX}fake", ram=64, vcpus=1, disk=1)
    for batch in range(PLAN_SERVERS // PLAN_BATCH):
        lab.cloud.compute.create_server(name=f"{PREFIX}plan-{batch}", image_id=lab.image().id, flavor_id=flavor.id,
                                        networks="none", availability_zone=PLAN_ZONE, min_count=PLAN_BATCH,
                                        max_count=PLAN_BATCH)

    def all_active():
        servers = list(lab.cloud.compute.servers(name=f"^{PREFIX}plan-", all_projects=True))
        failed = [server.name for server in servers if server.status == "ERROR"]
        if failed:
            raise RuntimeError(f"{len(failed)} fake server(s) went to ERROR, e.g. {failed[0]}")
        active = [server for server in servers if server.status == "ACTIVE"]
        return len(active) == PLAN_SERVERS and active
    servers = wait_until(all_active, 1800, interval=10, what=f"{PLAN_SERVERS} fake servers ACTIVE")
    hosts = {server.compute_host for server in servers}
    log(f"  {len(servers)} fake servers ACTIVE on {len(hosts)} host(s)")
    return [server.id for server in servers], hosts


def delete_fake_servers(lab):
    servers = list(lab.cloud.compute.servers(name=f"^{PREFIX}plan-", all_projects=True))
    for server in servers:
        lab.cloud.compute.delete_server(server, ignore_missing=True)
    wait_until(lambda: not list(lab.cloud.compute.servers(name=f"^{PREFIX}plan-", all_projects=True)), 1800,
               interval=10, what="the fake servers deleted")
    log(f"  deleted {len(servers)} fake servers")


def http_requests(sdk_log):
    """The HTTP requests openstacksdk made, per service, from its DEBUG log (keystoneauth's REQ lines)."""
    counts = {}
    for line in sdk_log.read_text(errors="replace").splitlines():
        match = re.search(r"REQ: curl -g -i (?:--insecure )?-X (\w+) (\S+)", line)
        if match:
            service = re.sub(r"^https?://[^/]+/?", "", match.group(2).strip("'\"")).split("/")[0] or "identity"
            counts[service] = counts.get(service, 0) + 1
    return counts


def bench_plan(lab, repeats):
    section = Section("plan", f"migration_plan of {PLAN_SERVERS} servers on {PLAN_HOSTS} computes "
                              "(Nova's fake virt driver, no ports)")
    workdir = REPO / "bench" / "results" / "plan-scale"
    workdir.mkdir(parents=True, exist_ok=True)
    with lab_lock("plan: fake computes and 1,000 servers"):
        quota = None
        try:
            start_fake_computes(lab)
            quota = admin_quota_unlimited(lab)
            boot_started = time.monotonic()
            ids, hosts = boot_fake_servers(lab)
            section.add("booting the servers (Nova, not timed against a limit)", time.monotonic() - boot_started)
            section.notes.append(f"{len(ids)} servers on {len(hosts)} fake computes, booted {PLAN_BATCH} per request")
            servers_file = workdir / "servers.json"
            servers_file.write_text(json.dumps(ids))
            for repeat in range(repeats):
                run = playbook("bench/plan_scale.yml", plan_servers_file=servers_file)
                result = run.result(r"^Plan every server's move$")
                section.add("migration_plan: module time (the task)", run.task_seconds(r"^Plan every server's move$"))
                section.add("migration_plan: wall time (ansible-playbook)", run.wall)
                section.add("migration_plan: listings counted by the module (api_calls)", result.get("api_calls", 0))
                section.profile(f"plan repeat {repeat + 1}", run)
            sdk_log = workdir / "sdk.log"
            sdk_log.unlink(missing_ok=True)
            logged = playbook("bench/plan_scale.yml", plan_servers_file=servers_file, plan_sdk_log=sdk_log)
            requests = http_requests(sdk_log)
            sdk_log.unlink(missing_ok=True)
            section.add("HTTP requests of one plan (DEBUG-logged run)", sum(requests.values()))
            section.add("HTTP requests per server", sum(requests.values()) / len(ids))
            section.add("migration_plan with DEBUG logging: module time", logged.task_seconds(r"^Plan every"))
            section.notes.append("HTTP requests by endpoint path: " + ", ".join(
                f"{service} {count}" for service, count in sorted(requests.items())))
        finally:
            (workdir / "servers.json").unlink(missing_ok=True)
            try:
                delete_fake_servers(lab)
            finally:
                if quota is not None:
                    lab.cloud.set_compute_quotas(quota[0], **quota[1])
                stop_fake_computes(lab)
    section.compare("migration_plan module time (median), seconds", "migration_plan: module time (the task)", None,
                    f"<= {PLAN_LIMIT:.0f}", PLAN_LIMIT)
    section.compare("HTTP requests per server", "HTTP requests per server", None, "(info)", float("inf"))
    return section


# -- main -----------------------------------------------------------------------------------------

BENCHES = {"site": bench_site, "live": lambda lab, n: bench_api_migration(lab, n, "live"),
           "cold": lambda lab, n: bench_api_migration(lab, n, "cold"), "manual": bench_manual,
           "create": bench_create, "drain": bench_drain, "plan": bench_plan}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=SECTIONS, action="append", default=None,
                        help="run only this section (repeatable); default: $BENCH_ONLY (comma-separated) or all")
    parser.add_argument("--repeats", type=int, default=int(os.environ.get("BENCH_REPEATS", DEFAULT_REPEATS)),
                        help=f"A/B pairs per section (default: $BENCH_REPEATS or {DEFAULT_REPEATS})")
    parser.add_argument("--output", type=pathlib.Path, default=RESULTS, help=f"JSON results (default {RESULTS})")
    args = parser.parse_args()
    if args.only is None:
        only = [name.strip() for name in os.environ.get("BENCH_ONLY", "").split(",") if name.strip()]
        unknown = set(only) - set(SECTIONS)
        if unknown:
            parser.error(f"BENCH_ONLY: unknown section(s) {', '.join(sorted(unknown))}")
        args.only = only or list(SECTIONS)
    return args


def wait_for_lab():
    """The lab may still be coming up (someone else brings it up): wait for it, never start it here."""
    deadline = time.monotonic() + 1800
    while True:
        status = subprocess.run([str(REPO / "lab" / "lab.sh"), "status"], capture_output=True, text=True,
                                check=False).stdout
        if "lab: ready" in status and CLOUDS_YAML.exists():
            return
        if time.monotonic() > deadline:
            raise SystemExit("the lab did not come up within 30 min")
        log("the lab is not ready yet; waiting 30 s")
        time.sleep(30)


def write_results(path, facts, args, sections, errors, started):
    path.parent.mkdir(parents=True, exist_ok=True)
    document = dict(machine=facts, repeats=args.repeats, sections_run=args.only,
                    wall_seconds=round(time.monotonic() - started, 1), errors=errors,
                    sections={section.name: section.as_json() for section in sections})
    path.write_text(json.dumps(document, indent=2) + "\n")
    log(f"results written to {path}")


def main():
    args = parse_args()
    # A SIGTERM (timeout, kill PID) ends the run through the `finally` below, which deletes what it made.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    wait_for_lab()
    started = time.monotonic()
    facts = machine_facts()
    log(f"bench: sections {', '.join(args.only)}, {args.repeats} repeat(s); {facts['nproc']} CPUs, "
        f"{facts['ram_gib']} GiB, kernel {facts['kernel']}, commit {facts['git_commit'][:12]}")
    lab = Lab(connect())
    sections, errors = [], {}
    try:
        # In the order of SECTIONS: site first, so a fresh lab gets its real first run.
        for name in [name for name in SECTIONS if name in args.only]:
            log(f"section {name}")
            try:
                sections.append(BENCHES[name](lab, args.repeats))
            except Exception as error:  # one broken section must not lose the others' results
                errors[name] = f"{type(error).__name__}: {error}"
                log(f"section {name} failed: {errors[name]}")
    finally:
        with lab_lock("cleanup"):
            lab.cleanup()
    print_table(sections)
    for name, error in errors.items():
        print(f"section {name} FAILED: {error}")
    write_results(args.output, facts, args, sections, errors, started)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
