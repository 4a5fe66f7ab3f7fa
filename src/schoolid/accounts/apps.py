from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "schoolid.accounts"
    label = "accounts"

    def ready(self):
        from django.contrib.auth import user_logged_in
        from django.contrib.auth.models import update_last_login

        # sign_in_with_password writes last_login together with the throttle reset, in one UPDATE.
        user_logged_in.disconnect(update_last_login, dispatch_uid="update_last_login")

        from django.contrib.auth import user_logged_out

        from schoolid.accounts import sessions

        def _signed_out(sender, request, user, **kwargs):
            # Sent before the session is flushed: its index row ends with it.
            if request is not None and hasattr(request, "session") and request.session.get(sessions.INDEX_KEY) is not None:
                sessions.mark_ended(request.session[sessions.INDEX_KEY])

        user_logged_out.connect(_signed_out, weak=False, dispatch_uid="schoolid_session_index")
