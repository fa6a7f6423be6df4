import re

from django import forms


class SecondFactorCodeForm(forms.Form):
    """The 6-digit code an authenticator app shows (spaces allowed, as apps group them)."""

    code = forms.CharField(label="Code from your authenticator app", max_length=12)

    def clean_code(self) -> str:
        code = re.sub(r"\s+", "", self.cleaned_data["code"])
        if not re.fullmatch(r"[0-9]{6}", code):
            raise forms.ValidationError("Enter the 6 digits your authenticator app shows.")
        return code
