"""Who may sign off: reviewers signed in with a local password or through OIDC.

Viewing an audit may be open; recording a decision is not. A :class:`Reviewer` says who is
signed in and whether they may sign (``may_sign``). Two ways to get one:

- **local** (the default): a users file (or the app's ``secrets.toml``) lists usernames with
  salted scrypt password hashes; :func:`authenticate` checks a password in constant time;
- **OIDC**: after ``st.login``, :func:`reviewer_from_claims` maps the identity provider's
  claims to a reviewer; only verified e-mail addresses listed under ``[oidc.reviewers]`` may
  sign, everyone else may view.

The file, ``~/.config/fairtrail/users.toml`` unless ``$FAIRTRAIL_USERS`` names another::

    [users.ada]
    name = "Ada Lovelace"
    role = "chair"
    password_hash = "scrypt$16384$8$1$<salt, base64>$<key, base64>"
    may_sign = true                      # optional, true by default

    [oidc.reviewers]
    "grace@example.org" = "data protection officer"

``fairtrail users add`` writes it (atomically, mode 0600); a password is never stored, only
its hash. What this does not do: rate-limit guesses (the app should), or protect a users file
that others can read from offline guessing (scrypt only makes each guess expensive).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import secrets
import tomllib
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

__all__ = [
    "IdentityError",
    "LocalUser",
    "Reviewer",
    "Users",
    "add_user",
    "authenticate",
    "check_password",
    "default_users_path",
    "hash_password",
    "load_users",
    "reviewer_from_claims",
    "users_from_mapping",
]

# scrypt cost: 128 x 8 x 2**14 bytes = 16 MiB and ~0.08 s per password, the parameters of the
# scrypt paper (Percival 2009) and RFC 7914 for interactive logins. OWASP's cheat sheet now asks
# for n >= 2**17 (128 MiB); hashes carry their parameters, so raising n later breaks none.
_N, _R, _P = 2**14, 8, 1
_SALT_BYTES, _KEY_BYTES = 16, 32
#: Memory scrypt may use for a stored hash's parameters (its need is 128·r·(n + p + 2) bytes).
_MAX_MEMORY = 256 * 2**20
_FORMAT = "'scrypt$<n>$<r>$<p>$<salt>$<key>' (salt and key in base64)"
_USERNAME = re.compile(r"[A-Za-z0-9_.-]+")
_USER_KEYS = ("name", "role", "password_hash", "may_sign")
#: Checked against when the username is unknown, so that an unknown name costs one scrypt too.
#: The hash of 32 random bytes that were thrown away: no password matches it.
_DUMMY_HASH = (
    "scrypt$16384$8$1$fV/cFpyPvJYqiaAMW+MxKQ==$MCOGZMLpkSj5B7g7IBR+RuYKpRvep348Yob52CiVXYo="
)
_HEADER = (
    "# fairtrail reviewers. `fairtrail users add` rewrites this file (comments are not kept).\n"
)


class IdentityError(ValueError):
    """A users file, password hash, username or sign-in that cannot be used (it names which)."""


@dataclass(frozen=True)
class Reviewer:
    """Someone signed in to the review app.

    Parameters
    ----------
    username : str
        The local username, or the e-mail address (else the ``sub`` claim) for OIDC.
    name : str
        Display name.
    role : str
        What they sign as ("chair", "data protection officer"); ``"viewer"`` for someone
        signed in through OIDC who is not a listed reviewer.
    may_sign : bool
        Whether they may record sign-off decisions; everyone signed in may view.
    source : {"local", "oidc"}
        How they signed in.
    """

    username: str
    name: str
    role: str
    may_sign: bool
    source: Literal["local", "oidc"]


@dataclass(frozen=True)
class LocalUser:
    """One ``[users.<username>]`` entry of a users file (its hash is left out of the repr)."""

    username: str
    name: str
    role: str
    may_sign: bool
    password_hash: str = field(repr=False)


@dataclass(frozen=True)
class Users:
    """The user directory: local users by username, and the OIDC reviewers.

    Parameters
    ----------
    local : Mapping of str to LocalUser
        Local users by username.
    oidc_reviewers : Mapping of str to str
        Role of each e-mail address that may sign after an OIDC sign-in (lower-cased).
    """

    local: Mapping[str, LocalUser] = field(default_factory=lambda: MappingProxyType({}))
    oidc_reviewers: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, dklen: int) -> bytes:
    # NFC, as RFC 8265's OpaqueString profile asks: the same password typed on two systems
    # that compose accents differently gives the same bytes.
    data = unicodedata.normalize("NFC", password).encode("utf-8")
    return hashlib.scrypt(data, salt=salt, n=n, r=r, p=p, dklen=dklen, maxmem=_MAX_MEMORY)


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """Hash a password with scrypt and a random salt, in a self-describing string.

    The key is ``scrypt(NFC(password) as UTF-8, salt, n=2**14, r=8, p=1, dklen=32)``; the
    result is ``scrypt$16384$8$1$<salt>$<key>`` with salt and key in base64, so that
    :func:`check_password` can read the parameters back if they change.

    Parameters
    ----------
    password : str
        The password; not empty.
    salt : bytes, optional
        At least 16 bytes; 16 random bytes from :func:`secrets.token_bytes` by default. Pass
        one only to reproduce a hash (tests).

    Returns
    -------
    str
        The encoded hash.

    Raises
    ------
    IdentityError
        If ``password`` is empty or ``salt`` is shorter than 16 bytes.

    References
    ----------
    C. Percival and S. Josefsson, "The scrypt Password-Based Key Derivation Function",
    RFC 7914, 2016.

    Examples
    --------
    >>> encoded = hash_password("correct horse", salt=bytes(16))
    >>> encoded.split("$")[:5]
    ['scrypt', '16384', '8', '1', 'AAAAAAAAAAAAAAAAAAAAAA==']
    >>> hash_password("correct horse") == hash_password("correct horse")  # random salts
    False
    """
    # Never echo the password itself, not even in an error.
    if not isinstance(password, str):
        raise IdentityError(
            f"The 'password' parameter must be a string. Got {type(password).__name__}."
        )
    if not password:
        raise IdentityError("The 'password' parameter must not be empty.")
    if salt is None:
        salt = secrets.token_bytes(_SALT_BYTES)
    elif not isinstance(salt, bytes) or len(salt) < _SALT_BYTES:
        got = f"{len(salt)} bytes" if isinstance(salt, bytes) else type(salt).__name__
        raise IdentityError(
            f"The 'salt' parameter must be at least {_SALT_BYTES} bytes. Got {got}."
        )
    key = _scrypt(password, salt, _N, _R, _P, _KEY_BYTES)
    return f"scrypt${_N}${_R}${_P}${_b64(salt)}${_b64(key)}"


def _parse(encoded: str) -> tuple[int, int, int, bytes, bytes]:
    """``(n, r, p, salt, key)`` of an encoded hash; IdentityError naming what is wrong."""
    if not isinstance(encoded, str):
        raise IdentityError(
            f"A password hash must be a string {_FORMAT}. Got {type(encoded).__name__}."
        )
    parts = encoded.split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        raise IdentityError(
            f"A password hash must be {_FORMAT}. Got {len(parts)} '$'-separated fields, "
            f"the first {parts[0][:12]!r}."
        )
    n, r, p = (int(x) if re.fullmatch("[0-9]{1,10}", x) else 0 for x in parts[1:4])
    if n < 2 or n & (n - 1) or r < 1 or p < 1:
        raise IdentityError(
            f"A password hash must be {_FORMAT}, with n a power of 2 greater than 1 and r and "
            f"p positive integers. Got n={parts[1]!r}, r={parts[2]!r}, p={parts[3]!r}."
        )
    if 128 * r * (n + p + 2) > _MAX_MEMORY:
        raise IdentityError(
            f"A password hash's scrypt parameters may use at most {_MAX_MEMORY // 2**20} MiB "
            f"(128·r·(n + p + 2) bytes). Got n={n}, r={r}, p={p}."
        )
    decoded = []
    for what, text, least in (("salt", parts[4], _SALT_BYTES), ("key", parts[5], 16)):
        try:
            value = base64.b64decode(text, validate=True)
        except binascii.Error:
            value = b""
        if len(value) < least:
            raise IdentityError(
                f"A password hash must be {_FORMAT}, with a {what} of at least {least} bytes "
                f"in base64. Got {len(text)} characters decoding to {len(value)} bytes."
            )
        decoded.append(value)
    return n, r, p, decoded[0], decoded[1]


def check_password(password: str, encoded: str) -> bool:
    """Whether ``password`` is the one ``encoded`` was made from.

    Recomputes scrypt with the salt and parameters in ``encoded`` and compares the keys with
    :func:`hmac.compare_digest`, whose time does not depend on where they differ. An empty
    password is never right (but costs the same).

    Parameters
    ----------
    password : str
        The password to check.
    encoded : str
        A hash from :func:`hash_password`.

    Returns
    -------
    bool
        True when the password matches.

    Raises
    ------
    IdentityError
        If ``encoded`` is not a hash in the format :func:`hash_password` writes.

    Examples
    --------
    >>> encoded = hash_password("correct horse")
    >>> check_password("correct horse", encoded), check_password("battery staple", encoded)
    (True, False)
    >>> check_password("x", "bcrypt$2b$12$abc")
    Traceback (most recent call last):
    ...
    fairtrail.identity.IdentityError: A password hash must be 'scrypt$<n>$<r>$<p>$<salt>$<key>' ...
    """
    n, r, p, salt, key = _parse(encoded)
    candidate = _scrypt(password, salt, n, r, p, len(key))
    same = hmac.compare_digest(candidate, key)
    return same and bool(password)


def authenticate(users: Users, username: str, password: str) -> Reviewer | None:
    """The reviewer whose local username and password these are, or None.

    Takes about the same time whether the username exists or not: an unknown username is
    checked against a fixed hash that no password matches, so timing does not tell which
    usernames exist. A wrong password is not an error.

    Parameters
    ----------
    users : Users
        The user directory, from :func:`load_users` or :func:`users_from_mapping`.
    username : str
        As typed (compared exactly).
    password : str
        As typed.

    Returns
    -------
    Reviewer or None
        The reviewer (``source="local"``; ``may_sign`` as the directory says), or None when
        the username is unknown or the password wrong.

    Examples
    --------
    >>> users = users_from_mapping({"users": {"ada": {
    ...     "name": "Ada Lovelace", "role": "chair", "password_hash": hash_password("s3cret")}}})
    >>> authenticate(users, "ada", "s3cret")
    Reviewer(username='ada', name='Ada Lovelace', role='chair', may_sign=True, source='local')
    >>> authenticate(users, "ada", "guess") is None, authenticate(users, "eve", "s3cret") is None
    (True, True)
    """
    user = users.local.get(username)
    if user is None:
        check_password(password, _DUMMY_HASH)
        return None
    if not check_password(password, user.password_hash):
        return None
    return Reviewer(user.username, user.name, user.role, user.may_sign, "local")


def _is_true(value: object) -> bool:
    # Some providers (Amazon Cognito) send booleans as strings.
    return value is True or (isinstance(value, str) and value.lower() == "true")


def reviewer_from_claims(claims: Mapping[str, Any], reviewers: Mapping[str, str]) -> Reviewer:
    """The reviewer an OIDC sign-in gives: a listed, verified e-mail may sign; others may view.

    Parameters
    ----------
    claims : Mapping of str to Any
        The identity token's claims, as ``st.user`` holds them after ``st.login``: ``email``,
        ``email_verified``, ``name``, ``sub``.
    reviewers : Mapping of str to str
        Role of each e-mail address that may sign (``Users.oidc_reviewers``); compared
        without regard to case.

    Returns
    -------
    Reviewer
        ``source="oidc"``; ``username`` is the e-mail address (the ``sub`` claim when there
        is none); ``may_sign`` only when the e-mail is listed and not unverified (an
        ``email_verified`` claim that is present and not true), and then ``role`` is the
        listed one, else ``"viewer"``.

    Raises
    ------
    IdentityError
        If the claims say nobody is signed in (``is_logged_in`` false) or have neither
        ``email`` nor ``sub``.

    Examples
    --------
    >>> reviewers = {"ada@example.org": "chair"}
    >>> reviewer_from_claims({"email": "Ada@example.org", "name": "Ada"}, reviewers)
    Reviewer(username='Ada@example.org', name='Ada', role='chair', may_sign=True, source='oidc')
    >>> reviewer_from_claims({"email": "eve@example.org"}, reviewers).may_sign
    False
    >>> reviewer_from_claims({"email": "ada@example.org", "email_verified": False},
    ...                      reviewers).may_sign
    False
    """
    if "is_logged_in" in claims and not _is_true(claims["is_logged_in"]):
        raise IdentityError("The sign-in claims say nobody is signed in ('is_logged_in' is false).")
    email = claims.get("email")
    email = email if isinstance(email, str) and email else None
    subject = claims.get("sub")
    username = email or (subject if isinstance(subject, str) and subject else None)
    if username is None:
        raise IdentityError(
            f"The sign-in claims have neither an 'email' nor a 'sub' to name the reviewer. "
            f"Claims present: {sorted(claims)}."
        )
    verified = "email_verified" not in claims or _is_true(claims["email_verified"])
    roles = {address.lower(): role for address, role in reviewers.items()}
    role = roles.get(email.lower()) if email is not None and verified else None
    name = claims.get("name")
    name = name if isinstance(name, str) and name.strip() else username
    return Reviewer(username, name, role or "viewer", role is not None, "oidc")


def _text(value: object, what: str) -> str:
    """``value`` if it is a non-empty string that UTF-8 can encode; IdentityError otherwise."""
    if not isinstance(value, str) or not value.strip():
        raise IdentityError(f"{what} must be a non-empty string. Got {value!r}.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise IdentityError(f"{what} must be valid Unicode text (no lone surrogates).") from None
    return value


def _username(value: object, what: str) -> str:
    if not isinstance(value, str) or not _USERNAME.fullmatch(value):
        raise IdentityError(
            f"{what} must be letters, digits, '_', '.' or '-' (at least one). Got {value!r}."
        )
    return value


def users_from_mapping(mapping: Mapping[str, Any], *, source: str = "the users mapping") -> Users:
    """The user directory a users file or ``st.secrets`` describes.

    Reads the ``users`` and ``oidc`` tables (see the module docstring for their shape) and
    ignores every other top-level key, so ``st.secrets`` may hold ``[auth]`` and more. Every
    password hash is parsed (not checked against anything) so that a broken one is found now,
    not at sign-in.

    Parameters
    ----------
    mapping : Mapping of str to Any
        Parsed TOML: a dict from :mod:`tomllib`, or ``st.secrets``.
    source : str, default="the users mapping"
        What to call it in error messages (for example ``"secrets.toml"``).

    Returns
    -------
    Users
        The directory (read-only mappings).

    Raises
    ------
    IdentityError
        Naming the source, the user and the missing, unknown or invalid key.

    Examples
    --------
    >>> users = users_from_mapping({
    ...     "users": {"ada": {"name": "Ada", "role": "chair", "may_sign": False,
    ...                       "password_hash": hash_password("pw", salt=bytes(16))}},
    ...     "oidc": {"reviewers": {"Grace@example.org": "data protection officer"}},
    ...     "auth": {"redirect_uri": "ignored"}})
    >>> users.local["ada"]
    LocalUser(username='ada', name='Ada', role='chair', may_sign=False)
    >>> dict(users.oidc_reviewers)
    {'grace@example.org': 'data protection officer'}
    >>> users_from_mapping({"users": {"ada": {"name": "Ada"}}}, source="secrets.toml")
    Traceback (most recent call last):
    ...
    fairtrail.identity.IdentityError: In secrets.toml, user 'ada' has no 'role': ...
    """
    local: dict[str, LocalUser] = {}
    table = mapping.get("users", {})
    if not isinstance(table, Mapping):
        raise IdentityError(f"In {source}, 'users' must be a table of users. Got {table!r}.")
    for username, entry in table.items():
        _username(username, f"In {source}, the username {username!r}")
        where = f"In {source}, user {username!r}"
        if not isinstance(entry, Mapping):
            raise IdentityError(f"{where} must be a table of {list(_USER_KEYS)}. Got {entry!r}.")
        unknown = sorted(set(entry) - set(_USER_KEYS))
        if unknown:
            raise IdentityError(
                f"{where} has unknown key {unknown[0]!r}. Known keys: {sorted(_USER_KEYS)}."
            )
        for key in ("name", "role", "password_hash"):
            if key not in entry:
                raise IdentityError(f"{where} has no {key!r}: expected a non-empty string.")
        may_sign = entry.get("may_sign", True)
        if not isinstance(may_sign, bool):
            raise IdentityError(f"{where}: 'may_sign' must be true or false. Got {may_sign!r}.")
        password_hash = _text(entry["password_hash"], f"{where}: 'password_hash'")
        try:
            _parse(password_hash)
        except IdentityError as exc:
            raise IdentityError(f"{where}: 'password_hash': {exc}") from None
        local[username] = LocalUser(
            username=username,
            name=_text(entry["name"], f"{where}: 'name'"),
            role=_text(entry["role"], f"{where}: 'role'"),
            may_sign=may_sign,
            password_hash=password_hash,
        )
    oidc = mapping.get("oidc", {})
    if not isinstance(oidc, Mapping) or set(oidc) - {"reviewers"}:
        raise IdentityError(
            f"In {source}, 'oidc' must be a table with only 'reviewers' (e-mail = role). "
            f"Got keys {sorted(oidc) if isinstance(oidc, Mapping) else oidc!r}."
        )
    listed = oidc.get("reviewers", {})
    if not isinstance(listed, Mapping):
        raise IdentityError(f"In {source}, 'oidc.reviewers' must be a table of e-mail = role.")
    reviewers: dict[str, str] = {}
    for address, role in listed.items():
        where = f"In {source}, OIDC reviewer {address!r}"
        if not isinstance(address, str) or "@" not in address:
            raise IdentityError(f"{where}: expected an e-mail address as the key.")
        if address.lower() in reviewers:
            raise IdentityError(f"{where} is listed twice (addresses are compared without case).")
        reviewers[address.lower()] = _text(role, f"{where}: the role")
    return Users(MappingProxyType(local), MappingProxyType(reviewers))


def default_users_path() -> Path:
    """The users file: ``$FAIRTRAIL_USERS`` if set, else ``~/.config/fairtrail/users.toml``.

    Examples
    --------
    >>> import os
    >>> default_users_path().name == "users.toml" or "FAIRTRAIL_USERS" in os.environ
    True
    """
    configured = os.environ.get("FAIRTRAIL_USERS")
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".config" / "fairtrail" / "users.toml"


def load_users(path: str | Path) -> Users:
    """The user directory in a TOML users file.

    Parameters
    ----------
    path : str or Path
        The users file (see :func:`default_users_path`).

    Returns
    -------
    Users
        The directory.

    Raises
    ------
    IdentityError
        If the file does not exist, is not TOML, or an entry is invalid (naming the file, the
        user and the key).
    OSError
        If the file exists but cannot be read.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "users.toml"
    >>> add_user(path, "ada", "s3cret", name="Ada Lovelace", role="chair")
    >>> load_users(path).local["ada"]
    LocalUser(username='ada', name='Ada Lovelace', role='chair', may_sign=True)
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise IdentityError(
            f"No users file at '{path}': add a user with `fairtrail users add`."
        ) from None
    try:
        parsed = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise IdentityError(f"The users file '{path}' is not valid TOML: {exc}.") from None
    return users_from_mapping(parsed, source=f"'{path}'")


_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f",
            "\r": "\\r"}  # fmt: skip


def _toml_string(text: str) -> str:
    """A TOML basic string: quotes, backslashes and control characters escaped."""
    out = []
    for char in text:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif char < " " or char == "\x7f":
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _to_toml(users: Users) -> str:
    """The users file for ``users``; keys are always quoted ('a.b' is one key, not two)."""
    lines = [_HEADER]
    for username in sorted(users.local):
        user = users.local[username]
        lines += [
            f"[users.{_toml_string(username)}]",
            f"name = {_toml_string(user.name)}",
            f"role = {_toml_string(user.role)}",
            f"may_sign = {'true' if user.may_sign else 'false'}",
            f"password_hash = {_toml_string(user.password_hash)}",
            "",
        ]
    if users.oidc_reviewers:
        lines.append("[oidc.reviewers]")
        lines += [f"{_toml_string(a)} = {_toml_string(r)}" for a, r in users.oidc_reviewers.items()]
    return "\n".join(lines).rstrip("\n") + "\n"


def add_user(
    path: str | Path,
    username: str,
    password: str,
    *,
    name: str,
    role: str,
    may_sign: bool = True,
) -> None:
    """Add a local user to a users file, or replace that user; other entries are kept.

    The file (and its folder, mode 0700) is created if missing. It is rewritten atomically
    with mode 0600: an interrupted write leaves the old file as it was. Comments are not kept.

    Parameters
    ----------
    path : str or Path
        The users file.
    username : str
        Letters, digits, ``_``, ``.`` and ``-``.
    password : str
        Not empty; only its scrypt hash is stored.
    name : str
        Display name; any text.
    role : str
        What the user signs as; any text.
    may_sign : bool, default=True
        False for a user who may sign in but only view.

    Raises
    ------
    IdentityError
        If an argument is invalid or the existing file is (nothing is written).
    OSError
        If the file cannot be read or written.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "users.toml"
    >>> add_user(path, "ada", "s3cret", name='Ada "the first" Lovelace', role="chair")
    >>> add_user(path, "bob", "hunter2", name="Bob", role="observer", may_sign=False)
    >>> sorted(load_users(path).local), oct(path.stat().st_mode & 0o777)
    (['ada', 'bob'], '0o600')
    >>> add_user(path, "ada lovelace", "s3cret", name="Ada", role="chair")
    Traceback (most recent call last):
    ...
    fairtrail.identity.IdentityError: The 'username' parameter must be letters, digits, ...
    """
    # audit._files is imported here: importing the audit package takes ~0.6 s, and only
    # writing needs it (`fairtrail users list` and the app's sign-in do not).
    from audit import write_atomically

    path = Path(path)
    _username(username, "The 'username' parameter")
    if not isinstance(may_sign, bool):
        raise IdentityError(f"The 'may_sign' parameter must be True or False. Got {may_sign!r}.")
    user = LocalUser(
        username=username,
        name=_text(name, "The 'name' parameter"),
        role=_text(role, "The 'role' parameter"),
        may_sign=may_sign,
        password_hash=hash_password(password),
    )
    users = load_users(path) if path.exists() else Users()
    updated = Users(MappingProxyType({**users.local, username: user}), users.oidc_reviewers)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    # write_atomically writes through tempfile.mkstemp, which creates the file with mode 0600,
    # and renames it into place: the file is never readable by others, not even briefly.
    write_atomically(path, _to_toml(updated).encode("utf-8"))
