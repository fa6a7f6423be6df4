from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "apps.accounts"
    label = "accounts"
    verbose_name = "Accounts and roles"

    def ready(self):
        from axes.signals import user_locked_out
        from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed

        from apps.accounts import signals

        uid = "apps.accounts.signals"
        user_logged_in.connect(signals.on_user_logged_in, dispatch_uid=signals.SIGN_IN_DISPATCH_UID)
        user_logged_out.connect(signals.on_user_logged_out, dispatch_uid=f"{uid}.out")
        user_login_failed.connect(signals.on_user_login_failed, dispatch_uid=f"{uid}.failed")
        user_locked_out.connect(signals.on_user_locked_out, dispatch_uid=f"{uid}.locked")
