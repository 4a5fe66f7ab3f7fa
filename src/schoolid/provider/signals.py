"""Sign-out anywhere (the sign-out page, /admin/logout/, the end-session endpoint) logs the session
out of every client it used: the lower floors know nothing of the provider, so it listens."""
from django.contrib.auth.signals import user_logged_out
from django.dispatch import receiver


@receiver(user_logged_out)
def _logged_out(sender, request, user, **kwargs):
    if user is None or request is None:
        return
    from schoolid.provider.services import end_session_of

    end_session_of(request, user)
