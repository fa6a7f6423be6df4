"""Signing in (password, then the code when the user has a second factor), signing out,
and the two-factor page where every user enrols or removes their authenticator app."""

import math
from urllib.parse import urlencode

import django_otp
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.generic import FormView

from apps.accounts import selectors, services, signin
from apps.accounts.forms import SecondFactorCodeForm
from apps.accounts.roles import Role, has_role


class SignOutView(auth_views.LogoutView):
    """Django's logout (POST only), then a word on the sign-in page."""

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        messages.info(request, "You are signed out.")
        return response


class SignInView(auth_views.LoginView):
    """The password step. A user with a confirmed second factor is not signed in yet: the
    session remembers the right password for a few minutes and the code step follows."""

    template_name = "accounts/login.html"
    redirect_authenticated_user = True

    def form_valid(self, form):
        user = form.get_user()
        if selectors.second_factor_device(user) is None:
            return super().form_valid(form)
        signin.signin_pending_start(self.request, user=user)
        return HttpResponseRedirect(_with_next(reverse("accounts:login_code"), self))


@method_decorator(
    [login_not_required, sensitive_post_parameters("code"), csrf_protect, never_cache],
    name="dispatch",
)
class SignInCodeView(auth_views.RedirectURLMixin, FormView):
    """The code step: the 6-digit code of the user who gave the right password."""

    template_name = "accounts/login_code.html"
    form_class = SecondFactorCodeForm

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            return redirect(settings.LOGIN_REDIRECT_URL)
        self.pending = signin.signin_pending(request)
        if self.pending is None:
            if request.method == "POST":
                messages.info(request, "That took too long: please sign in again.")
            return HttpResponseRedirect(_with_next(reverse("accounts:login"), self))
        return super().dispatch(request, *args, **kwargs)

    def get_default_redirect_url(self):
        return resolve_url(settings.LOGIN_REDIRECT_URL)

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            next=self.get_redirect_url(), username=self.pending.user.get_username(), **kwargs
        )

    def form_valid(self, form):
        user = self.pending.user
        check = services.second_factor_verify(
            user=user,
            code=form.cleaned_data["code"],
            ip_address=signin.client_ip_address(self.request),
            step="sign-in",
        )
        if not check.ok:
            form.add_error("code", _code_refused(check))
            return self.form_invalid(form)
        signin.signin_pending_clear(self.request)
        # django-otp keeps the device in the session when the user carries it at login().
        user.otp_device = check.device
        auth_login(self.request, user, backend=self.pending.backend)
        return HttpResponseRedirect(self.get_success_url())


@method_decorator([sensitive_post_parameters("code"), never_cache], name="dispatch")
class TwoFactorView(auth_views.RedirectURLMixin, View):
    """Account → Two-factor authentication, for every signed-in user.

    Off: a button starts enrolment. Enrolling: the QR code and the key, and a code to
    confirm them. On but not confirmed in this session: a code to confirm it. On: a link
    to remove it.
    """

    template_name = "accounts/two_factor.html"

    def get_default_redirect_url(self):
        return reverse("accounts:two_factor")

    def get(self, request):
        return self.show(SecondFactorCodeForm())

    def post(self, request):
        user = request.user
        action = request.POST.get("action")
        device = selectors.second_factor_device(user)
        if action == "start":
            if device is None:
                services.second_factor_enrol_start(user=user)
            return HttpResponseRedirect(_with_next(reverse("accounts:two_factor"), self))
        form = SecondFactorCodeForm(request.POST)
        if action not in ("confirm", "verify") or not form.is_valid():
            return self.show(form)
        ip_address = signin.client_ip_address(request)
        if action == "confirm":
            enrolling = selectors.second_factor_device(user, confirmed=False)
            if device is not None or enrolling is None:
                return HttpResponseRedirect(_with_next(reverse("accounts:two_factor"), self))
            check = services.second_factor_enrol_confirm(
                device=enrolling, code=form.cleaned_data["code"], ip_address=ip_address
            )
            done = "Two-factor authentication is on. Sign-ins now ask for a code."
        else:
            if device is None:
                return HttpResponseRedirect(_with_next(reverse("accounts:two_factor"), self))
            check = services.second_factor_verify(
                user=user, code=form.cleaned_data["code"], ip_address=ip_address, step="session"
            )
            done = "This session is confirmed with your second factor."
        if not check.ok:
            form.add_error("code", _code_refused(check))
            return self.show(form)
        request.session.cycle_key()
        django_otp.login(request, check.device)
        messages.success(request, done)
        return HttpResponseRedirect(self.get_success_url())

    def show(self, form):
        user = self.request.user
        device = selectors.second_factor_device(user)
        enrolling = None if device else selectors.second_factor_device(user, confirmed=False)
        verified = bool(device) and user.is_verified()
        context = {
            "form": form,
            "device": device,
            "verified": verified,
            "enrolling": enrolling,
            "next": self.get_redirect_url(),
            "required_for_you": settings.SECOND_FACTOR_REQUIRED
            and has_role(user, Role.ADMINISTRATOR),
        }
        if enrolling is not None:
            context["qr_svg"] = selectors.second_factor_qr_svg(enrolling)
            context["secret"] = selectors.second_factor_secret(enrolling)
        return render(self.request, self.template_name, context)


class TwoFactorRemoveView(View):
    """Remove one's own second factor, after a confirmation page (POST does it)."""

    template_name = "accounts/two_factor_remove.html"

    def dispatch(self, request, *args, **kwargs):
        device = selectors.second_factor_device(request.user)
        enrolling = selectors.second_factor_device(request.user, confirmed=False)
        if device is None and enrolling is None:
            messages.info(request, "Two-factor authentication is off: there is nothing to remove.")
            return redirect("accounts:two_factor")
        if device is not None and not request.user.is_verified():
            messages.warning(request, "Confirm this session with a code first.")
            return redirect("accounts:two_factor")
        return super().dispatch(request, *args, **kwargs)

    def get(self, request):
        required = settings.SECOND_FACTOR_REQUIRED and has_role(request.user, Role.ADMINISTRATOR)
        return render(request, self.template_name, {"required_for_you": required})

    def post(self, request):
        services.second_factor_remove(user=request.user, actor=request.user)
        messages.success(
            request, "Two-factor authentication is off. Sign-ins ask only for the password."
        )
        return redirect("accounts:two_factor")


def _with_next(url: str, view) -> str:
    """``url`` carrying the view's safe ``next`` along, if there is one."""
    next_url = view.get_redirect_url()
    return f"{url}?{urlencode({'next': next_url})}" if next_url else url


def _code_refused(check) -> str:
    if check.throttled_until:
        seconds = max(1, math.ceil((check.throttled_until - timezone.now()).total_seconds()))
        return f"Too many wrong codes. Wait {seconds} seconds, then try again."
    return "That code is not right (or was already used). Try the next one your app shows."
