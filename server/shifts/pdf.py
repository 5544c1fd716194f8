"""A small text PDF of a shift's Z report for managers, written by hand.

The server imports no PDF library (the import contract keeps reportlab on the desktop),
and a report is lines of text: one page per 60 lines of Courier 10 pt on A4, PDF 1.4,
in the standard WinAnsi encoding (the euro and Western European letters; anything else
becomes "?"). The lines are app/domain/shift_report_lines.py's,
the same the till prints.
"""

from __future__ import annotations

PAGE_W, PAGE_H = 595, 842  # A4 in points
LINES_PER_PAGE = 60
LEADING = 12
WIDTH = 56  # characters per line


def _escape(text: str) -> bytes:
    raw = text.encode("cp1252", "replace")
    return raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def _content(lines: list[str]) -> bytes:
    parts = [b"BT", b"/F1 10 Tf", b"%d TL" % LEADING, b"60 %d Td" % (PAGE_H - 60)]
    parts += [b"(" + _escape(line) + b") '" for line in lines]
    parts.append(b"ET")
    return b"\n".join(parts)


def text_pdf(lines: list[str], title: str = "Report") -> bytes:
    """A PDF of ``lines`` (already laid out, at most :data:`WIDTH` characters each)."""
    pages = [lines[i:i + LINES_PER_PAGE] for i in range(0, len(lines), LINES_PER_PAGE)] or [[]]
    objects: list[bytes] = [b"", b""]  # 1: catalog, 2: pages (filled in below)
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Courier "
                    b"/Encoding /WinAnsiEncoding >>")  # 3
    kids = []
    for page in pages:
        stream = _content(page)
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
        content_id = len(objects)
        objects.append((f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_W} {PAGE_H}] "
                        f"/Resources << /Font << /F1 3 0 R >> >> /Contents {content_id} 0 R >>"
                        ).encode())
        kids.append(f"{len(objects)} 0 R")
    objects[0] = b"<< /Type /Catalog /Pages 2 0 R >>"
    objects[1] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(kids)} >>".encode()
    objects.append(b"<< /Title (" + _escape(title) + b") /Producer (Tillsync) >>")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += (b"trailer\n<< /Size %d /Root 1 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n"
            % (len(objects) + 1, len(objects), xref))
    return bytes(out)
