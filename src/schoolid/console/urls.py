from django.urls import path

from schoolid.console import views

urlpatterns = [
    path("", views.people, name="console"),
    path("issue/confirm/", views.issue_confirm, name="console-issue-confirm"),
    path("issue/", views.issue, name="console-issue"),
    path("issued/<uuid:batch_id>/", views.issued, name="console-issued"),
    path("issued/<uuid:batch_id>/slips.pdf", views.issued_pdf, name="console-issued-pdf"),
    path("issued/<uuid:batch_id>/passwords.csv", views.issued_csv, name="console-issued-csv"),
    path("find/", views.find, name="console-find"),
    path("people/<str:user_code>/", views.person, name="console-person"),
    path("people/<str:user_code>/edit/", views.person_edit, name="console-person-edit"),
    path("people/<str:user_code>/reset/", views.person_reset, name="console-person-reset"),
    path("people/<str:user_code>/reset-second-factor/", views.person_reset_second_factor, name="console-person-reset-2fa"),
    path("people/<str:user_code>/guardians/", views.propose_guardian, name="console-propose-guardian"),
    path("people/<str:user_code>/guardians/<int:link_id>/end/", views.end_guardian_link, name="console-end-guardian"),
    path("not-activated/", views.not_activated, name="console-not-activated"),
    path("access-requests/", views.access_requests_view, name="console-access-requests"),
    path("pending-roles/", views.pending_roles, name="console-pending-roles"),
    path("sync/", views.sync, name="console-sync"),
    path("sync/<int:run_id>/", views.sync_report, name="console-sync-report"),
]
