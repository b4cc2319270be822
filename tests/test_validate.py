"""The argument rules (`aiospaces.validation`), pure: each rule as a table of values it accepts and refuses,
the repo-id rule cross-checked against huggingface_hub's own `validate_repo_id`. No transport here; that
nothing is sent for a bad argument is proven through the public API in test_bad_inputs.py."""

from __future__ import annotations

import enum
import math

import httpx2
import pytest
from huggingface_hub import constants as hf_constants
from huggingface_hub.utils import HFValidationError
from huggingface_hub.utils import validate_repo_id as hf_validate_repo_id

from aiospaces import validation
from aiospaces.models import SpaceHardware

# --- repo ids ----------------------------------------------------------------------------------------

REPO_IDS = [
    "alice/demo",
    "Org-1/my_space.v2",
    "a/b",
    "_x_/_y_",
    "alice/demo_",
    "123/456",
    "a" * 96 + "/" + "b" * 96,
    "a" * 97 + "/b",
    "alice/" + "b" * 97,
    "",
    "a/b/c",
    "alice/..",
    "../x",
    "a b/c",
    "alice/my space",
    "-alice/demo",
    "alice/-demo",
    "alice/demo-",
    "alice/.demo",
    "alice/demo.",
    "alice/de--mo",
    "alice/de..mo",
    "alice/demo.git",
    "a//b",
    "/a",
    "a/",
    "alice/demo\n",
    "alice/demo\r",
    "alice/de\0mo",
    "alice/démo",
    "alice/demo?x=1",
    "alice/demo#x",
    "alice/de%2Fmo",
    "alice\\demo",
    "demo",
    "demo\n",
]


@pytest.mark.parametrize("repo_id", REPO_IDS)
def test_repo_id_rule_is_huggingface_hubs(repo_id: str) -> None:
    """A repo id is accepted (with a bare name allowed) exactly when huggingface_hub 2.4 accepts it."""
    try:
        hf_validate_repo_id(repo_id)
        hf_ok = True
    except HFValidationError:
        hf_ok = False
    if hf_ok:
        assert validation.validate_repo_id(repo_id, allow_bare_name=True) == repo_id
    else:
        with pytest.raises(ValueError, match="repo_id"):
            validation.validate_repo_id(repo_id, allow_bare_name=True)


@pytest.mark.parametrize("repo_id", ["demo", "x"])
def test_space_operations_need_a_namespace(repo_id: str) -> None:
    """Without `allow_bare_name` a bare name is refused, naming the argument given."""
    with pytest.raises(ValueError, match="from_id must be 'namespace/name'"):
        validation.validate_repo_id(repo_id, arg="from_id")


@pytest.mark.parametrize("value", [42, None, b"alice/demo", ["alice/demo"]])
def test_repo_id_of_wrong_type_raises_type_error(value: object) -> None:
    """A non-string repo id raises TypeError naming the argument."""
    with pytest.raises(TypeError, match="repo_id must be a str"):
        validation.validate_repo_id(value)


def test_a_huge_repo_id_is_cut_short_in_the_message() -> None:
    """The message shows a bounded prefix of an oversized value, not all of it."""
    with pytest.raises(ValueError, match="repo_id") as caught:
        validation.validate_repo_id("a/" + "b" * 10_000)
    assert len(str(caught.value)) < 500


# --- repo types ---------------------------------------------------------------------------------------


def test_repo_types_are_huggingface_hubs() -> None:
    """The repo types are huggingface_hub's with kernels, and those without where it refuses kernels."""
    assert set(validation.REPO_TYPES) == {t for t in hf_constants.REPO_TYPES_WITH_KERNEL if t}
    assert set(validation.REPO_TYPES_WITHOUT_KERNEL) == {t for t in hf_constants.REPO_TYPES if t}


class RepoKind(enum.StrEnum):
    """A str enum, as a caller may pass."""

    SPACE = "space"


@pytest.mark.parametrize(
    ("value", "allow_kernel", "expected"),
    [
        (None, True, None),
        ("space", True, "space"),
        (RepoKind.SPACE, True, "space"),
        ("kernel", True, "kernel"),
    ],
)
def test_repo_type_accepts(value: object, allow_kernel: bool, expected: str | None) -> None:
    """None, the known types and str-enum members pass; `resolve_repo_type` turns None into a model."""
    assert validation.validate_repo_type(value, allow_kernel=allow_kernel) == expected
    assert validation.resolve_repo_type(value) == (expected or "model")


@pytest.mark.parametrize(
    ("value", "allow_kernel", "error"),
    [
        ("spaces", True, ValueError),
        ("Space", True, ValueError),
        ("space\n", True, ValueError),
        ("", True, ValueError),
        ("kernel", False, ValueError),
        (3, True, TypeError),
    ],
)
def test_repo_type_refuses(value: object, allow_kernel: bool, error: type[Exception]) -> None:
    """Unknown, padded, empty or non-string types raise, naming repo_type; kernels only where allowed."""
    with pytest.raises(error, match="repo_type"):
        validation.validate_repo_type(value, allow_kernel=allow_kernel)


# --- revisions and paths ------------------------------------------------------------------------------


@pytest.mark.parametrize("revision", ["main", "refs/pr/1", "v1.0", "a" * 40, "feature/x-y_z"])
def test_good_revisions_pass(revision: str) -> None:
    """Branches, tags, PR refs and commit shas are returned unchanged; None means main."""
    assert validation.validate_revision(revision) == revision
    assert validation.validate_revision(None) == "main"
    assert validation.validate_optional_revision(None) is None


@pytest.mark.parametrize(
    "revision",
    [
        "",
        " main",
        "main\n",
        "ma\0in",
        "a/../b",
        "..",
        "/main",
        "main/",
        "a//b",
        "a b",
        "a~1",
        "a^",
        "a:b",
        "a..b",
        "a?",
        "a*",
        "a[",
        "a\\b",
        "a@{1}",
        "main.lock",
        "main.",
        ".hidden",
    ],
)
def test_bad_revisions_raise(revision: str) -> None:
    """Revisions git would refuse (and those that could escape the cache's refs folder) raise ValueError."""
    with pytest.raises(ValueError, match="revision"):
        validation.validate_revision(revision)


@pytest.mark.parametrize(
    ("path", "expected"),
    [("README.md", "README.md"), ("./x", "x"), ("a/b/c.txt", "a/b/c.txt"), ("a b", "a b")],
)
def test_good_paths_in_repo(path: str, expected: str) -> None:
    """Relative `/`-separated paths pass; a leading `./` is dropped as huggingface_hub drops it."""
    assert validation.validate_path_in_repo(path) == expected


@pytest.mark.parametrize(
    "path",
    [
        "",
        ".",
        "..",
        "a/../b",
        "../a",
        "/etc/passwd",
        "/a",
        "a\\b",
        "C:\\x",
        "a\0b",
        "a\nb",
        "a//b",
        "a/",
        "a/./b",
        ".git/config",
        "x/.git/y",
        ".cache/x",
    ],
)
def test_bad_paths_in_repo(path: str) -> None:
    """Empty, `.`/`..` parts, absolute, backslash, control characters and .git/.cache paths raise."""
    with pytest.raises(ValueError, match="path_in_repo"):
        validation.validate_path_in_repo(path)


def test_a_folder_path_may_end_with_a_slash() -> None:
    """A folder to delete may end with `/`; a file path may not."""
    assert validation.validate_path_in_repo("logs/", folder=True) == "logs/"
    with pytest.raises(ValueError, match="path_in_repo"):
        validation.validate_path_in_repo("logs//", folder=True)


def test_filenames_to_read_may_be_under_dot_folders() -> None:
    """Reading `.cache/x` is allowed (only writing there is refused), `..` is not."""
    assert validation.validate_filename(".cache/x") == ".cache/x"
    with pytest.raises(ValueError, match="filename"):
        validation.validate_filename("a/../b")


@pytest.mark.parametrize(
    ("value", "error"),
    [("abcde", None), ("main", ValueError), ("abc", ValueError), ("a" * 41, ValueError), (12345, TypeError)],
)
def test_parent_commit(value: object, error: type[Exception] | None) -> None:
    """A parent commit is a 5 to 40 hex digit sha."""
    if error is None:
        assert validation.validate_parent_commit(value) == value
    else:
        with pytest.raises(error, match="parent_commit"):
            validation.validate_parent_commit(value)


# --- keys, hardware, sleep time -----------------------------------------------------------------------


@pytest.mark.parametrize("key", ["HF_TOKEN", "_X", "a1", "foo", "MODEL_REPO_ID"])
def test_environment_variable_names_are_keys(key: str) -> None:
    """Letters, digits and `_`, not starting with a digit: returned unchanged."""
    assert validation.validate_key(key) == key


@pytest.mark.parametrize(
    ("key", "error"),
    [
        ("KEY=1", ValueError),
        ("MY-KEY", ValueError),
        ("1KEY", ValueError),
        ("A\0B", ValueError),
        ("", ValueError),
        ("A B", ValueError),
        ("KEY\n", ValueError),
        ("KÉY", ValueError),
        (5, TypeError),
    ],
)
def test_other_keys_raise(key: object, error: type[Exception]) -> None:
    """Anything that is not an environment-variable name raises, naming `key`."""
    with pytest.raises(error, match="key"):
        validation.validate_key(key)


class ForeignHardware(enum.StrEnum):
    """Stands in for huggingface_hub's `SpaceHardware` (a `str` enum from another package)."""

    T4 = "t4-small"


def test_hardware_accepts_strings_our_enums_and_foreign_str_enums() -> None:
    """Plain strings, our enum members and another library's str-enum members all become the plain value."""
    from huggingface_hub import SpaceHardware as HfHardware

    assert validation.validate_hardware("t4-small") == "t4-small"
    assert validation.validate_hardware(SpaceHardware.T4_SMALL) == "t4-small"
    assert validation.validate_hardware(ForeignHardware.T4) == "t4-small"
    assert validation.validate_hardware(HfHardware.A10G_LARGE) == "a10g-large"


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("", ValueError),
        (" x", ValueError),
        ("t4 small", ValueError),
        ("t4/small", ValueError),
        ("t4-small\n", ValueError),
        ("x" * 65, ValueError),
        (3, TypeError),
        (None, TypeError),
    ],
)
def test_hardware_refuses(value: object, error: type[Exception]) -> None:
    """Empty, padded, spaced, slashed, multi-line, oversized or non-string flavors raise, naming hardware."""
    with pytest.raises(error, match="hardware"):
        validation.validate_hardware(value)


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (-1, None),
        (0, None),
        (3600, None),
        (-2, ValueError),
        (True, TypeError),
        (1.5, TypeError),
        (math.nan, TypeError),
        (math.inf, TypeError),
        ("abc", ValueError),
        ("1.5", ValueError),
        ("-2", ValueError),
        (" 60", ValueError),
        ("", ValueError),
        ("nan", ValueError),
        ("\u0663", ValueError),
    ],
)
def test_sleep_time(value: object, error: type[Exception] | None) -> None:
    """-1 and ints >= 0 pass; below -1 and non-digit strings raise ValueError; bools and floats TypeError."""
    if error is None:
        assert validation.validate_sleep_time(value) == value
    else:
        with pytest.raises(error, match="sleep_time"):
            validation.validate_sleep_time(value)


@pytest.mark.parametrize(("text", "seconds"), [("7200", 7200), ("3600", 3600), ("0", 0), ("-1", -1)])
def test_sleep_time_numeric_string(text: str, seconds: int) -> None:
    """A string of digits (the guide's `space_sleep_time="7200"`) is read as that many seconds, an int."""
    result = validation.validate_sleep_time(text, arg="space_sleep_time")
    assert result == seconds
    assert type(result) is int


# --- numbers ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (1, None),
        (512, None),
        (0, ValueError),
        (-3, ValueError),
        (2.0, TypeError),
        (True, TypeError),
        (None, TypeError),
        (math.nan, TypeError),
    ],
)
def test_concurrency(value: object, error: type[Exception] | None) -> None:
    """Positive ints pass; zero, negatives, floats, bools and None raise, naming the argument."""
    if error is None:
        assert validation.validate_concurrency(value) == value
    else:
        with pytest.raises(error, match="concurrency"):
            validation.validate_concurrency(value)


@pytest.mark.parametrize(
    ("value", "allow_zero", "error"),
    [
        (None, False, None),
        (1, False, None),
        (0.5, False, None),
        (0, True, None),
        (0, False, ValueError),
        (-1, True, ValueError),
        (math.nan, True, ValueError),
        (math.inf, True, ValueError),
        (-math.inf, True, ValueError),
        ("5", True, TypeError),
        (True, True, TypeError),
    ],
)
def test_timeout(value: object, allow_zero: bool, error: type[Exception] | None) -> None:
    """None or a finite number of seconds (> 0, or >= 0 where zero is allowed); NaN and infinities raise."""
    if error is None:
        assert validation.validate_timeout(value, allow_zero=allow_zero) == value
    else:
        with pytest.raises(error, match="timeout"):
            validation.validate_timeout(value, allow_zero=allow_zero)


def test_client_timeout_parts_are_checked() -> None:
    """An `httpx2.Timeout` whose read part is NaN raises naming `timeout.read`."""
    validation.validate_client_options(
        timeout=httpx2.Timeout(5.0), transport=None, headers=None, user_agent=None
    )
    with pytest.raises(ValueError, match=r"timeout\.read"):
        validation.validate_client_options(
            timeout=httpx2.Timeout(5.0, read=math.nan), transport=None, headers=None, user_agent=None
        )


# --- endpoints ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://huggingface.co/", "https://huggingface.co"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("https://hub.local/prefix", "https://hub.local/prefix"),
        ("https://hub.local/a@b", "https://hub.local/a@b"),
    ],
)
def test_good_endpoints(value: str, expected: str) -> None:
    """http(s) URLs with a host pass, without their trailing slash."""
    assert validation.validate_endpoint(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "https://user:pw@hub.local",
        "https://user@hub.local",
        "https://:pw@hub.local",
        "http://u:p@127.0.0.1:1",
    ],
)
def test_credentials_in_the_endpoint_are_refused_without_echoing_them(value: str) -> None:
    """A URL with `user:password@` raises a ValueError that says why and never shows the credentials."""
    with pytest.raises(ValueError, match="endpoint must not contain credentials") as caught:
        validation.validate_endpoint(value)
    assert "pw" not in str(caught.value)
    assert "user" not in str(caught.value).replace("'user:password@host'", "")


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("ftp://hub.local", ValueError),
        ("hub.local", ValueError),
        ("https://", ValueError),
        ("https://hub.local?x=1", ValueError),
        ("https://hub.local#x", ValueError),
        ("https://hub.local\n", ValueError),
        ("https://hub .local", ValueError),
        ("https://hub.local:99999", ValueError),
        ("", ValueError),
        (b"https://hub.local", TypeError),
    ],
)
def test_bad_endpoints(value: object, error: type[Exception]) -> None:
    """Other schemes, no host, a query, a fragment, whitespace or a bad port raise, naming `endpoint`."""
    with pytest.raises(error, match="endpoint"):
        validation.validate_endpoint(value)


def test_token_text_never_shown() -> None:
    """A token that cannot go into a header raises without showing it, naming where it came from."""
    with pytest.raises(ValueError, match="HF_TOKEN") as caught:
        validation.validate_token_text("hf_abc\0def", source="env")
    assert "hf_abc" not in str(caught.value)
