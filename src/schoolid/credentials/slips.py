"""Printed sign-in slips: an A4 PDF of one-time passwords to cut and hand to pupils.

`render_slips` is a pure function (no database): ten slips per page (2 columns x 5 rows) with
dashed cut lines. Each slip shows the school, class, the pupil's name in its native script,
the login identifier, the one-time secret in a monospace face, its validity date, a QR code
of the one-time sign-in link and a short instruction.

Speed matters (a whole school is issued at once: 1,000 slips must render in well under a
second and a half), so text does not go through `FPDF.cell()`, whose per-call bidi and
shaping code costs ~0.5 ms. fpdf2 still owns the document, the embedded font subsets and
their ToUnicode maps; this module shapes each run with HarfBuzz itself (the engine fpdf2's
text shaping uses), orders runs with fpdf2's Unicode bidi algorithm, falls back run by run to
the first bundled font that has the glyphs, and writes the glyphs straight into the content
stream. Repeated strings (labels, school, class, date) are shaped once per document, parsed
fonts are kept per process, and each QR code (zxing-cpp, credentials/qr.py) is one filled path of
merged rectangles.
"""
from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import override
from fpdf import FPDF
from fpdf.enums import PDFResourceType

from schoolid.core.digits import native_digits
from schoolid.core.numerals import format_date
from schoolid.credentials.qr import qr_path
from schoolid.credentials.text_shaping import _FACES, _LANGUAGE_FACE, _RTL_LANGUAGES, _RTL_LETTER, FONT_DIR, _Text  # noqa: F401 - tests and privacy use them here  # noqa: F401


@dataclass(frozen=True)
class Slip:
    school: str  # native script
    class_name: str  # may be ""
    full_name: str  # native script
    login_label: str  # already-translated label of the identifier, e.g. "National code"
    login_id: str
    secret: str  # one-time secret, e.g. "K7QM-4XPA-93TR-HWNE"
    valid_until: datetime.date
    qr_url: str  # sign-in link with a one-time token, encoded into the QR code


# --- fonts -----------------------------------------------------------------------------------


MM = 72 / 25.4  # points per millimetre
PAGE_W, PAGE_H = 210.0, 297.0
COLS, ROWS = 2, 5
SLIPS_PER_PAGE = COLS * ROWS
MARGIN_X, MARGIN_TOP, MARGIN_BOTTOM = 8.0, 11.0, 9.0
SLIP_W = (PAGE_W - 2 * MARGIN_X) / COLS  # 97 mm
SLIP_H = (PAGE_H - MARGIN_TOP - MARGIN_BOTTOM) / ROWS  # 55.4 mm
PAD = 4.0
QR_SIZE = 24.0  # mm, without quiet zone (the slip's white space around it is wider than 4 modules)
GAP = 3.0  # between the text column and the QR code
GRAY = "0.35 g"


class _Page:
    def __init__(self, doc: _Document) -> None:
        self.doc = doc
        doc.pdf.add_page()
        self.number = doc.pdf.page
        self.ops: list[str] = []
        self.fonts: set[int] = set()

    def text(self, x_mm: float, baseline_mm: float, item: tuple[str, float, tuple], color: str = "") -> None:
        ops, _width, fonts = item
        if not ops:
            return
        for font in fonts:
            self.fonts.add(font.font.i)
        self.ops.append(f"q {color} 1 0 0 1 {x_mm * MM:.2f} {(PAGE_H - baseline_mm) * MM:.2f} cm {ops} Q")

    def finish(self) -> None:
        pdf = self.doc.pdf
        for i in self.fonts:
            pdf._resource_catalog.add(PDFResourceType.FONT, i, self.number)
        pdf._out("\n".join(self.ops))


class _Document:
    def __init__(self, language: str, title: str | None) -> None:
        self.language = language = language.replace("_", "-").split("-")[0].lower()  # "fa-IR" -> "fa"
        self.rtl = language in _RTL_LANGUAGES
        pdf = self.pdf = FPDF(orientation="P", unit="mm", format="A4")
        pdf.set_auto_page_break(False)
        pdf.set_margins(0, 0, 0)
        pdf.set_creator("SchoolID")
        pdf.set_lang(language)
        if title:
            pdf.set_title(title)
        self.title = title
        self.t = _Text(pdf, language)
        self.labels = {
            "class": _("Class"),
            "signin": _("Sign-in"),
            "otp": _("One-time password"),
            "valid": _("Valid until"),
            "help": _("Scan the code or go to the sign-in page; you will choose your own password."),
        }
        self.dates: dict[datetime.date, str] = {}

    # Static and per-document strings -------------------------------------------------------

    def date_text(self, day: datetime.date) -> str:
        found = self.dates.get(day)
        if found is None:
            found = self.dates[day] = format_date(day, self.language)
        return found

    def base(self, text: str) -> bool | None:
        """Paragraph direction of a translated text: right-to-left in an RTL language as soon as
        it has an RTL letter (even if it starts with a Latin word such as "QR"); else automatic
        (an untranslated English label stays readable)."""
        return True if self.rtl and _RTL_LETTER.search(text) else None

    def label(self, key: str, size: float, colon: bool = False, bold: bool = False):
        text = self.labels[key] + (":" if colon else "")
        return self.t.layout(text, "text", bold, size, self.base(text))

    def fit(self, text: str, face: str, bold: bool, size: float, width_mm: float, rtl_base=None,
            spacing: float = 0.0):
        """Lay `text` out at `size`, or smaller so that it fits `width_mm`."""
        item = self.t.layout(text, face, bold, size, rtl_base, spacing)
        width = item[1] / MM
        if width > width_mm > 0:
            factor = width_mm / width * 0.995  # width is proportional to size (and spacing)
            item = self.t.layout(text, face, bold, round(size * factor, 2), rtl_base, spacing * factor)
        return item

    def wrap(self, text: str, size: float, width_mm: float, max_lines: int = 2, min_size: float = 5.0):
        """Word-wrap `text` into at most `max_lines` lines, shrinking the size if needed."""
        rtl = self.base(text)
        while True:
            words = text.split()
            lines, current = [], ""
            for word in words:
                candidate = f"{current} {word}" if current else word
                if not current or self.t.layout(candidate, "text", False, size, rtl)[1] / MM <= width_mm:
                    current = candidate
                else:
                    lines.append(current)
                    current = word
            if current:
                lines.append(current)
            fits = all(self.t.layout(line, "text", False, size, rtl)[1] / MM <= width_mm for line in lines)
            if (len(lines) <= max_lines and fits) or size <= min_size:
                if len(lines) > max_lines:
                    lines = lines[: max_lines - 1] + [" ".join(lines[max_lines - 1 :])]
                return size, [self.fit(line, "text", False, size, width_mm, rtl) for line in lines]
            size = round(size - 0.25, 2)

    # Drawing ---------------------------------------------------------------------------------

    def place(self, x0: float, width: float, item, align: str = "start") -> float:
        """Left x (mm) of `item` inside the box [x0, x0 + width] for the slip's direction."""
        w = item[1] / MM
        if align == "center":
            return x0 + (width - w) / 2
        at_right = (align == "start") == self.rtl
        return x0 + width - w if at_right else x0

    def pair(self, page: _Page, x0: float, width: float, baseline: float, label, value,
             value_color: str = "") -> None:
        """`label` then `value` on one line, in reading order (label on the right in RTL)."""
        gap = 1.2
        lw, vw = label[1] / MM, value[1] / MM
        if self.rtl:
            page.text(x0 + width - lw, baseline, label, GRAY)
            page.text(x0 + width - lw - gap - vw, baseline, value, value_color)
        else:
            page.text(x0, baseline, label, GRAY)
            page.text(x0 + lw + gap, baseline, value, value_color)

    def render(self, slips: Sequence[Slip]) -> bytes:
        pages = max(1, -(-len(slips) // SLIPS_PER_PAGE))
        text_w = SLIP_W - 2 * PAD - QR_SIZE - GAP
        full_w = SLIP_W - 2 * PAD
        help_size, help_lines = self.wrap(self.labels["help"], 6.5, full_w)
        otp_label = self.label("otp", 6.5)
        signin = self.label("signin", 7, bold=True)
        class_label = self.label("class", 7.5, colon=True)
        valid_label = self.label("valid", 7.5, colon=True)
        for index in range(pages):
            chunk = slips[index * SLIPS_PER_PAGE : (index + 1) * SLIPS_PER_PAGE]
            page = _Page(self)
            self.header(page, index + 1, pages)
            for n, slip in enumerate(chunk):
                row, col = divmod(n, COLS)
                if self.rtl:
                    col = COLS - 1 - col  # fill right to left
                self.slip(page, MARGIN_X + col * SLIP_W, MARGIN_TOP + row * SLIP_H, slip, text_w, full_w,
                          help_size, help_lines, otp_label, signin, class_label, valid_label)
            self.cut_lines(page, len(chunk))
            page.finish()
        out = self.pdf.output()
        return bytes(out)

    def header(self, page: _Page, number: int, pages: int) -> None:
        y = MARGIN_TOP - 3.5
        if self.title:
            item = self.fit(self.title, "text", True, 8.5, PAGE_W - 2 * MARGIN_X - 20)
            page.text(self.place(MARGIN_X, PAGE_W - 2 * MARGIN_X, item), y, item)
        counter = self.t.layout(native_digits(f"{number}/{pages}", self.language), "text", False, 8)
        page.text(self.place(MARGIN_X, PAGE_W - 2 * MARGIN_X, counter, "end"), y, counter, GRAY)

    def slip(self, page: _Page, x: float, y: float, slip: Slip, text_w: float, full_w: float,
             help_size, help_lines, otp_label, signin, class_label, valid_label) -> None:
        if self.rtl:
            text_x, qr_x = x + PAD + QR_SIZE + GAP, x + PAD
        else:
            text_x, qr_x = x + PAD, x + SLIP_W - PAD - QR_SIZE
        t = self.fit
        # School across the whole slip (long official names), then class and name.
        page.text(*self._at(x + PAD, full_w, y + 7.0, t(slip.school, "text", True, 8.5, full_w)), GRAY)
        if slip.class_name:
            value = t(slip.class_name, "text", False, 8.5, text_w - class_label[1] / MM - 1.5)
            self.pair(page, text_x, text_w, y + 12.0, class_label, value)
        page.text(*self._at(text_x, text_w, y + 18.5, t(slip.full_name, "text", True, 13, text_w)))
        # Login: label, then the identifier as typed (ASCII digits).
        label_text = slip.login_label + ":"
        label = t(label_text, "text", False, 7.5, text_w * 0.55, self.base(label_text))
        value = t(slip.login_id, "text", True, 10, text_w - label[1] / MM - 1.5)
        self.pair(page, text_x, text_w, y + 24.5, label, value)
        # The one-time secret, large and spaced, in the monospace face.
        page.text(*self._at(text_x, text_w, y + 29.5, otp_label), GRAY)
        secret = t(slip.secret, "mono", True, 14, text_w, None, 1.0)
        page.text(*self._at(text_x, text_w, y + 36.0, secret))
        # Validity.
        date = t(self.date_text(slip.valid_until), "text", True, 7.5, text_w - valid_label[1] / MM - 1.5)
        self.pair(page, text_x, text_w, y + 41.5, valid_label, date)
        # QR code with its caption.
        page.text(self.place(qr_x, QR_SIZE, signin, "center"), y + 10.6, signin, GRAY)
        self.qr(page, qr_x, y + 11.8, slip.qr_url)
        # Instruction across the slip's full width, under everything else.
        line_h = help_size * 1.25 / MM
        base = y + SLIP_H - PAD - (len(help_lines) - 1) * line_h - 0.6
        for i, item in enumerate(help_lines):
            page.text(self.place(x + PAD, full_w, item), base + i * line_h, item, GRAY)

    def _at(self, x0: float, width: float, baseline: float, item):
        return self.place(x0, width, item), baseline, item

    def qr(self, page: _Page, x: float, y: float, url: str) -> None:
        path, modules = qr_path(url)
        s = QR_SIZE / modules * MM
        page.ops.append(f"q 0 g {s:.4f} 0 0 {-s:.4f} {x * MM:.2f} {(PAGE_H - y) * MM:.2f} cm {path} f Q")

    def cut_lines(self, page: _Page, count: int) -> None:
        """Dashed lines around and between the slips on this page (continuous segments, so the
        dash pattern stays regular)."""
        if not count:
            return
        rows = -(-count // COLS)
        in_row = [min(COLS, count - r * COLS) for r in range(rows)]

        def col_x(c: int) -> float:  # left edge of the c-th filled column in reading order
            return MARGIN_X + (COLS - c) * SLIP_W if self.rtl else MARGIN_X + c * SLIP_W

        ops = ["q 0.6 G 0.25 w [1.8 1.4] 0 d"]
        for r in range(rows + 1):  # horizontal lines
            span = max(in_row[r] if r < rows else 0, in_row[r - 1] if r > 0 else 0)
            a, b = sorted((col_x(0), col_x(span)))
            yy = (PAGE_H - (MARGIN_TOP + r * SLIP_H)) * MM
            ops.append(f"{a * MM:.2f} {yy:.2f} m {b * MM:.2f} {yy:.2f} l S")
        for c in range(COLS + 1):  # vertical lines: from the top down to the last row reaching them
            depth = sum(1 for n in in_row if n >= c)  # rows are filled in order
            if depth == 0:
                continue
            xx = col_x(c) * MM
            ops.append(f"{xx:.2f} {(PAGE_H - MARGIN_TOP) * MM:.2f} m {xx:.2f} "
                       f"{(PAGE_H - MARGIN_TOP - depth * SLIP_H) * MM:.2f} l S")
        ops.append("Q")
        page.ops.append(" ".join(ops))


def render_slips(slips: Sequence[Slip], language: str, title: str | None = None) -> bytes:
    """A complete A4 PDF with the sign-in slips, ten per page, static texts in `language`."""
    with override(language):
        return _Document(language, title).render(slips)
