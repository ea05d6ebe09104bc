"""Complete what Ghostscript's PDF/A-2 output leaves out, so that veraPDF accepts the copy.

Ghostscript 10.07 writes PDF/A-2 files that still break three rules of ISO 19005-2 on ordinary
inputs (found by running veraPDF over the corpus; docs/decisions/0014):

* 6.9-1: an optional content configuration dictionary (the `/D` or a `/Configs` entry of
  `/OCProperties`) without `/Name` — a name is added;
* 6.3.3-1: an annotation (a sticky note, a highlight, a file attachment) without an appearance
  dictionary — an empty appearance is added, so the annotation, its text and its place are kept
  and it draws nothing, as PDF/A demands of what cannot be rendered the same everywhere;
* 6.2.4.3-3: DeviceCMYK colour under the sRGB output intent — each page that uses CMYK gets a
  DefaultCMYK colour space (Ghostscript's CMYK profile), which makes the colour device-independent
  without touching the content;
* 6.2.8.3: a JPEG 2000 image stored as a bare codestream, which has no header to state its
  channels — the same codestream is put, byte for byte, in a JP2 file with that header.

Nothing here changes the page content or the text, and a file that needs none of it is not saved
again.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

import pikepdf
from pikepdf import Array, Dictionary, Name

# Subtypes exempt from rule 6.3.3-1 (they are never drawn on their own).
_NO_APPEARANCE_NEEDED = (Name.Popup, Name.Link)
_CMYK_OPERATORS = frozenset({"k", "K"})
_CODESTREAM_START = b"\xff\x4f\xff\x51"  # SOC then SIZ: a bare JPEG 2000 codestream
_JP2_SIGNATURE = b"\x00\x00\x00\x0cjP  \r\n\x87\n"
# JP2 enumerated colour spaces (ISO 15444-1 I.5.3.3) by number of channels.
_ENUMERATED_COLOUR = {1: 17, 3: 16, 4: 12}  # greyscale, sRGB, CMYK


def complete_pdfa(path: Path, gs: Path) -> list[str]:
    """Fix the copy at `path` in place; what was fixed, as short English notes (empty if nothing).

    `gs` is the Ghostscript whose CMYK profile becomes the DefaultCMYK colour space.
    """
    with pikepdf.open(path, allow_overwriting_input=True) as pdf:
        notes = [
            *_name_optional_content_configs(pdf),
            *_give_annotations_an_appearance(pdf),
            *_default_cmyk(pdf, gs),
            *_wrap_bare_jpeg2000(pdf),
        ]
        if notes:
            pdf.save(path)
    return notes


def _name_optional_content_configs(pdf: pikepdf.Pdf) -> list[str]:
    properties = pdf.Root.get("/OCProperties")
    if not isinstance(properties, Dictionary):
        return []
    configs = [properties.get("/D")]
    extra = properties.get("/Configs")
    if isinstance(extra, Array):
        configs.extend(extra)
    named = 0
    for number, config in enumerate(configs):
        if isinstance(config, Dictionary) and "/Name" not in config:
            config.Name = pikepdf.String("Default" if number == 0 else f"Configuration {number}")
            named += 1
    return [f"{named} optional content configuration(s) given a name"] if named else []


def _give_annotations_an_appearance(pdf: pikepdf.Pdf) -> list[str]:
    fixed = 0
    for page in pdf.pages:
        annotations = page.obj.get("/Annots")
        if not isinstance(annotations, Array):
            continue
        for annotation in annotations:
            if not isinstance(annotation, Dictionary) or "/AP" in annotation:
                continue
            if annotation.get("/Subtype") in _NO_APPEARANCE_NEEDED:
                continue
            width, height = _size(annotation)
            if width == 0 and height == 0:
                continue
            empty = pdf.make_stream(b"", Type=Name.XObject, Subtype=Name.Form, BBox=[0, 0, width, height])
            annotation.AP = Dictionary(N=empty)
            fixed += 1
    return [f"{fixed} annotation(s) without appearance given an empty one"] if fixed else []


def _size(annotation: Dictionary) -> tuple[float, float]:
    try:
        x0, y0, x1, y1 = (float(v) for v in annotation.Rect)
    except (AttributeError, TypeError, ValueError):
        return 0.0, 0.0
    return abs(x1 - x0), abs(y1 - y0)


def _default_cmyk(pdf: pikepdf.Pdf, gs: Path) -> list[str]:
    pages = [page for page in pdf.pages if _uses_cmyk(page)]
    if not pages:
        return []
    profile = pdf.make_stream(ghostscript_cmyk_profile(gs), N=4, Alternate=Name.DeviceCMYK)
    colour_space = pdf.make_indirect(Array([Name.ICCBased, profile]))
    for page in pages:
        resources = page.obj.get("/Resources")
        if not isinstance(resources, Dictionary):
            resources = page.obj.Resources = Dictionary()
        spaces = resources.get("/ColorSpace")
        if not isinstance(spaces, Dictionary):
            spaces = resources.ColorSpace = Dictionary()
        if "/DefaultCMYK" not in spaces:
            spaces.DefaultCMYK = colour_space
    return [f"{len(pages)} page(s) using DeviceCMYK given a DefaultCMYK colour space"]


def _uses_cmyk(page: pikepdf.Page) -> bool:
    """True if the page's content or its forms set CMYK colour or name DeviceCMYK, or it shows a CMYK image."""
    for stream_owner in _content_owners(page):
        try:
            instructions = pikepdf.parse_content_stream(stream_owner)
        except pikepdf.PdfError:
            continue
        for instruction in instructions:
            if isinstance(instruction, pikepdf.ContentStreamInlineImage):
                continue
            if str(instruction.operator) in _CMYK_OPERATORS or Name.DeviceCMYK in instruction.operands:
                return True
    return any(image.get("/ColorSpace") == Name.DeviceCMYK for image in page.get_images().values())


def _wrap_bare_jpeg2000(pdf: pikepdf.Pdf) -> list[str]:
    wrapped = 0
    for image in pdf.objects:
        if not isinstance(image, pikepdf.Stream) or not _only_jpx(image.get("/Filter")):
            continue
        data = image.read_raw_bytes()
        header = _jp2_header(data)
        if header is None:
            continue
        image.write(header + _box(b"jp2c", data), filter=Name.JPXDecode)
        wrapped += 1
    return [f"{wrapped} bare JPEG 2000 codestream(s) given a JP2 header"] if wrapped else []


def _only_jpx(filters: object) -> bool:
    """True for `/JPXDecode` alone, as a name or a one-element array."""
    if isinstance(filters, Array) and len(filters) == 1:
        filters = filters[0]
    return filters == Name.JPXDecode


def _jp2_header(codestream: bytes) -> bytes | None:
    """The JP2 boxes before the codestream (signature, file type, header), or None if not a bare one."""
    if not codestream.startswith(_CODESTREAM_START) or len(codestream) < 42:
        return None
    width = int.from_bytes(codestream[8:12], "big") - int.from_bytes(codestream[16:20], "big")
    height = int.from_bytes(codestream[12:16], "big") - int.from_bytes(codestream[20:24], "big")
    channels = int.from_bytes(codestream[40:42], "big")
    depths = {codestream[42 + 3 * c] for c in range(channels)} if len(codestream) >= 42 + 3 * channels else set()
    if channels not in _ENUMERATED_COLOUR or len(depths) != 1 or width <= 0 or height <= 0:
        return None
    image_header = _box(
        b"ihdr",
        height.to_bytes(4, "big")
        + width.to_bytes(4, "big")
        + channels.to_bytes(2, "big")
        + bytes([depths.pop(), 7, 0, 0]),
    )
    colour = _box(b"colr", bytes([1, 0, 0]) + _ENUMERATED_COLOUR[channels].to_bytes(4, "big"))
    file_type = _box(b"ftyp", b"jp2 " + bytes(4) + b"jp2 ")
    return _JP2_SIGNATURE + file_type + _box(b"jp2h", image_header + colour)


def _box(kind: bytes, content: bytes) -> bytes:
    return (8 + len(content)).to_bytes(4, "big") + kind + content


@lru_cache(maxsize=4)
def ghostscript_cmyk_profile(gs: Path) -> bytes:
    """Ghostscript's built-in CMYK profile (Artifex CMYK SWOP, ICC v2), read from its ROM file system."""
    with tempfile.TemporaryDirectory(prefix="archive-icc-") as folder:
        target = Path(folder) / "cmyk.icc"
        program = (
            f"/f (%rom%iccprofiles/default_cmyk.icc) (r) file def /o ({target.as_posix()}) (w) file def "
            "/b 65536 string def { f b readstring exch o exch writestring not { exit } if } loop o closefile"
        )
        proc = subprocess.run(
            [str(gs), "-q", "-dNODISPLAY", "-dNOSAFER", "-dBATCH", "-dNOPAUSE", "-c", program, "-c", "quit"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        data = target.read_bytes() if target.is_file() else b""
    if proc.returncode != 0 or data[36:40] != b"acsp" or data[16:20] != b"CMYK":
        raise OSError(f"Ghostscript at {gs} gave no CMYK profile: {proc.stderr.strip()[:200]}")
    return data


def _content_owners(page: pikepdf.Page) -> Iterator[pikepdf.Page | pikepdf.Stream]:
    yield page
    seen: set[tuple[int, int]] = set()
    pending = [page.obj.get("/Resources")]
    while pending:
        resources = pending.pop()
        if not isinstance(resources, Dictionary):
            continue
        objects = resources.get("/XObject")
        if not isinstance(objects, Dictionary):
            continue
        for _, xobject in objects.items():
            if not isinstance(xobject, pikepdf.Stream) or xobject.get("/Subtype") != Name.Form:
                continue
            if xobject.objgen in seen:
                continue
            seen.add(xobject.objgen)
            yield xobject
            pending.append(xobject.get("/Resources"))
