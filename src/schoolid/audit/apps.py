from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "schoolid.audit"
    label = "audit"
