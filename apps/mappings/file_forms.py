from django import forms

from apps.mappings.mapping_files import HEADERS, MAX_FILE_BYTES, MAX_ROWS


class MappingFileUploadForm(forms.Form):
    file = forms.FileField(
        label="Mapping file",
        widget=forms.ClearableFileInput(attrs={"class": "form-control", "accept": ".csv"}),
    )

    def __init__(self, *args, kind: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = (
            f"CSV with the header {','.join(HEADERS[kind])} (comma- or semicolon-separated, "
            f"UTF-8), as the download writes it; at most {MAX_FILE_BYTES // 1024 // 1024} MB "
            f"and {MAX_ROWS:,} rows. Names are only for you to read: the ids decide. A blank "
            "id unmaps the row; rows not in the file are left as they are."
        )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_FILE_BYTES:
            raise forms.ValidationError(
                f"The file is {upload.size / 1024 / 1024:.1f} MB; the limit is "
                f"{MAX_FILE_BYTES // 1024 // 1024} MB. Split it and upload the parts one by "
                "one."
            )
        return upload
