import urllib.parse

from django.conf import settings
from django.urls import path

from schoolid.provider import views

urlpatterns = [
    path(".well-known/openid-configuration", views.discovery, name="oidc-discovery"),
    path("oidc/jwks", views.jwks, name="oidc-jwks"),
    path("oidc/authorize", views.authorize, name="oidc-authorize"),
    path("oidc/authorize/<uuid:flow_id>/", views.resume, name="oidc-resume"),
    path("oidc/token", views.token, name="oidc-token"),
    path("oidc/userinfo", views.userinfo, name="oidc-userinfo"),
    path("oidc/introspect", views.introspect, name="oidc-introspect"),
    path("oidc/revoke", views.revoke, name="oidc-revoke"),
    path("oidc/logout", views.end_session, name="oidc-end-session"),
    path("account/apps/", views.apps, name="oidc-apps"),
    path("account/family/apps/", views.family_apps, name="oidc-family-apps"),
]

# An issuer with a path (SCHOOLID_OIDC_ISSUER=https://id.example/oidc) has its metadata under that path (OIDC Discovery §4).
_issuer_path = urllib.parse.urlsplit(settings.SCHOOLID_OIDC_ISSUER).path.strip("/")
if _issuer_path:
    urlpatterns.append(path(f"{_issuer_path}/.well-known/openid-configuration", views.discovery))
