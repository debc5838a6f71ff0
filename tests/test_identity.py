"""Reviewer identity: password hashes, the users file, sign-in, OIDC claims, `fairtrail users`."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import stat
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import fairtrail.identity as identity
from fairtrail._cli_users import users as users_cli
from fairtrail.identity import (
    IdentityError,
    LocalUser,
    Reviewer,
    Users,
    add_user,
    authenticate,
    check_password,
    default_users_path,
    hash_password,
    load_users,
    reviewer_from_claims,
    users_from_mapping,
)

SALT = b"0123456789abcdef"
#: One scrypt, shared: most tests need a valid hash, not a fresh one.
HASH = hash_password("s3cret", salt=SALT)
B64_SALT = base64.b64encode(bytes(16)).decode()
B64_KEY = base64.b64encode(bytes(32)).decode()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def directory(**entries: dict[str, Any]) -> Users:
    return users_from_mapping({"users": entries})


ADA = {"name": "Ada Lovelace", "role": "chair", "password_hash": HASH}


# --- hashing -------------------------------------------------------------------------------


def test_hash_round_trip_and_wrong_password() -> None:
    assert check_password("s3cret", HASH)
    assert not check_password("s3cret ", HASH)
    assert not check_password("S3cret", HASH)
    assert not check_password("", HASH)  # never right, never raises


def test_two_hashes_of_one_password_differ_by_their_salt() -> None:
    first, second = hash_password("pw"), hash_password("pw")
    assert first != second
    assert first.split("$")[4] != second.split("$")[4]
    assert len(base64.b64decode(first.split("$")[4])) == 16
    assert check_password("pw", first)
    assert check_password("pw", second)


def test_the_primitive_is_rfc_7914_scrypt() -> None:
    # RFC 7914 §12, third test vector (N=16384, r=8, p=1, dkLen=64).
    expected = (
        "7023bdcb3afd7348461c06cd81fd38ebfda8fbba904f8e3ea9b543f6545da1f2"
        "d5432955613f0fcf62d49705242a9af9e61e85dc0d651e40dfcf017b45575887"
    )
    key = hashlib.scrypt(b"pleaseletmein", salt=b"SodiumChloride", n=16384, r=8, p=1, dklen=64)
    assert key.hex() == expected


def test_hand_derived_oracle_for_a_known_password_and_salt() -> None:
    # The documented parameters, applied by hand: n=2**14, r=8, p=1, 32-byte key, UTF-8.
    key = hashlib.scrypt(b"s3cret", salt=SALT, n=16384, r=8, p=1, dklen=32)
    assert f"scrypt$16384$8$1${b64(SALT)}${b64(key)}" == HASH
    assert b64(SALT) == "MDEyMzQ1Njc4OWFiY2RlZg=="
    # A hash written by hand (not by hash_password) with those parameters is accepted.
    key = hashlib.scrypt("pässwörd".encode(), salt=bytes(16), n=16384, r=8, p=1, dklen=32)
    assert check_password("pässwörd", f"scrypt$16384$8$1${B64_SALT}${b64(key)}")


def test_passwords_are_compared_after_nfc_normalization() -> None:
    composed, decomposed = "caf\u00e9", "cafe\u0301"
    assert check_password(decomposed, hash_password(composed, salt=SALT))


@pytest.mark.parametrize(
    ("password", "salt", "message"),
    [
        ("", None, "The 'password' parameter must not be empty."),
        (b"pw", None, "The 'password' parameter must be a string. Got bytes."),
        ("pw", b"short", "The 'salt' parameter must be at least 16 bytes. Got 5 bytes."),
    ],
)
def test_hash_password_refusals(password: Any, salt: Any, message: str) -> None:
    with pytest.raises(IdentityError, match=message.replace(".", r"\.")) as info:
        hash_password(password, salt=salt)
    assert "pw" not in str(info.value).replace("password", "")  # the password is not echoed
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("encoded", "message"),
    [
        ("", r"Got 1 '\$'-separated fields, the first ''"),
        ("bcrypt$2b$12$abcdefghijklmnopqrstuv", r"Got 4 '\$'-separated fields, the first 'bcrypt'"),
        (f"argon2$16384$8$1${B64_SALT}${B64_KEY}", "the first 'argon2'"),
        (f"scrypt$16384$8$1${B64_SALT}${B64_KEY}$x", r"Got 7 '\$'-separated fields"),
        (f"scrypt$16383$8$1${B64_SALT}${B64_KEY}", "n a power of 2 greater than 1.*n='16383'"),
        (f"scrypt$1$8$1${B64_SALT}${B64_KEY}", "n a power of 2 greater than 1.*n='1'"),
        (f"scrypt$2**14$8$1${B64_SALT}${B64_KEY}", r"n='2\*\*14'"),
        (f"scrypt$16384$0$1${B64_SALT}${B64_KEY}", "r and p positive integers.*r='0'"),
        (f"scrypt$16384$8$-1${B64_SALT}${B64_KEY}", "p='-1'"),
        (f"scrypt$1048576$8$1${B64_SALT}${B64_KEY}", "at most 256 MiB.*n=1048576, r=8"),
        (f"scrypt$16384$8$1$!!!!${B64_KEY}", "a salt of at least 16 bytes in base64"),
        (f"scrypt$16384$8$1${b64(bytes(8))}${B64_KEY}", "salt of at least 16 bytes.*8 bytes"),
        (f"scrypt$16384$8$1${B64_SALT}$AAAA", "a key of at least 16 bytes.*3 bytes"),
        (f"scrypt$16384$8$1${B64_SALT}$", "a key of at least 16 bytes.*0 bytes"),
    ],
)
def test_malformed_hashes_are_refused(encoded: str, message: str) -> None:
    with pytest.raises(IdentityError, match=r"A password hash must|A password hash's") as info:
        check_password("pw", encoded)
    assert "'scrypt$<n>$<r>$<p>$<salt>$<key>'" in str(info.value) or "MiB" in str(info.value)
    with pytest.raises(IdentityError, match=message):
        check_password("pw", encoded)


def test_hmac_compare_digest_decides(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    original = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return original(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    assert check_password("s3cret", HASH)
    assert not check_password("wrong", HASH)
    assert len(calls) == 2
    assert all(isinstance(a, bytes) and len(a) == len(b) == 32 for a, b in calls)
    # It, and nothing else, decides: a comparison that always agrees lets any password in.
    monkeypatch.setattr(hmac, "compare_digest", lambda a, b: True)
    assert check_password("wrong", HASH)


# --- authenticate --------------------------------------------------------------------------


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The hashes check_password was called with, in order."""
    seen: list[str] = []
    original = identity.check_password

    def counting(password: str, encoded: str) -> bool:
        seen.append(encoded)
        return original(password, encoded)

    monkeypatch.setattr(identity, "check_password", counting)
    return seen


def test_authenticate_a_known_user() -> None:
    users = directory(ada=ADA, bob={**ADA, "name": "Bob", "may_sign": False})
    assert authenticate(users, "ada", "s3cret") == Reviewer(
        username="ada", name="Ada Lovelace", role="chair", may_sign=True, source="local"
    )
    bob = authenticate(users, "bob", "s3cret")
    assert bob is not None
    assert not bob.may_sign


def test_wrong_password_is_none_and_costs_one_scrypt(counted: list[str]) -> None:
    users = directory(ada=ADA)
    assert authenticate(users, "ada", "wrong") is None
    assert authenticate(users, "ada", "") is None
    assert counted == [HASH, HASH]


def test_unknown_user_is_none_and_still_costs_one_scrypt(counted: list[str]) -> None:
    users = directory(ada=ADA)
    assert authenticate(users, "eve", "s3cret") is None
    assert authenticate(users, "Ada", "s3cret") is None  # usernames are compared exactly
    assert len(counted) == 2
    assert counted[0] == counted[1] != HASH
    # The dummy hash has the same cost parameters and key length as a real one.
    assert counted[0].split("$")[:4] == HASH.split("$")[:4]
    assert len(counted[0]) == len(HASH)
    assert authenticate(Users(), "anyone", "pw") is None


# --- the users directory -------------------------------------------------------------------


def test_load_users_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "users.toml"
    path.write_text(
        f"""
        [users.ada]
        name = "Ada Lovelace"
        role = "chair"
        password_hash = "{HASH}"

        [users."grace.h"]
        name = "Grace"
        role = "data protection officer"
        password_hash = "{HASH}"
        may_sign = false

        [oidc.reviewers]
        "Linus@Example.org" = "observer"
        """,
        encoding="utf-8",
    )
    users = load_users(path)
    assert sorted(users.local) == ["ada", "grace.h"]
    assert users.local["ada"] == LocalUser("ada", "Ada Lovelace", "chair", True, HASH)
    assert not users.local["grace.h"].may_sign
    assert dict(users.oidc_reviewers) == {"linus@example.org": "observer"}
    assert HASH not in repr(users)


class Secrets(Mapping[str, Any]):
    """Stands in for ``st.secrets``: a read-only Mapping that is not a dict."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self._data = {k: Secrets(v) if isinstance(v, Mapping) else v for k, v in data.items()}

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


def test_users_from_a_secrets_like_mapping() -> None:
    secrets = Secrets(
        {
            "auth": {"redirect_uri": "http://localhost:8501/oauth2callback"},  # ignored
            "users": {"ada": ADA},
            "oidc": {"reviewers": {"ada@example.org": "chair"}},
        }
    )
    users = users_from_mapping(secrets, source="secrets.toml")
    assert authenticate(users, "ada", "s3cret") is not None
    assert dict(users.oidc_reviewers) == {"ada@example.org": "chair"}
    assert isinstance(users.local, MappingProxyType)
    assert users_from_mapping({}) == Users()


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"users": {"ada": {"role": "chair", "password_hash": HASH}}},
         "In secrets.toml, user 'ada' has no 'name': expected a non-empty string."),
        ({"users": {"ada": {"name": "Ada", "password_hash": HASH}}},
         "In secrets.toml, user 'ada' has no 'role'"),
        ({"users": {"ada": {"name": "Ada", "role": "chair"}}},
         "In secrets.toml, user 'ada' has no 'password_hash'"),
        ({"users": {"ada": {**ADA, "name": " "}}},
         "In secrets.toml, user 'ada': 'name' must be a non-empty string. Got ' '."),
        ({"users": {"ada": {**ADA, "role": 3}}},
         "In secrets.toml, user 'ada': 'role' must be a non-empty string. Got 3."),
        ({"users": {"ada": {**ADA, "may_sing": False}}},
         "In secrets.toml, user 'ada' has unknown key 'may_sing'. Known keys: "
         "['may_sign', 'name', 'password_hash', 'role']."),
        ({"users": {"ada": {**ADA, "may_sign": "no"}}},
         "In secrets.toml, user 'ada': 'may_sign' must be true or false. Got 'no'."),
        ({"users": {"ada": {**ADA, "password_hash": "hunter2"}}},
         "In secrets.toml, user 'ada': 'password_hash': A password hash must be"),
        ({"users": {"ada lovelace": ADA}},
         "In secrets.toml, the username 'ada lovelace' must be letters, digits"),
        ({"users": {"ada": "Ada"}}, "In secrets.toml, user 'ada' must be a table of"),
        ({"users": ["ada"]}, "In secrets.toml, 'users' must be a table of users."),
        ({"oidc": {"reviewer": {}}},
         "In secrets.toml, 'oidc' must be a table with only 'reviewers'.*Got keys ['reviewer']"),
        ({"oidc": {"reviewers": {"ada": "chair"}}},
         "In secrets.toml, OIDC reviewer 'ada': expected an e-mail address as the key."),
        ({"oidc": {"reviewers": {"ada@example.org": ""}}},
         "In secrets.toml, OIDC reviewer 'ada@example.org': the role must be a non-empty"),
        ({"oidc": {"reviewers": {"a@x.org": "chair", "A@x.org": "chair"}}},
         "OIDC reviewer 'A@x.org' is listed twice"),
    ],
)  # fmt: skip
def test_invalid_entries_are_named(mapping: dict[str, Any], message: str) -> None:
    with pytest.raises(IdentityError, match=_literal(message)):
        users_from_mapping(mapping, source="secrets.toml")


def _literal(message: str) -> str:
    """A regex matching ``message`` literally, except that ``.*`` stays a wildcard."""
    import re

    return ".*".join(re.escape(part) for part in message.split(".*"))


def test_load_users_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "users.toml"
    with pytest.raises(IdentityError, match=f"No users file at '{_literal(str(path))}'"):
        load_users(path)
    path.write_text('[users.ada]\nname = "Ada"\n', encoding="utf-8")
    with pytest.raises(IdentityError, match=f"In '{_literal(str(path))}', user 'ada' has no"):
        load_users(path)
    path.write_text("[users.ada\n", encoding="utf-8")
    with pytest.raises(IdentityError, match=f"The users file '{_literal(str(path))}' is not"):
        load_users(path)
    path.write_bytes(b"\xff\xfe")
    with pytest.raises(IdentityError, match="is not valid TOML"):
        load_users(path)


def test_default_users_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FAIRTRAIL_USERS", str(tmp_path / "u.toml"))
    assert default_users_path() == tmp_path / "u.toml"
    monkeypatch.delenv("FAIRTRAIL_USERS")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_users_path() == tmp_path / ".config" / "fairtrail" / "users.toml"
    monkeypatch.setenv("FAIRTRAIL_USERS", "")  # empty means unset
    assert default_users_path() == tmp_path / ".config" / "fairtrail" / "users.toml"


# --- add_user ------------------------------------------------------------------------------


def test_add_user_round_trip_mode_and_update(tmp_path: Path) -> None:
    path = tmp_path / "new" / "users.toml"  # the folder is created too
    add_user(path, "ada", "s3cret", name="Ada", role="chair")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) & 0o077 == 0
    add_user(path, "bob", "hunter2", name="Bob", role="observer", may_sign=False)
    with path.open("ab") as handle:  # an OIDC list added by hand survives rewrites
        handle.write(b'\n[oidc.reviewers]\n"grace@example.org" = "dpo"\n')
    add_user(path, "ada", "n3w", name="Ada Lovelace", role="vice chair")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    users = load_users(path)
    assert sorted(users.local) == ["ada", "bob"]
    assert authenticate(users, "ada", "s3cret") is None
    assert authenticate(users, "ada", "n3w") == Reviewer(
        "ada", "Ada Lovelace", "vice chair", True, "local"
    )
    assert authenticate(users, "bob", "hunter2") == Reviewer(
        "bob", "Bob", "observer", False, "local"
    )
    assert dict(users.oidc_reviewers) == {"grace@example.org": "dpo"}
    text = path.read_text(encoding="utf-8")
    assert "s3cret" not in text
    assert "n3w" not in text
    assert sorted(p.name for p in path.parent.iterdir()) == ["users.toml"]


def test_add_user_replaces_a_more_open_file_with_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / "users.toml"
    path.write_text("", encoding="utf-8")
    path.chmod(0o644)
    add_user(path, "ada", "s3cret", name="Ada", role="chair")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_add_user_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "users.toml"
    add_user(path, "ada", "s3cret", name="Ada", role="chair")
    before = path.read_bytes()

    def interrupted(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(OSError, match="No space left"):
        add_user(path, "bob", "hunter2", name="Bob", role="observer")
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["users.toml"]  # no temporary file left


@pytest.mark.parametrize(
    ("call", "message"),
    [
        ({"username": "ada lovelace"}, "The 'username' parameter must be letters, digits, '_', "
         "'.' or '-' (at least one). Got 'ada lovelace'."),
        ({"username": ""}, "The 'username' parameter must be letters"),
        ({"username": "ada\n"}, "Got 'ada\\n'."),
        ({"username": "adä"}, "Got 'adä'."),
        ({"username": 'ada"]\n[users.eve'}, "The 'username' parameter must be letters"),
        ({"password": ""}, "The 'password' parameter must not be empty."),
        ({"name": ""}, "The 'name' parameter must be a non-empty string. Got ''."),
        ({"role": "\n"}, "The 'role' parameter must be a non-empty string. Got '\\n'."),
        ({"name": "Ada \udc80"}, "The 'name' parameter must be valid Unicode text"),
        ({"may_sign": "false"}, "The 'may_sign' parameter must be True or False. Got 'false'."),
    ],
)  # fmt: skip
def test_add_user_refusals_write_nothing(
    tmp_path: Path, call: dict[str, Any], message: str
) -> None:
    path = tmp_path / "users.toml"
    args: dict[str, Any] = {"username": "ada", "password": "pw", "name": "Ada", "role": "chair"}
    args.update(call)
    with pytest.raises(IdentityError, match=_literal(message)):
        add_user(path, args.pop("username"), args.pop("password"), **args)
    assert not path.exists()


def test_add_user_refuses_to_rewrite_an_invalid_file(tmp_path: Path) -> None:
    path = tmp_path / "users.toml"
    path.write_text("[users.ada]\nname = 'Ada'\n", encoding="utf-8")
    with pytest.raises(IdentityError, match="user 'ada' has no 'role'"):
        add_user(path, "bob", "pw", name="Bob", role="chair")
    assert path.read_text(encoding="utf-8") == "[users.ada]\nname = 'Ada'\n"


HOSTILE = [
    'Ada "the Countess" Lovelace',
    "O'Brien",
    "'''",
    '"""',
    "back\\slash \\n \\u0041 \\",
    "line\nbreak\r\nand\ttab",
    "\x00\x01\x1f\x7f\x08\x0c",
    "Łódź 日本語 🎉 \u2028 \ufeff",
    'Eve"\npassword_hash = "x"\nmay_sign = true\n[users.eve]\nname = "Eve',
    "# not a comment",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_names_and_roles_round_trip(tmp_path: Path, text: str) -> None:
    path = tmp_path / "users.toml"
    add_user(path, "ada", "pw", name=text, role=text[::-1], may_sign=False)
    users = load_users(path)
    assert list(users.local) == ["ada"]
    assert users.local["ada"].name == text
    assert users.local["ada"].role == text[::-1]
    assert users.local["ada"].may_sign is False


usernames = st.from_regex(r"[A-Za-z0-9_.-]+", fullmatch=True)
texts = st.text(min_size=1).filter(str.strip)


@settings(max_examples=200, deadline=None)
@given(
    local=st.dictionaries(usernames, st.tuples(texts, texts, st.booleans()), max_size=4),
    reviewers=st.dictionaries(
        st.builds(lambda a, b: f"{a}@{b}".lower(), st.text(), st.text()), texts, max_size=3
    ),
)
def test_the_toml_writer_round_trips_through_tomllib(
    local: dict[str, tuple[str, str, bool]], reviewers: dict[str, str]
) -> None:
    users = Users(
        {
            u: LocalUser(u, name, role, may_sign, HASH)
            for u, (name, role, may_sign) in local.items()
        },
        reviewers,
    )
    text = identity._to_toml(users)
    assert users_from_mapping(tomllib.loads(text)) == users


# --- OIDC ----------------------------------------------------------------------------------

REVIEWERS = {"ada@example.org": "chair", "Grace@Example.org": "data protection officer"}


@pytest.mark.parametrize(
    ("claims", "expected"),
    [
        ({"email": "ada@example.org", "name": "Ada L.", "email_verified": True, "sub": "1"},
         Reviewer("ada@example.org", "Ada L.", "chair", True, "oidc")),
        ({"email": "grace@example.org", "is_logged_in": True},
         Reviewer("grace@example.org", "grace@example.org", "data protection officer", True,
                  "oidc")),
        ({"email": "ADA@example.org", "email_verified": "true"},
         Reviewer("ADA@example.org", "ADA@example.org", "chair", True, "oidc")),
        ({"email": "eve@example.org", "name": "Eve", "email_verified": True},
         Reviewer("eve@example.org", "Eve", "viewer", False, "oidc")),
        ({"email": "ada@example.org", "name": "Ada", "email_verified": False},
         Reviewer("ada@example.org", "Ada", "viewer", False, "oidc")),
        ({"email": "ada@example.org", "email_verified": "false"},
         Reviewer("ada@example.org", "ada@example.org", "viewer", False, "oidc")),
        ({"email": "ada@example.org", "email_verified": None},
         Reviewer("ada@example.org", "ada@example.org", "viewer", False, "oidc")),
        ({"sub": "ada@example.org", "name": "Ada"},  # no e-mail claim: sub names, never signs
         Reviewer("ada@example.org", "Ada", "viewer", False, "oidc")),
    ],
)  # fmt: skip
def test_reviewer_from_claims(claims: dict[str, Any], expected: Reviewer) -> None:
    assert reviewer_from_claims(claims, REVIEWERS) == expected


def test_reviewer_from_claims_refusals() -> None:
    with pytest.raises(IdentityError, match="nobody is signed in"):
        reviewer_from_claims({"is_logged_in": False}, REVIEWERS)
    with pytest.raises(IdentityError, match=r"neither an 'email' nor a 'sub'.*\['name'\]"):
        reviewer_from_claims({"name": "Ada"}, REVIEWERS)


def test_oidc_reviewers_from_the_users_file(tmp_path: Path) -> None:
    path = tmp_path / "users.toml"
    path.write_text('[oidc.reviewers]\n"Ada@Example.org" = "chair"\n', encoding="utf-8")
    users = load_users(path)
    ada = reviewer_from_claims({"email": "ada@example.org"}, users.oidc_reviewers)
    assert ada.may_sign
    assert ada.role == "chair"


# --- fairtrail users -----------------------------------------------------------------------


def one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("fairtrail: error: ")
    assert "Traceback" not in stderr
    return lines[0]


def test_cli_add_from_stdin_and_list(tmp_path: Path) -> None:
    path = tmp_path / "users.toml"
    runner = CliRunner()
    add = ["add", "ada", "--name", "Ada Lovelace", "--role", "chair", "--file", str(path)]
    result = runner.invoke(users_cli, [*add, "--password-stdin"], input="correct horse\nrest\n")
    assert result.exit_code == 0, result.output
    assert f"Added user 'ada' in {path} (may sign)." in result.stdout
    result = runner.invoke(
        users_cli,
        ["add", "bob", "--name", "Bob", "--role", "observer", "--file", str(path), "--viewer-only",
         "--password-stdin"],
        input="hunter 2\r\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "(viewer only)" in result.stdout
    users = load_users(path)
    assert authenticate(users, "ada", "correct horse") is not None
    assert authenticate(users, "bob", "hunter 2") == Reviewer(
        "bob", "Bob", "observer", False, "local"
    )

    result = runner.invoke(users_cli, ["list", "--file", str(path)])
    assert result.exit_code == 0, result.output
    rows = {line.split("│")[1].strip(): line for line in result.stdout.splitlines() if "│" in line}
    assert "Ada Lovelace" in rows["ada"]
    assert "chair" in rows["ada"]
    assert "yes" in rows["ada"]
    assert "no" in rows["bob"]
    assert "scrypt" not in result.output
    assert users.local["ada"].password_hash.split("$")[-1] not in result.output


def test_cli_add_with_the_prompt_and_update(tmp_path: Path) -> None:
    path = tmp_path / "users.toml"
    runner = CliRunner()
    add = ["add", "ada", "--name", "Ada", "--role", "chair", "--file", str(path)]
    result = runner.invoke(users_cli, add, input="s3cret\ns3cret\n")
    assert result.exit_code == 0, result.output
    assert "s3cret" not in result.output  # hidden input is not echoed
    assert "Repeat for confirmation" in result.output
    # A mismatched confirmation asks again.
    result = runner.invoke(users_cli, add, input="one\ntwo\nn3w\nn3w\n")
    assert result.exit_code == 0, result.output
    assert "do not match" in result.output
    assert "Updated user 'ada'" in result.stdout
    users = load_users(path)
    assert authenticate(users, "ada", "n3w") is not None
    assert authenticate(users, "ada", "s3cret") is None


def test_cli_uses_fairtrail_users_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAIRTRAIL_USERS", str(tmp_path / "env.toml"))
    add = ["add", "ada", "--name", "Ada", "--role", "chair", "--password-stdin"]
    result = CliRunner().invoke(users_cli, add, input="pw\n")
    assert result.exit_code == 0, result.output
    assert "ada" in load_users(tmp_path / "env.toml").local
    result = CliRunner().invoke(users_cli, ["list"])
    assert "env.toml" in result.stdout


def test_cli_lists_oidc_reviewers_and_an_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "users.toml"
    path.write_text('[oidc.reviewers]\n"ada@example.org" = "chair"\n', encoding="utf-8")
    result = CliRunner().invoke(users_cli, ["list", "--file", str(path)])
    assert result.exit_code == 0, result.output
    assert "ada@example.org" in result.stdout
    path.write_text("", encoding="utf-8")
    result = CliRunner().invoke(users_cli, ["list", "--file", str(path)])
    assert result.exit_code == 0, result.output
    assert "No users in" in result.stdout


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["add", "ada lovelace", "--name", "Ada", "--role", "chair", "--password-stdin"], "pw\n",
         "The 'username' parameter must be letters, digits"),
        (["add", "ada", "--name", "", "--role", "chair", "--password-stdin"], "pw\n",
         "The 'name' parameter must be a non-empty string"),
        (["add", "ada", "--name", "Ada", "--role", "chair", "--password-stdin"], "",
         "--password-stdin found no password on the first line of standard input."),
        (["add", "ada", "--name", "Ada", "--role", "chair", "--password-stdin"], "\npw\n",
         "--password-stdin found no password"),
        (["list"], "", "No users file at"),
    ],
)  # fmt: skip
def test_cli_errors_are_one_line_and_exit_2(
    tmp_path: Path, args: list[str], stdin: str, message: str
) -> None:
    path = tmp_path / "users.toml"
    result = CliRunner().invoke(users_cli, [*args, "--file", str(path)], input=stdin)
    assert result.exit_code == 2, result.output
    assert message in one_error_line(result.stderr)
    assert not path.exists()


def test_cli_refuses_an_invalid_file_before_asking_for_a_password(tmp_path: Path) -> None:
    path = tmp_path / "users.toml"
    path.write_text("[users.ada\n", encoding="utf-8")
    add = ["add", "bob", "--name", "Bob", "--role", "chair", "--file", str(path)]
    result = CliRunner().invoke(users_cli, add)
    assert result.exit_code == 2
    assert "is not valid TOML" in one_error_line(result.stderr)
    assert "Password" not in result.output
    result = CliRunner().invoke(users_cli, ["list", "--file", str(path)])
    assert result.exit_code == 2
    assert "is not valid TOML" in one_error_line(result.stderr)


def test_cli_reports_an_os_error(tmp_path: Path) -> None:
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("", encoding="utf-8")
    add = ["add", "ada", "--name", "Ada", "--role", "chair", "--file", str(not_a_folder / "u.toml")]
    result = CliRunner().invoke(users_cli, [*add, "--password-stdin"], input="pw\n")
    assert result.exit_code == 2
    assert one_error_line(result.stderr) == f"fairtrail: error: File exists: {not_a_folder}"
