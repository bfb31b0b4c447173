"""Loaded by the modules of bench/openstack_cloud_server.yml only (PYTHONPATH set by its play).

openstack.cloud 2.5.0 (in ansible 12.3.0) reads ``openstack.version.__version__``
after ``import openstack``, but openstacksdk 4.22 no longer imports that
submodule from its ``__init__``: every openstack.cloud module fails with
"module 'openstack' has no attribute 'version'". Importing it here first lets
the comparison run without changing the project's environment.
"""
import openstack.version  # noqa: F401
