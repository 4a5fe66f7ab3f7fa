from django.urls import path

from schoolid.privacy import views

urlpatterns = [
    path("account/export/", views.my_export, name="privacy-export"),
    path("account/family/<str:user_code>/export/", views.child_export, name="privacy-child-export"),
    path("console/people/<str:user_code>/export/", views.staff_export, name="privacy-staff-export"),
]
