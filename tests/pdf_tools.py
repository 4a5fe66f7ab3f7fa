"""Reading slips PDFs the way a person would: text and QR codes (pypdfium2 + zxing-cpp, no system tools)."""
import re
from dataclasses import dataclass

import pypdfium2 as pdfium
import zxingcpp

SECRET_RE = re.compile(r"[2-9A-HJKMNP-TW-Z]{5}-[2-9A-HJKMNP-TW-Z]{5}-[2-9A-HJKMNP-TW-Z]{5}")


@dataclass
class SlipOnPage:
    page: int
    link: str
    x: float  # QR centre in PDF points, origin bottom-left
    y: float
    texts: list  # (text, x, y) of regex matches assigned to this slip


def page_count(pdf_bytes: bytes) -> int:
    return len(pdfium.PdfDocument(pdf_bytes))


def full_text(pdf_bytes: bytes) -> str:
    doc = pdfium.PdfDocument(pdf_bytes)
    return "\n".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))


def qr_codes(pdf_bytes: bytes, scale: float = 3.0) -> list[tuple[int, str, float, float]]:
    """(page, decoded text, x, y) of every QR code, centre in PDF points."""
    doc = pdfium.PdfDocument(pdf_bytes)
    found = []
    for index in range(len(doc)):
        page = doc[index]
        height = page.get_height()
        image = page.render(scale=scale).to_pil()
        for result in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode):
            p = result.position
            cx = (p.top_left.x + p.top_right.x + p.bottom_left.x + p.bottom_right.x) / 4 / scale
            cy = (p.top_left.y + p.top_right.y + p.bottom_left.y + p.bottom_right.y) / 4 / scale
            found.append((index, result.text, cx, height - cy))
    return found


def slips(pdf_bytes: bytes, pattern: re.Pattern = SECRET_RE) -> list[SlipOnPage]:
    """Every slip (one per QR code), with the matches of `pattern` printed on it.

    A text belongs to the QR code in the same page half (column) whose centre is nearest in height."""
    doc = pdfium.PdfDocument(pdf_bytes)
    result = [SlipOnPage(p, link, x, y, []) for p, link, x, y in qr_codes(pdf_bytes)]
    for index in range(len(doc)):
        page = doc[index]
        width = page.get_width()
        textpage = page.get_textpage()
        text = textpage.get_text_range()
        on_page = [s for s in result if s.page == index]
        for match in pattern.finditer(text):
            left, bottom, right, top = textpage.get_charbox(match.start())
            cx, cy = (left + right) / 2, (bottom + top) / 2
            same_half = [s for s in on_page if (s.x < width / 2) == (cx < width / 2)] or on_page
            best = min(same_half, key=lambda s: abs(s.y - cy))
            best.texts.append(match.group(0))
    return result
