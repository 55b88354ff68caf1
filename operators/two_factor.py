"""Two-factor (TOTP) pages: set up an authenticator app once, then confirm a code after each login."""

from django import forms
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from auditlog.services import audit_event_record


class TokenForm(forms.Form):
    token = forms.CharField(
        label=_("Код из приложения"),
        min_length=6,
        max_length=8,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


def _next(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or "/"
    return target if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}) else "/"


@login_required
def two_factor(request):
    """Any logged-in user: confirm a TOTP code; the first time, set up the device shown on this page."""
    device = TOTPDevice.objects.filter(user=request.user).order_by("-confirmed", "id").first()
    if device is None:
        device = TOTPDevice.objects.create(user=request.user, name="portal", confirmed=False)
    form = TokenForm(request.POST or None)
    # Asked before the code is tried: a throttled device refuses even the right code.
    throttled = request.method == "POST" and not device.verify_is_allowed()[0]
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["token"].strip()):
            first_time = not device.confirmed
            if first_time:
                device.confirmed = True
                device.save(update_fields=["confirmed"])
            otp_login(request, device)
            audit_event_record(
                actor=request.user,
                action="auth.two_factor_setup" if first_time else "auth.two_factor",
                ip=request.META.get("REMOTE_ADDR", ""),
            )
            return redirect(_next(request))
        form.add_error("token", _("Неверный или устаревший код"))
    if request.method == "POST":
        # Every refused code is logged, never the code itself.
        audit_event_record(
            actor=request.user,
            action="auth.two_factor_failed",
            ip=request.META.get("REMOTE_ADDR", ""),
            details={"device": device.pk, "setup": not device.confirmed, "throttled": throttled},
        )
    return render(
        request,
        "registration/two_factor.html",
        {"form": form, "device": device, "setup": not device.confirmed, "next": _next(request)},
    )
