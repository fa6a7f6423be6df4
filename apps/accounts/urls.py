from django.urls import path

from apps.accounts.views import (
    SignInCodeView,
    SignInView,
    SignOutView,
    TwoFactorRemoveView,
    TwoFactorView,
)

app_name = "accounts"

urlpatterns = [
    path("login/", SignInView.as_view(), name="login"),
    path("login/code/", SignInCodeView.as_view(), name="login_code"),
    path("logout/", SignOutView.as_view(), name="logout"),
    path("account/two-factor/", TwoFactorView.as_view(), name="two_factor"),
    path("account/two-factor/remove/", TwoFactorRemoveView.as_view(), name="two_factor_remove"),
]
