"""WTForms forms of the operator console, and the adapter from request arguments to WTForms' form data.

Messages are English and translated where they are shown (templates call `_()` on labels and errors), so
every message here has a row in app/locale/uk_UA.csv. CSRF is Tornado's job (xsrf_cookies), not WTForms'.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from wtforms import BooleanField, DateField, EmailField, Form, PasswordField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, InputRequired, Length, Optional, ValidationError

# bcrypt looks at 72 bytes at most; the domain refuses longer passwords, the form says so first.
PASSWORD_MIN = 8
PASSWORD_MAX_BYTES = 72
REQUIRED = "This field is required"


class FormData:
    """A read-only multidict over Tornado's `request.body_arguments` (name -> list of bytes), as WTForms wants."""

    def __init__(self, arguments: Mapping[str, Sequence[bytes | str]]) -> None:
        self._data: dict[str, list[str]] = {}
        for name, values in arguments.items():
            # Browsers send UTF-8; anything undecodable is replaced rather than crashing validation.
            self._data[name] = [v.decode("utf-8", "replace") if isinstance(v, bytes) else v for v in values]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, name: object) -> bool:
        return name in self._data

    def getlist(self, name: str) -> list[str]:
        return list(self._data.get(name, []))

    def get(self, name: str, default: str | None = None) -> str | None:
        values = self._data.get(name)
        return values[0] if values else default


def _password_bytes(form: Form, field: Any) -> None:
    if field.data and len(field.data.encode("utf-8")) > PASSWORD_MAX_BYTES:
        raise ValidationError("The password must be at most 72 bytes long")


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def redirect_uri_lines(text: str | None) -> list[str]:
    """The redirect URIs typed into the textarea: one per line, blanks dropped, duplicates removed in order."""
    seen: list[str] = []
    for line in (text or "").splitlines():
        line = line.strip()
        if line and line not in seen:
            seen.append(line)
    return seen


class LoginForm(Form):
    email = EmailField(
        "Email",
        [DataRequired(REQUIRED), Length(max=254, message="At most 254 characters")],
        filters=[_strip],
        render_kw={"autocomplete": "username", "autofocus": True},
    )
    password = PasswordField(
        "Password",
        [InputRequired(REQUIRED), Length(max=1024, message="Too long")],
        render_kw={"autocomplete": "current-password"},
    )


class ConfirmForm(Form):
    """The form behind every confirmation page: a destructive POST without it does nothing."""

    confirm = StringField("Confirm", [InputRequired("Confirm the action to continue")])

    def validate_confirm(self, field: Any) -> None:
        if field.data != "yes":
            raise ValidationError("Confirm the action to continue")


class ClientForm(Form):
    name = StringField(
        "Name",
        [DataRequired(REQUIRED), Length(max=200, message="At most 200 characters")],
        filters=[_strip],
        description="Shown on the consent page, e.g. ChatGPT or Claude",
    )
    redirect_uris = TextAreaField(
        "Redirect URIs",
        [DataRequired("Give at least one redirect URI")],
        description="One per line. ChatGPT: https://chatgpt.com/connector_platform_oauth_redirect · "
        "Claude: https://claude.ai/api/mcp/auth_callback",
        render_kw={"rows": 3, "spellcheck": "false", "autocapitalize": "off"},
    )


# How a registered client proves itself at the token endpoint; the server holds it to exactly this method.
AUTH_METHOD_CHOICES = (
    ("client_secret_post", "Secret in the request body (client_secret_post): ChatGPT, Claude"),
    ("client_secret_basic", "Secret in HTTP Basic (client_secret_basic)"),
    ("private_key_jwt", "Signed JWT with the app's own key (private_key_jwt)"),
    ("none", "Public client: no secret, PKCE only (none)"),
)


class ClientRegisterForm(ClientForm):
    auth_method = SelectField(
        "Client authentication",
        [InputRequired(REQUIRED)],
        default="client_secret_post",
        choices=[SelectChoice(value, label) for value, label in AUTH_METHOD_CHOICES],
        description="Must match what the app sends; ChatGPT asks for it as the token endpoint auth method",
    )
    jwks_uri = StringField(
        "Key set URL (jwks_uri)",
        [Optional(), Length(max=2000, message="At most 2000 characters")],
        filters=[_strip],
        description="private_key_jwt only: the https URL where the app publishes its public keys",
        render_kw={"spellcheck": "false", "autocapitalize": "off", "placeholder": "https://"},
    )
    jwks = TextAreaField(
        "Key set (jwks)",
        [Optional(), Length(max=32768, message="At most 32 KiB")],
        filters=[_strip],
        description='private_key_jwt only, instead of a URL: the public JWK set, {"keys": [...]}',
        render_kw={"rows": 4, "spellcheck": "false", "autocapitalize": "off"},
    )


class UserCreateForm(Form):
    email = EmailField(
        "Email",
        [DataRequired(REQUIRED), Length(max=254, message="At most 254 characters")],
        filters=[_strip],
        render_kw={"autocomplete": "off"},
    )
    password = PasswordField(
        "Password",
        [Optional(), Length(min=PASSWORD_MIN, message="At least 8 characters"), _password_bytes],
        description="Leave empty to create the account without password sign-in",
        render_kw={"autocomplete": "new-password"},
    )
    confirm_password = PasswordField(
        "Repeat the password",
        [EqualTo("password", "The passwords do not match")],
        render_kw={"autocomplete": "new-password"},
    )
    is_admin = BooleanField("Operator (may use this console)")


class PasswordForm(Form):
    password = PasswordField(
        "New password",
        [InputRequired(REQUIRED), Length(min=PASSWORD_MIN, message="At least 8 characters"), _password_bytes],
        render_kw={"autocomplete": "new-password"},
    )
    confirm_password = PasswordField(
        "Repeat the password",
        [InputRequired(REQUIRED), EqualTo("password", "The passwords do not match")],
        render_kw={"autocomplete": "new-password"},
    )


class ApiKeyForm(Form):
    name = StringField(
        "Key name",
        [DataRequired(REQUIRED), Length(max=100, message="At most 100 characters")],
        filters=[_strip],
        description="What the key is for, e.g. the script or service using it",
    )


class UserSearchForm(Form):
    q = StringField(
        "Search by email", [Optional(), Length(max=254, message="At most 254 characters")], filters=[_strip]
    )


class AuditFilterForm(Form):
    action = SelectField("Action", [Optional()], choices=[SelectChoice("", "any")], validate_choice=False)
    actor = StringField("Actor", [Optional(), Length(max=254, message="At most 254 characters")], filters=[_strip])
    target = StringField(
        "Target",
        [Optional(), Length(max=300, message="At most 300 characters")],
        filters=[_strip],
        description="e.g. user:12, client:slc_… (its client ID), api_key:7 or grant:31; or click a target in the list",
    )
    since = DateField("From", [Optional()], invalid_value_message="Enter a date as YYYY-MM-DD")
    until = DateField("To", [Optional()], invalid_value_message="Enter a date as YYYY-MM-DD")

    def validate_until(self, field: Any) -> None:
        if field.data and self.since.data and field.data < self.since.data:
            raise ValidationError("The end date is before the start date")
