"""Mounted at /scim/v2/. Trailing slashes are optional, as SCIM clients send none."""
from django.urls import re_path

from schoolid.provisioning.scim import views

app_name = "scim"

urlpatterns = [
    re_path(r"^$", views.unknown, name="root"),
    re_path(r"^ServiceProviderConfigs?/?$", views.service_provider_config, name="service-provider-config"),
    re_path(r"^ResourceTypes/?$", views.resource_types, name="resource-types"),
    re_path(r"^ResourceTypes/(?P<rid>[^/]+)/?$", views.resource_type, name="resource-type"),
    re_path(r"^Schemas/?$", views.schemas, name="schemas"),
    re_path(r"^Schemas/(?P<sid>[^/]+)/?$", views.schema, name="schema"),
    re_path(r"^Users/?$", views.users, name="users"),
    re_path(r"^Users/\.search/?$", views.users_search, name="users-search"),
    re_path(r"^Users/(?P<rid>[^/]+)/?$", views.user, name="user"),
    re_path(r"^Groups/?$", views.groups, name="groups"),
    re_path(r"^Groups/\.search/?$", views.groups_search, name="groups-search"),
    re_path(r"^Groups/(?P<rid>[^/]+)/?$", views.group, name="group"),
    re_path(r"^Bulk/?$", views.bulk, name="bulk"),
    re_path(r"^\.search/?$", views.root_search, name="search"),
    re_path(r"^(?P<rest>.*)$", views.unknown, name="unknown"),
]
