from django.urls import path

from schoolid.federation import views

urlpatterns = [
    path("signin/federated/<slug:name>/", views.start, name="federation-start"),
    path("signin/federated/<slug:name>/callback/", views.callback, name="federation-callback"),
    path("signin/federated/<slug:name>/backchannel-logout/", views.backchannel_logout, name="federation-backchannel-logout"),
    path("signin/federated-confirm/", views.confirm, name="federation-confirm"),
    path("account/linked/<int:link_id>/unlink/", views.unlink, name="federation-unlink"),
]
