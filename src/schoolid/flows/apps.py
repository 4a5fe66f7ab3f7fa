from django.apps import AppConfig


class FlowsConfig(AppConfig):
    name = "schoolid.flows"
    label = "flows"
