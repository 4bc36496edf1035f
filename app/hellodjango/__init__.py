"""The hellodjango reference project deployed by this repository's Ansible roles."""

__version__ = "1.0.0"
