from django.apps import AppConfig


class FamiliesConfig(AppConfig):
    """Guardian links, access requests, the family page and the parent's reset: family logic in one room
    above accounts and credentials. The tables stay the register's (directory.Guardianship, AccessRequest)."""

    name = "schoolid.families"
    label = "families"
