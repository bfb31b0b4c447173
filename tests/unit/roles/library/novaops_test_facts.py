# Test helper, not part of the collection: sets the facts it is given, so the
# roles can be run on this machine as if it were another OS family.
from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule


def main() -> None:
    module = AnsibleModule(
        argument_spec={"facts": {"type": "dict", "required": True}},
        supports_check_mode=True,
    )
    module.exit_json(changed=False, ansible_facts=module.params["facts"])


if __name__ == "__main__":
    main()
