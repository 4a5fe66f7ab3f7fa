from django.urls import path

from schoolid.families import views

urlpatterns = [
    path("account/family/", views.family, name="family"),
    path("account/family/<str:user_code>/reset/", views.family_reset, name="family-reset"),
    path("account/family/issued/<uuid:batch_id>/", views.family_issued, name="family-issued"),
]
