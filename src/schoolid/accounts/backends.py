from django.contrib.auth.backends import BaseBackend

from schoolid.accounts.models import Account


class AccountBackend(BaseBackend):
    """Loads the signed-in account for each request. Passwords are checked in services.sign_in_with_password,
    which also throttles and audits, so authenticate() here never accepts credentials."""

    def authenticate(self, request, **credentials):
        return None

    def get_user(self, user_id):
        account = Account.objects.filter(pk=user_id).first()
        # A disabled account loses every session at once (ASVS 7.4.2).
        return account if account is not None and account.is_active else None
