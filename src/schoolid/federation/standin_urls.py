from django.urls import path

from schoolid.federation import standin

urlpatterns = [
    path(".well-known/openid-configuration", standin.discovery),
    path("jwks", standin.jwks),
    path("authorize", standin.authorize),
    path("token", standin.token),
    path("userinfo", standin.userinfo),
    path("logout", standin.logout),
    path("esia/cert.pem", standin.certificate),
    path("esia/aas/oauth2/v2/ac", standin.authorize, {"esia": True}),
    path("esia/aas/oauth2/v3/te", standin.token, {"esia": True}),
    path("esia/rs/prns/<str:oid>", standin.esia_person),
    path("esia/idp/ext/Logout", standin.logout),
]
