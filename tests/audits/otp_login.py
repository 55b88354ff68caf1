"""Admin tests log in as production does: password, then a confirmed TOTP code (OTP_REQUIRED_FOR_SCC on)."""

from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice


def login_verified(client, user) -> None:
    """A session with a verified second factor, through the two-factor page itself."""
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    client.force_login(user)
    code = f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):0{device.digits}d}"
    response = client.post(reverse("two_factor"), {"token": code, "next": "/admin/"})
    assert response.status_code == 302, response.content[:300]
    assert response["Location"] == "/admin/"
