"""Personal numbers typed into a notice's free text, however spelled, cannot be read back from the
text layer of what is printed: the notice and its objection slip (异议登记表)."""

from __future__ import annotations

import subprocess

import pytest
from hypothesis import HealthCheck, Phase, given, settings

from printing.service import PrintService
from tests.printing.pdfcheck import page_texts, squeeze
from tests.spellings import agent_world, notice_texts, publish_texts, recoverable


@pytest.fixture
def world(ctx):
    return agent_world(ctx)


def _text_layer(pdf) -> str:
    """The text two readers get from ``pdf`` (pypdf and poppler's pdftotext), and its title."""
    from pypdf import PdfReader

    poppler = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, text=True,
                             check=True).stdout
    title = PdfReader(str(pdf)).metadata.title or ""
    return "\n".join([*page_texts(pdf), poppler, title])


# a failure is reported as found: shrinking it would publish hundreds more notices
@settings(max_examples=20, deadline=None, database=None, derandomize=True, phases=[Phase.explicit, Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(texts=notice_texts())
def test_no_personal_number_typed_into_free_text_can_be_read_off_the_print(world, tmp_path, texts):
    nid = publish_texts(world, texts)
    printer = PrintService(world.ctx)
    notice, slip = tmp_path / "notice.pdf", tmp_path / "slip.pdf"
    printer.print_notice(nid, notice)
    printer.print_objection_slip(nid, slip)
    printed, slip_text = _text_layer(notice), _text_layer(slip)
    for number in texts.numbers:
        assert not recoverable(number, printed), number
        assert not recoverable(number, slip_text), number
    # the free-text cells are printed as the public view has them: masked, not dropped
    view = world.notices.public_view(nid)
    cells = [view.columns.index(c) for c in view.columns if c.key in ("group", "x_agent", "remark")]
    flat = squeeze("".join(page_texts(notice)))
    assert all(squeeze(row[i]) in flat for row in view.rows for i in cells)
    assert squeeze(view.title) in flat and squeeze(view.body) in flat
