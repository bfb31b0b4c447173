"""Create the lab's service users, roles and catalog in Keystone (idempotent).

Run inside the controller with the OpenStack virtualenv's Python, after
`keystone-manage bootstrap`. Every service user gets `admin` and `service` in
project `service`: Neutron's port-binding API is service-only, and live or cold
migration of a server with a port fails with 403 without it.
"""
import os
import sys
import time

import openstack

CONTROLLER = os.environ["CONTROLLER_IP"]
REGION = "RegionOne"
SERVICES = [
    # name, type, url
    ("glance", "image", f"http://{CONTROLLER}:9292"),
    ("placement", "placement", f"http://{CONTROLLER}:8778"),
    ("nova", "compute", f"http://{CONTROLLER}:8774/v2.1"),
    ("neutron", "network", f"http://{CONTROLLER}:9696"),
]


def connect():
    deadline = time.monotonic() + 120
    while True:
        try:
            conn = openstack.connect(
                auth_url=f"http://{CONTROLLER}:5000/v3",
                username="admin",
                password=os.environ["ADMIN_PASSWORD"],
                project_name="admin",
                user_domain_name="Default",
                project_domain_name="Default",
                region_name=REGION,
            )
            conn.identity.get_token()
            return conn
        except Exception as exc:  # keystone may still be starting
            if time.monotonic() > deadline:
                sys.exit(f"keystone at {CONTROLLER}:5000 did not answer: {exc}")
            time.sleep(1)


def ensure_role(conn, name):
    return conn.identity.find_role(name) or conn.identity.create_role(name=name)


def main():
    conn = connect()
    domain = conn.identity.find_domain("default")
    project = conn.identity.find_project("service", domain_id=domain.id) or conn.identity.create_project(
        name="service", domain_id=domain.id, description="Service users")
    roles = [ensure_role(conn, "admin"), ensure_role(conn, "service")]
    for name, service_type, url in SERVICES:
        user = conn.identity.find_user(name, domain_id=domain.id)
        if user is None:
            user = conn.identity.create_user(name=name, domain_id=domain.id,
                                             password=os.environ["SERVICE_PASSWORD"])
        else:
            conn.identity.update_user(user, password=os.environ["SERVICE_PASSWORD"])
        for role in roles:
            conn.identity.assign_project_role_to_user(project, user, role)
        service = conn.identity.find_service(name) or conn.identity.create_service(
            name=name, type=service_type)
        existing = {ep.interface for ep in conn.identity.endpoints(service_id=service.id)}
        for interface in ("public", "internal", "admin"):
            if interface not in existing:
                conn.identity.create_endpoint(service_id=service.id, interface=interface,
                                              url=url, region_id=REGION)
    print("catalog ready:", ", ".join(s[0] for s in SERVICES))


if __name__ == "__main__":
    main()
