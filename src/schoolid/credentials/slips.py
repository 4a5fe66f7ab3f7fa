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
import io
import re
import threading
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import uharfbuzz as hb
from django.utils.translation import gettext as _
from django.utils.translation import override
from fontTools import ttLib
from fpdf import FPDF
from fpdf.bidi import BidiParagraph
from fpdf.enums import PDFResourceType, TextDirection
from fpdf.fonts import SubsetMap, TTFFont

from schoolid.core.digits import native_digits
from schoolid.core.numerals import format_date
from schoolid.credentials.qr import qr_path


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

FONT_DIR = Path(__file__).resolve().parent / "fonts"
_FACES = {
    # face: (regular, bold)
    "latin": ("NotoSans-Regular.ttf", "NotoSans-Bold.ttf"),
    "persian": ("Vazirmatn-Regular.ttf", "Vazirmatn-Bold.ttf"),
    "hebrew": ("NotoSansHebrew-Regular.ttf", "NotoSansHebrew-Bold.ttf"),
    "bengali": ("NotoSansBengali-Regular.ttf", "NotoSansBengali-Bold.ttf"),
    # 0/O and 1/l are told apart; the secret alphabet avoids look-alikes anyway.
    "mono": ("DejaVuSansMono-Bold.ttf", "DejaVuSansMono-Bold.ttf"),
}
_LANGUAGE_FACE = {"fa": "persian", "he": "hebrew", "bn": "bengali"}  # others: "latin"
_RTL_LANGUAGES = frozenset({"fa", "he"})
# Characters HarfBuzz hides (zero width) when a font has no glyph for them: never a reason to
# switch font, never a tofu box.
_IGNORABLE = frozenset(
    "\u00ad\u034f\u061c\u180e\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
    "\u2060\u2061\u2062\u2063\u2064\u2066\u2067\u2068\u2069\ufeff"
)

_RTL_LETTER = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc]")


class _FontFile:
    """A font parsed once per process; each document gets a cheap `TTFFont` view of it.

    fpdf2 subsets a font's `ttfont` in place when it writes the PDF, so every document needs
    its own `fontTools` object: it is opened lazily from the cached bytes, while the metrics,
    cmap and HarfBuzz face (read-only) are shared.
    """

    def __init__(self, filename: str) -> None:
        path = FONT_DIR / filename
        self.data = path.read_bytes()
        scratch = FPDF()
        self.template = TTFFont(scratch, path, Path(filename).stem.lower(), "")
        ttfont = self.template.ttfont
        self.glyph_order: list[str] = ttfont.getGlyphOrder()
        self.advance: dict[str, int] = {name: adv for name, (adv, _lsb) in ttfont["hmtx"].metrics.items()}
        self.scale: float = self.template.scale  # font units -> 1/1000 em
        self.cmap: dict[int, str] = self.template.cmap
        self.hbfont = hb.Font(hb.Face(hb.Blob(self.data)))

    def attach(self, pdf: FPDF, fontkey: str) -> TTFFont:
        tpl = self.template
        font = TTFFont.__new__(TTFFont)
        for name in TTFFont.__slots__:
            if hasattr(tpl, name):
                setattr(font, name, getattr(tpl, name))
        font.i = len(pdf.fonts) + 1
        font.fontkey = fontkey
        font.ttfont = ttLib.TTFont(io.BytesIO(self.data), recalcTimestamp=False, lazy=True)
        font._hbfont = self.hbfont
        font.missing_glyphs = []
        font.biggest_size_pt = 0
        font.subset = SubsetMap(font)
        pdf.fonts[fontkey] = font
        return font


_font_files: dict[str, _FontFile] = {}
_font_files_lock = threading.Lock()


def _font_file(filename: str) -> _FontFile:
    font = _font_files.get(filename)
    if font is None:
        with _font_files_lock:
            font = _font_files.get(filename)
            if font is None:
                font = _font_files[filename] = _FontFile(filename)
    return font


class _DocFont:
    """One font of one document: its PDF resource number and glyph -> character-code map."""

    __slots__ = ("file", "font", "ref", "codes")

    def __init__(self, file: _FontFile, font: TTFFont) -> None:
        self.file = file
        self.font = font
        self.ref = f"/F{font.i}"
        # (glyph id, unicode tuple) -> (4-hex-digit code, PDF width in 1/1000 em)
        self.codes: dict[tuple[int, tuple[int, ...]], tuple[str, int]] = {}

    def code(self, gid: int, unicode: tuple[int, ...]) -> tuple[str, int]:
        key = (gid, unicode)
        found = self.codes.get(key)
        if found is None:
            name = self.file.glyph_order[gid]
            width = round(self.file.scale * self.file.advance[name])
            subset = self.font.subset
            glyph = subset.get_glyph(glyph=gid, unicode=unicode, glyph_name=name, glyph_width=width)
            found = self.codes[key] = (f"{subset.pick_glyph(glyph):04X}", width)
        return found


# --- text -----------------------------------------------------------------------------------


_EXPLICIT_BIDI = frozenset({"LRE", "LRO", "RLE", "RLO", "PDF", "LRI", "RLI", "FSI", "PDI"})
_RTL_CLASSES = frozenset({"R", "AL", "AN"})
_LTR_CLASSES = frozenset({"L", "EN", "AN"})


class _Text:
    """Shapes, measures and draws single-line text into one fpdf2 document."""

    def __init__(self, pdf: FPDF, language: str) -> None:
        self.pdf = pdf
        primary = _LANGUAGE_FACE.get(language, "latin")
        order = [primary] + [f for f in ("latin", "persian", "hebrew", "bengali") if f != primary]
        self.chains = {
            (face, bold): [_FACES[f][bold] for f in (["mono"] if face == "mono" else []) + order]
            for face in ("text", "mono")
            for bold in (0, 1)
        }
        self.doc_fonts: dict[str, _DocFont] = {}
        self.cache: dict[tuple, tuple[str, float, tuple[_DocFont, ...]]] = {}

    def _doc_font(self, filename: str) -> _DocFont:
        found = self.doc_fonts.get(filename)
        if found is None:
            file = _font_file(filename)
            font = file.attach(self.pdf, Path(filename).stem.lower())
            found = self.doc_fonts[filename] = _DocFont(file, font)
        return found

    def _chain(self, face: str, bold: bool) -> list[str]:
        chain = self.chains[("mono" if face == "mono" else "text", int(bold))]
        if face not in ("mono", "text"):
            chain = [_FACES[face][int(bold)]] + chain
        return chain

    def _font_runs(self, text: str, chain: list[str]) -> list[tuple[str, str]]:
        """Split `text` into (font filename, text) runs, each with the first font that has it."""
        need = [ch for ch in set(text) if ch not in _IGNORABLE]
        for filename in chain:
            cmap = _font_file(filename).cmap
            if all(ord(ch) in cmap for ch in need):
                return [(filename, text)]
        runs: list[tuple[str, str]] = []
        for ch in text:
            filename = None
            if ch in _IGNORABLE or unicodedata.category(ch) == "Zs":
                filename = runs[-1][0] if runs else chain[0]
            else:
                filename = next((f for f in chain if ord(ch) in _font_file(f).cmap), chain[0])
            if runs and runs[-1][0] == filename:
                runs[-1] = (filename, runs[-1][1] + ch)
            else:
                runs.append((filename, ch))
        return runs

    def _visual_runs(self, text: str, chain: list[str], rtl_base: bool | None) -> list[tuple[str, str, bool]]:
        """(font, logical text, is_rtl) runs in left-to-right visual order (UAX #9, L1-L2)."""
        classes = [unicodedata.bidirectional(ch) for ch in text]
        if not _EXPLICIT_BIDI.intersection(classes):  # the usual cases need no bidi algorithm
            rtl = rtl_base or next((c != "L" for c in classes if c in ("L", "R", "AL")), False)
            if not rtl and not _RTL_CLASSES.intersection(classes):
                return [(f, t, False) for f, t in self._font_runs(text, chain)]
            if rtl and not _LTR_CLASSES.intersection(classes):
                return [(f, t, True) for f, t in reversed(self._font_runs(text, chain))]
        base = TextDirection.RTL if rtl_base else None
        paragraph = BidiParagraph(text=text, base_direction=base, preserve_bn_chars=True)
        paragraph.reorder_resolved_levels()  # applies rule L1 to the levels
        chars = paragraph.get_characters()
        if len(chars) != len(text):  # pragma: no cover - fpdf2 dropped characters: one plain run
            return [(f, t, bool(rtl_base)) for f, t in self._font_runs(text, chain)]
        levels = [c.embedding_level for c in chars]
        # Boundary-neutral characters (ZWNJ, ZWJ...) take their neighbours' level, so that
        # "محمدحسین‌زاده" stays one run and its letters keep joining.
        for i, c in enumerate(chars):
            if c.original_bidi_class == "BN":
                levels[i] = levels[i - 1] if i else (levels[i + 1] if len(levels) > 1 else levels[i])
        runs: list[tuple[int, str]] = []  # (level, logical text)
        for ch, level in zip(text, levels):
            if runs and runs[-1][0] == level:
                runs[-1] = (level, runs[-1][1] + ch)
            else:
                runs.append((level, ch))
        pieces = [(level, f, t) for level, run in runs for f, t in self._font_runs(run, chain)]
        # L2: from the highest level down to the lowest odd one, reverse runs at that level or higher.
        if pieces:
            top = max(p[0] for p in pieces)
            lowest_odd = min((p[0] for p in pieces if p[0] % 2), default=top + 1)
            for level in range(top, lowest_odd - 1, -1):
                out, i = [], 0
                while i < len(pieces):
                    if pieces[i][0] >= level:
                        j = i
                        while j < len(pieces) and pieces[j][0] >= level:
                            j += 1
                        out.extend(reversed(pieces[i:j]))
                        i = j
                    else:
                        out.append(pieces[i])
                        i += 1
                pieces = out
        return [(f, t, level % 2 == 1) for level, f, t in pieces]

    def _shape(self, doc_font: _DocFont, text: str, rtl: bool, plain: bool = False) -> tuple[list, float]:
        """Glyphs as (hex code, pdf width, advance, x offset, y offset), all in 1/1000 em.

        `plain`: one glyph per character at its nominal width (ASCII in the monospace face,
        which has nothing to shape), skipping HarfBuzz."""
        if plain:
            glyph_ids, glyphs, total = doc_font.font.glyph_ids, [], 0
            for ch in text:
                code, width = doc_font.code(glyph_ids[ord(ch)], (ord(ch),))
                glyphs.append((code, width, width, 0, 0))
                total += width
            return glyphs, total
        buf = hb.Buffer()
        buf.add_str(text)
        buf.direction = "rtl" if rtl else "ltr"
        buf.guess_segment_properties()
        buf.cluster_level = hb.BufferClusterLevel.MONOTONE_CHARACTERS
        hb.shape(doc_font.file.hbfont, buf, {})
        infos, positions = buf.glyph_infos, buf.glyph_positions
        starts = sorted({info.cluster for info in infos})
        ends = dict(zip(starts, starts[1:] + [len(text)]))
        scale = doc_font.file.scale
        glyphs, total = [], 0.0
        for info, pos in zip(infos, positions):
            cluster = info.cluster
            end = ends.pop(cluster, None)
            unicode = tuple(ord(ch) for ch in text[cluster:end]) if end is not None else ()
            advance = pos.x_advance * scale
            total += advance
            if info.codepoint == 0:  # .notdef: no font has it; leave a gap rather than a box
                glyphs.append((None, 0, advance, 0, 0))
                continue
            code, width = doc_font.code(info.codepoint, unicode)
            glyphs.append((code, width, advance, pos.x_offset * scale, pos.y_offset * scale))
        return glyphs, total

    def layout(self, text: str, face: str, bold: bool, size: float, rtl_base: bool | None = None,
               spacing: float = 0.0) -> tuple[str, float, tuple[_DocFont, ...]]:
        """Content-stream operators drawing `text` with its baseline start at (0, 0), and its width.

        `face` is "text" (the language's face, with fallbacks), "mono" or a face name; sizes
        and `spacing` (extra space after each glyph) are in points.
        """
        key = (text, face, bold, size, rtl_base, spacing)
        found = self.cache.get(key)
        if found is not None:
            return found
        text = unicodedata.normalize("NFC", text)
        ops: list[str] = []
        fonts: list[_DocFont] = []
        x = 0.0
        for filename, run, rtl in self._visual_runs(text, self._chain(face, bold), rtl_base):
            doc_font = self._doc_font(filename)
            if doc_font.font.biggest_size_pt < size:
                doc_font.font.biggest_size_pt = size
            plain = face == "mono" and run.isascii() and all(ord(ch) in doc_font.font.glyph_ids for ch in run)
            glyphs, advance = self._shape(doc_font, run, rtl, plain)
            if not glyphs:
                continue
            fonts.append(doc_font)
            tc = f"{spacing:.2f} Tc " if spacing else ""
            ops.append(f"BT {doc_font.ref} {size:.2f} Tf {tc}{x:.2f} 0 Td {self._tj(glyphs, size)} ET")
            x += advance * size / 1000 + spacing * len(glyphs)
        if ops and spacing:
            x -= spacing  # no extra space after the last glyph
        body = " ".join(ops)
        if ops and not text.isascii() and not _RTL_LETTER.search(text):
            # Shaped glyphs (Bengali vowel signs drawn before their consonant, conjuncts) do not
            # spell the text in order: tell text extraction and screen readers what it says.
            # (Not for RTL text: readers such as poppler reorder it themselves, ActualText too.)
            body = f"/Span <</ActualText <FEFF{text.encode('utf-16-be').hex().upper()}>>> BDC {body} EMC"
        found = self.cache[key] = (body, x, tuple(fonts))
        return found

    @staticmethod
    def _tj(glyphs: list, size: float) -> str:
        """TJ operators: PDF widths come from the font's /W array, so each glyph's shaped advance
        and offsets become kerning numbers; vertical mark offsets become a text rise (Ts)."""
        parts: list[str] = []
        out: list[str] = []
        pending = 0.0  # TJ adjustment (1/1000 em, positive moves left) not yet written
        for code, width, advance, x_off, y_off in glyphs:
            if code is None:
                pending -= advance
                continue
            pending -= x_off
            if abs(pending) > 0.05:
                parts.append(f"{pending:.1f}")
            if y_off:
                if parts:
                    out.append(f"[{''.join(parts)}] TJ")
                out.append(f"{y_off * size / 1000:.2f} Ts [<{code}>] TJ 0 Ts")
                parts = []
            else:
                parts.append(f"<{code}>")
            pending = width - advance + x_off
        if parts:
            out.append(f"[{''.join(parts)}] TJ")
        return " ".join(out)


# --- layout ---------------------------------------------------------------------------------

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
