"""Text for the slips: bundled fonts, parsed once per process, and runs shaped with HarfBuzz, ordered
with fpdf2's Unicode bidi algorithm and falling back run by run to the first font that has the glyphs
(credentials/slips.py writes the glyphs straight into the content stream)."""
from __future__ import annotations

import io
import re
import threading
import unicodedata
from pathlib import Path

import uharfbuzz as hb
from fontTools import ttLib
from fpdf import FPDF
from fpdf.bidi import BidiParagraph
from fpdf.enums import TextDirection
from fpdf.fonts import SubsetMap, TTFFont

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
