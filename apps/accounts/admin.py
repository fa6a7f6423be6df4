"""Sign-in records in the Django admin.

- TOTP devices: Administrators see who has a second factor and remove one (a lost phone);
  they never see a key or QR code (``OTP_ADMIN_HIDE_SENSITIVE_DATA``), nor add or change a
  device: only its owner enrols, on the two-factor page. Removals are audited.
- django-axes: the current failure counts (``AccessAttempt``) stay; deleting one unlocks
  that user name or address. Its access logs go: sign-ins are in the audit log.
"""

from axes.models import AccessFailureLog, AccessLog
from django.contrib import admin
from django_otp.plugins.otp_totp.admin import TOTPDeviceAdmin
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.accounts.services import second_factor_remove

for model in (AccessLog, AccessFailureLog, TOTPDevice):
    if admin.site.is_registered(model):
        admin.site.unregister(model)


@admin.register(TOTPDevice)
class SecondFactorDeviceAdmin(TOTPDeviceAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def delete_model(self, request, obj):
        second_factor_remove(user=obj.user, actor=request.user)

    def delete_queryset(self, request, queryset):
        users = {device.user for device in queryset.select_related("user")}
        for user in users:
            second_factor_remove(user=user, actor=request.user)
