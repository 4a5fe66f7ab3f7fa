from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "schoolid.accounts"
    label = "accounts"

    def ready(self):
        from django.contrib.auth import user_logged_in
        from django.contrib.auth.models import update_last_login

        # sign_in_with_password writes last_login together with the throttle reset, in one UPDATE.
        user_logged_in.disconnect(update_last_login, dispatch_uid="update_last_login")
