"""errors.py: how an untrusted value is shown in a message (tests/test_robustness.py sends
such values through whole commands)."""

import pytest

from dcos_node_ssh.errors import printable, shown


@pytest.mark.parametrize("value, text", [
    ("S1 a-1", "S1 a-1"),  # letters, digits and spaces as they are
    ("Ā 𐀀 é ж", "Ā 𐀀 é ж"),  # letters of any script, beyond Latin-1 and the first plane too
    ("a\\x1b", "a\\\\x1b"),  # the backslash doubled: an escaped value cannot pass for another
    ("a\nb\r\tc", "a\\nb\\r\\tc"),
    ("\x1b]0;owned\x07", "\\x1b]0;owned\\x07"),
    ("\x85\xad", "\\x85\\xad"),  # C1 control, soft hyphen: two hex digits below 0x100
    ("\u202eevil", "\\u202eevil"),  # right-to-left override: four below 0x10000
    ("\U000e0001tag", "\\U000e0001tag"),  # language tag: eight above
    (12, "12"),  # not text: its repr
])
def test_printable_escapes_what_a_terminal_could_act_on(value, text):
    assert printable(value) == text


def test_shown_bounds_a_long_value_after_escaping_it():
    assert shown("x" * 120) == "x" * 120  # a line's worth by default
    assert shown("x" * 121) == "x" * 117 + "..."
    assert shown("x" * 10, 10) == "x" * 10
    assert shown("x" * 11, 10) == "xxxxxxx..."
    assert shown("\x1b" * 3, 10) == "\\x1b\\x1..."
