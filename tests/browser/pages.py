"""Steps several browser tests share."""
import pyotp


def sign_in(page, base, identifier, password, seed=None):
    """Sign in through the real page; with `seed`, answer the second step with a TOTP code."""
    page.goto(f"{base}/signin/")
    page.fill("#id_identifier", identifier)
    page.fill("#id_password", password)
    page.click("#signin-submit")
    if seed:
        page.fill("#id_code", pyotp.TOTP(seed).now())
        page.click("#code-submit")
    page.wait_for_url(f"{base}/account/")
