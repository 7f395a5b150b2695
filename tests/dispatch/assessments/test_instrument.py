"""The instrument file is checked as it is read: a wrong file is refused with what is wrong, never scored."""

from __future__ import annotations

from importlib import resources

import pytest

from dispatch.assessments.instrument import parse

TEXT = (
    resources.files("dispatch.assessments").joinpath("instruments", "gbt-42195-2022.toml").read_text("utf-8")
)


def test_the_shipped_file_reads_as_the_standard() -> None:
    instrument = parse(TEXT)
    assert (instrument.code, instrument.max_total, [level.level for level in instrument.levels]) == (
        "GB/T 42195-2022",
        90,
        [0, 1, 2, 3, 4],
    )
    assert [o.code for o in instrument.items["B.1.2"].options] == ["4", "3", "2", "1", "0"]  # from its scale


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        pytest.param(
            ('code = "motor"\nmax = 15', 'code = "motor"\nmax = 16'), "add up to 15, not 16", id="max"
        ),
        pytest.param(
            ("min = 66\nmax = 89", "min = 67\nmax = 89"), "every total from 0 to 90", id="level gap"
        ),
        pytest.param(('code = "B.1.3"', 'code = "B.1.2"'), "item codes repeat: B.1.2", id="repeated item"),
        pytest.param(
            ('if_any = ["dementia", "mental_disorder"]', 'if_any = ["dementia", "gout"]'),
            "not a known flag",
            id="unknown condition",
        ),
    ],
)
def test_a_file_that_does_not_hold_together_is_refused(change: tuple[str, str], complaint: str) -> None:
    old, new = change
    assert old in TEXT
    with pytest.raises(ValueError, match=complaint):
        parse(TEXT.replace(old, new, 1))
