"""File-level checks of a transfer (rules.md "Files"): format, PDF health, scans and signatures.

`inspect_files` is what validation calls: the findings, and the per-file signature results from
which the pipeline writes the PREMIS "digital signature validation" events (reference/tech.md §6:
signer, certificate, signing time, outcome, tool version).

Parameters (accepted formats, PDF version floor, scan resolution, placement) are the profile's
data (`ingest_rules.file_profile`); trust anchors come from `Settings.signatures`.
"""

from __future__ import annotations

import io
import logging
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from importlib.metadata import version as package_version
from pathlib import Path, PurePosixPath

import pikepdf
from asn1crypto import x509 as asn1_x509  # type: ignore[import-untyped]  # no stubs; pyHanko uses its types
from PIL import Image
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.status import DocumentTimestampStatus, PdfSignatureStatus

from archive_service.config import Settings, SignatureSettings
from archive_service.file_probes import UNKNOWN_TYPES, declared_by_pronom, identified_mimetype
from archive_service.packages.sip import ItemEntry, PackageFile, SipPackage
from archive_service.tools.identify import identify
from archive_service.tools.pronom import PronomMatch
from ingest_rules.catalogue import finding
from ingest_rules.field_rules import fold
from ingest_rules.file_profile import FileRules, load_file_rules, parse_version
from ingest_rules.findings import Finding

# pyHanko logs every failed path build with a traceback; the outcome is in our results instead.
for _name in ("pyhanko", "pyhanko_certvalidator"):
    logging.getLogger(_name).setLevel(logging.CRITICAL)

_IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/tiff", "image/gif"})
_XREF_REPAIR = re.compile(r"file is damaged|reconstruct|xref", re.IGNORECASE)
_CONTENT_ERROR = re.compile(r"\(content|stream data|content stream", re.IGNORECASE)
_MAX_FORM_DEPTH = 8
# An image this small on a side (a 1×1 fill stretched over the page, as in MRC scans) is no scan.
_MIN_SCAN_SIDE_PX = 16
_ABBREVIATIONS = {"ubnd": "ủy ban nhân dân", "hđnd": "hội đồng nhân dân"}
Matrix = tuple[float, float, float, float, float, float]
_IDENTITY: Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)


# ---- results ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignatureResult:
    """One embedded signature (or document timestamp) of a PDF, as validated at ingest.

    `intact`: the digest verifies, the CMS signature is valid and later revisions only add what
    the profile allows (rules.md Conventions). `trusted` is None when no trusted roots are
    configured. `organisation`: the certificate subject CN or O names the record's OrganName.
    """

    field_name: str
    kind: str  # "signature" | "timestamp"
    signer_subject: str
    signer_common_name: str | None
    signer_organisation: str | None
    issuer: str
    serial_number: str
    signing_time: datetime | None
    signing_time_source: str  # "timestamp" | "signer-reported" | ""
    digest_algorithm: str | None
    sub_filter: str | None
    intact: bool
    modification_level: str | None
    coverage: str | None
    trusted: bool | None
    expired_at_signing: bool | None
    organisation: bool
    page: int | None
    rect: tuple[float, float, float, float] | None
    error: str | None = None

    @property
    def outcome(self) -> str:
        """The PREMIS eventOutcome word: "valid", "untrusted" or "invalid"."""
        if not self.intact:
            return "invalid"
        if self.trusted is False or self.expired_at_signing:
            return "untrusted"
        return "valid"


@dataclass(frozen=True)
class FileSignatures:
    """Every signature of one PDF file, with what the validation could and could not establish."""

    path: str
    results: tuple[SignatureResult, ...]
    tool: str
    tool_version: str
    trust_roots: str | None
    revocation: str = "not checked (offline validation, no CRL/OCSP)"


@dataclass
class FileCheckReport:
    """The `file.*` findings and, per PDF path, the signature results (for PREMIS)."""

    findings: list[Finding] = field(default_factory=list)
    signatures: dict[str, FileSignatures] = field(default_factory=dict)


def inspect_files(
    package: SipPackage, settings: Settings, formats: Mapping[str, PronomMatch] | None = None
) -> FileCheckReport:
    """Every `file.*` finding of the package's record files (rules.md "Files") and the per-file
    signature results; `formats` are the PRONOM matches by package path (`file_probes.probe_files`),
    when siegfried ran."""
    rules = load_file_rules(package.profile.id)
    report = FileCheckReport()
    for item in package.items:
        for entry in item.files:
            pronom = (formats or {}).get(entry.path)
            _FileCheck(package.root, item, entry, rules, settings.signatures, report, pronom).run()
    return report


# ---- one file ----------------------------------------------------------------------------------


class _FileCheck:
    def __init__(
        self,
        root: Path,
        item: ItemEntry,
        entry: PackageFile,
        rules: FileRules,
        signatures: SignatureSettings,
        report: FileCheckReport,
        pronom: PronomMatch | None = None,
    ) -> None:
        self.path = root / entry.path
        self.pronom = pronom
        self.item = item
        self.entry = entry
        self.rules = rules
        self.signature_settings = signatures
        self.report = report
        level = item.values.get("ConfidenceLevel")
        self.digitised = rules.is_digitised(level)
        self.mixed = rules.is_mixed(level)
        self.born_digital = rules.is_born_digital(level)
        self.organ_name = item.values.get("OrganName")

    def add(self, rule_id: str, vi: str, en: str) -> None:
        name = PurePosixPath(self.entry.path).name
        self.report.findings.append(
            finding(rule_id, path=self.entry.path, message_vi=f"{name}: {vi}", message_en=f"{name}: {en}")
        )

    def run(self) -> None:
        mimetype = self._format()
        if mimetype == "application/pdf":
            self._pdf()
        elif mimetype in _IMAGE_TYPES and (self.digitised or self.mixed):
            self._image_file()

    # -- format -------------------------------------------------------------------------------

    def _format(self) -> str | None:
        """file.format.identify / mismatch / not_allowed; the identified MIME type if known."""
        try:
            found = identified_mimetype(identify(self.path).mimetype, self.pronom)
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            self.add("file.format.identify", f"không đọc được tệp ({reason})", f"the file cannot be read ({reason})")
            return None
        if found in UNKNOWN_TYPES:
            pronom = "; PRONOM: không khớp chữ ký nào" if self.pronom is not None else ""
            pronom_en = "; PRONOM: no signature matches" if self.pronom is not None else ""
            self.add(
                "file.format.identify",
                f"không nhận dạng được định dạng (libmagic: {found or 'không rõ'}{pronom})",
                f"the format cannot be identified (libmagic: {found or 'unknown'}{pronom_en})",
            )
            return None
        declared = self.entry.mimetype
        extension = PurePosixPath(self.entry.path).suffix.lower().lstrip(".")
        problems_vi, problems_en = [], []
        if declared and not self.rules.same_type(declared, found) and not declared_by_pronom(declared, self.pronom):
            problems_vi.append(f"METS khai báo @MIMETYPE “{declared}”")
            problems_en.append(f"the METS declares @MIMETYPE “{declared}”")
        allowed_extensions = self.rules.extensions_for(found)
        if allowed_extensions and extension not in allowed_extensions:
            problems_vi.append(f"phần mở rộng “.{extension}”")
            problems_en.append(f"the extension is “.{extension}”")
        if problems_vi:
            self.add(
                "file.format.mismatch",
                f"{' và '.join(problems_vi)} nhưng tệp thực tế là {found}",
                f"{' and '.join(problems_en)} but the file is {found}",
            )
        if not self.rules.accepts(found):
            self.add(
                "file.format.not_allowed",
                f"định dạng {found} không thuộc danh mục định dạng được chấp nhận",
                f"the format {found} is not in the list of accepted formats",
            )
            return None
        return found

    # -- PDF ----------------------------------------------------------------------------------

    def _pdf(self) -> None:
        head, tail = _head_and_tail(self.path, self.rules.pdf_trailer_window)
        truncated = b"startxref" not in tail or b"%%EOF" not in tail
        try:
            pdf = pikepdf.open(self.path)
        except pikepdf.PasswordError:
            self._unreadable("encrypted")
            return
        except (pikepdf.PdfError, ValueError, RuntimeError) as exc:
            if _encryption_unsupported(str(exc).replace(str(self.path), "")):
                self._unreadable(
                    "encrypted",
                    " (cơ chế mã hóa không được hỗ trợ, ví dụ mã hóa bằng chứng thư số)",
                    " (unsupported security handler, e.g. certificate-based encryption)",
                )
            else:
                self._unreadable("truncated" if truncated else "damaged")
            return
        with pdf:
            readable = self._pdf_health(pdf, truncated)
            if readable:
                self._pdf_version(pdf, head)
            if readable and (self.digitised or self.mixed):
                self._pdf_scan(pdf)
            self._signatures(pdf)

    def _unreadable(self, reason: str, detail_vi: str = "", detail_en: str = "") -> None:
        vi, en = {
            "encrypted": (
                "bị mã hóa, cần mật khẩu hoặc khóa để mở",
                "is encrypted and needs a user password or key to open",
            ),
            "truncated": ("bị cắt cụt", "is truncated"),
            "damaged": ("hỏng, không đọc được", "is damaged and cannot be read"),
        }[reason]
        self.add("file.pdf.unreadable", f"tệp PDF {vi}{detail_vi}", f"the PDF {en}{detail_en}")

    def _pdf_health(self, pdf: pikepdf.Pdf, truncated: bool) -> bool:
        """file.pdf.unreadable (truncated, pages missing, unreadable pages) / file.pdf.repaired."""
        try:
            pages = len(pdf.pages)
            declared = pdf.Root.Pages.get("/Count")
            for page in pdf.pages:
                pikepdf.parse_content_stream(page)
        except (pikepdf.PdfError, ValueError, RuntimeError, AttributeError, TypeError):
            self._unreadable("damaged")
            return False
        if truncated:
            self._unreadable(
                "truncated",
                f" (không có startxref/%%EOF trong {self.rules.pdf_trailer_window} byte cuối)",
                f" (no startxref/%%EOF within its last {self.rules.pdf_trailer_window} bytes)",
            )
            return False
        if pages == 0 or (isinstance(declared, int) and int(declared) != pages):
            self._unreadable(
                "truncated",
                f" (thiếu trang: cây trang khai báo {declared}, đọc được {pages})",
                f" (pages missing: the page tree declares {declared}, {pages} can be read)",
            )
            return False
        warnings = pdf.get_warnings()
        if any(_CONTENT_ERROR.search(w) for w in warnings):
            self._unreadable(
                "damaged",
                " (nội dung trang có lỗi cú pháp, không hiển thị đầy đủ được)",
                " (page content streams have syntax errors and cannot be rendered in full)",
            )
            return False
        if any(_XREF_REPAIR.search(w) for w in warnings):
            self.add(
                "file.pdf.repaired",
                "bảng tham chiếu chéo (xref) hỏng và đã được dựng lại; mọi trang vẫn đọc được",
                "the cross-reference table was damaged and had to be rebuilt; every page reads",
            )
        return True

    def _pdf_version(self, pdf: pikepdf.Pdf, head: bytes) -> None:
        """file.pdf.version: the later of the header and the catalog /Version (ISO 32000-1 §7.2.2)."""
        match = re.search(rb"%PDF-(\d\.\d+)", head)
        header = parse_version(match.group(1).decode()) if match else None
        catalog_value = pdf.Root.get("/Version")
        catalog = parse_version(str(catalog_value)) if catalog_value is not None else None
        effective = max(v for v in (header, catalog, (0, 0)) if v is not None)
        if effective < self.rules.pdf_min_version:
            shown = f"{effective[0]}.{effective[1]}" if effective != (0, 0) else "không rõ"
            shown_en = shown if effective != (0, 0) else "unknown"
            self.add(
                "file.pdf.version",
                f"phiên bản PDF {shown}, yêu cầu từ {self.rules.pdf_min_version_text} trở lên",
                f"PDF version {shown_en}, {self.rules.pdf_min_version_text} or later is required",
            )

    # -- scans --------------------------------------------------------------------------------

    def _pdf_scan(self, pdf: pikepdf.Pdf) -> None:
        """file.scan.*: page images of a digitised record (image-only pages of a mixed one)."""
        low: list[str] = []
        grey: list[str] = []
        scaled: list[str] = []
        for number, page in enumerate(pdf.pages, start=1):
            try:
                images, visible_text = _page_images(page, self.rules.scan_page_image_min_coverage)
            except (pikepdf.PdfError, ValueError, TypeError):
                continue  # a form XObject that cannot be parsed: no judgement on this page
            if not images or (self.mixed and not self.digitised and visible_text):
                continue
            dpi = min(min(i.dpi_x, i.dpi_y) for i in images)
            if dpi < self.rules.scan_min_dpi * (1 - self.rules.scan_dpi_tolerance):
                low.append(f"{number} ({dpi:.0f} dpi)")
            if any(i.colour in ("grey", "bilevel") for i in images):
                kinds = sorted({i.colour for i in images if i.colour in ("grey", "bilevel")})
                grey.append(f"{number} ({'/'.join(kinds)})")
            for image in images:
                native = image.native_dpi
                if native and abs(min(image.dpi_x, image.dpi_y) - native) / native > self.rules.scan_scale_tolerance:
                    scaled.append(f"{number} ({min(image.dpi_x, image.dpi_y):.0f}/{native:.0f} dpi)")
                    break
        self._scan_findings(low, grey, scaled)

    def _image_file(self) -> None:
        """file.scan.* on an image file of a digitised record: resolution from its own metadata."""
        low: list[str] = []
        grey: list[str] = []
        try:
            with Image.open(self.path) as image:
                for frame in range(getattr(image, "n_frames", 1)):
                    image.seek(frame)
                    dpi = _image_dpi(image)
                    label = f"{frame + 1}"
                    if dpi is None:
                        low.append(f"{label} (không rõ dpi / dpi unknown)")
                    elif dpi < self.rules.scan_min_dpi * (1 - self.rules.scan_dpi_tolerance):
                        low.append(f"{label} ({dpi:.0f} dpi)")
                    colour = _pil_colour(image)
                    if colour in ("grey", "bilevel"):
                        grey.append(f"{label} ({colour})")
        except (OSError, ValueError, Image.DecompressionBombError) as exc:
            reason = type(exc).__name__
            self.add("file.format.identify", f"không đọc được ảnh ({reason})", f"the image cannot be read ({reason})")
            return
        self._scan_findings(low, grey, [])

    def _scan_findings(self, low: list[str], grey: list[str], scaled: list[str]) -> None:
        minimum = f"{self.rules.scan_min_dpi:.0f}"
        if low:
            self.add(
                "file.scan.min_dpi",
                f"độ phân giải ảnh quét dưới {minimum} dpi ở trang/ảnh {', '.join(low)}",
                f"the scan resolution is below {minimum} dpi on page/image {', '.join(low)}",
            )
        if grey and self.rules.scan_colour_required:
            self.add(
                "file.scan.colour",
                f"ảnh quét đen trắng hoặc thang xám, không phải ảnh màu, ở trang/ảnh {', '.join(grey)}",
                f"the scan is bilevel or greyscale, not colour, on page/image {', '.join(grey)}",
            )
        if scaled:
            self.add(
                "file.scan.scale",
                f"kích thước trang không đúng tỷ lệ 100% so với ảnh quét (dpi hiển thị/dpi của ảnh) ở trang "
                f"{', '.join(scaled)}",
                f"the page size is not at 100% of the scanned image (displayed/own dpi) on page {', '.join(scaled)}",
            )

    # -- signatures ---------------------------------------------------------------------------

    def _signatures(self, pdf: pikepdf.Pdf) -> None:
        """file.signature.*: validate every embedded signature; then the presence rules."""
        placements = _signature_widgets(pdf)
        results = _validate_signatures(self.path, placements, self.organ_name, self.signature_settings, self.rules)
        if results is None:  # pyHanko cannot read the file
            results = tuple(
                _unreadable_signature(name, where, "pyHanko cannot read this PDF's revisions")
                for name, where in placements.items()
                if where.signed
            )
        self.report.signatures[self.entry.path] = FileSignatures(
            path=self.entry.path,
            results=results,
            tool="pyHanko",
            tool_version=_pyhanko_version(),
            trust_roots=str(self.signature_settings.trusted_roots_dir)
            if self.signature_settings.trusted_roots_dir
            else None,
        )
        signatures = [r for r in results if r.kind == "signature"]
        for result in results:
            self._signature_result(result)
        self._signature_presence(signatures)
        if (self.digitised or self.mixed) and signatures and len(pdf.pages):
            box = [float(v) for v in pdf.pages[0].mediabox]
            self._placement(signatures, (box[0], box[1], box[2], box[3]))

    def _signature_result(self, result: SignatureResult) -> None:
        who = result.signer_common_name or result.signer_subject or result.field_name
        if not result.intact:
            reason_vi, reason_en = _invalid_reason(result)
            self.add(
                "file.signature.invalid",
                f"chữ ký “{result.field_name}” ({who}) không hợp lệ: {reason_vi}",
                f"the signature “{result.field_name}” ({who}) does not verify: {reason_en}",
            )
            return
        if result.expired_at_signing:
            self.add(
                "file.signature.untrusted",
                f"chứng thư của chữ ký “{result.field_name}” ({who}) đã hết hạn hoặc chưa có hiệu lực "
                f"tại thời điểm ký {result.signing_time}",
                f"the certificate of the signature “{result.field_name}” ({who}) was not valid at signing time "
                f"{result.signing_time}",
            )
        elif result.trusted is False:
            self.add(
                "file.signature.untrusted",
                f"chuỗi chứng thư của chữ ký “{result.field_name}” ({who}, cấp bởi {result.issuer}) không dẫn tới "
                "chứng thư gốc tin cậy đã cấu hình",
                f"the certificate chain of the signature “{result.field_name}” ({who}, issued by {result.issuer}) "
                "does not reach a configured trusted root",
            )

    def _signature_presence(self, signatures: list[SignatureResult]) -> None:
        """file.signature.missing (rules.md Conventions: whose signatures each kind of record needs)."""
        if not (self.digitised or self.mixed or self.born_digital) or any(s.error for s in signatures):
            return  # whose an unreadable signature is cannot be told: file.signature.invalid says it
        organ = self.organ_name
        ours = [s for s in signatures if s.organisation] if organ else signatures
        signers = {(s.issuer, s.serial_number) for s in signatures}
        if not ours:
            who_vi = f"của cơ quan “{organ}”" if organ else "nào"
            who_en = f"of the organisation “{organ}”" if organ else "at all"
            kind_vi = "tài liệu số hóa" if not self.born_digital else "bản gốc điện tử"
            kind_en = "digitised record" if not self.born_digital else "born-digital original"
            self.add(
                "file.signature.missing",
                f"{kind_vi} không có chữ ký số {who_vi} ({len(signatures)} chữ ký trong tệp)",
                f"the {kind_en} carries no digital signature {who_en} ({len(signatures)} signatures in the file)",
            )
        elif self.born_digital and len(signers) < 2:
            self.add(
                "file.signature.missing",
                "bản gốc điện tử chỉ có chữ ký số của cơ quan, thiếu chữ ký số của người có thẩm quyền",
                "the born-digital original carries only the organisation's signature, not the signer's",
            )

    def _placement(self, signatures: list[SignatureResult], page_box: tuple[float, float, float, float]) -> None:
        """file.signature.placement: the digitising signature at the top right of page 1."""
        candidates = [s for s in signatures if s.organisation] if self.organ_name else signatures
        if not candidates:
            return
        if any(self._top_right(s, page_box) for s in candidates):
            return

        def where(page_word: str, hidden: str) -> str:
            return "; ".join(
                f"“{s.field_name}”: "
                + (f"{page_word} {s.page}" if s.page else hidden)
                + (f", {tuple(round(v) for v in s.rect)}" if s.rect else "")
                for s in candidates
            )

        self.add(
            "file.signature.placement",
            f"chữ ký số của cơ quan số hóa không nằm ở góc trên bên phải trang 1 ({where('trang', 'không hiển thị')})",
            f"the digitising organisation's signature is not at the top right of page 1 ({where('page', 'invisible')})",
        )

    def _top_right(self, result: SignatureResult, page_box: tuple[float, float, float, float]) -> bool:
        """Whether a signature's box is on page 1 with its centre in the top-right share of the page."""
        if result.page != 1 or result.rect is None:
            return False
        x1, y1, x2, y2 = result.rect
        left, bottom, right, top = page_box
        width, height = right - left, top - bottom
        if x2 - x1 <= 0 or y2 - y1 <= 0 or width <= 0 or height <= 0:
            return False
        centre_x, centre_y = (x1 + x2) / 2 - left, (y1 + y2) / 2 - bottom
        return centre_x >= width * self.rules.placement_min_x and centre_y >= height * self.rules.placement_min_y


# ---- PDF page images ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PageImage:
    """An image drawn on a page: its pixels, effective resolution and colour kind."""

    width_px: int
    height_px: int
    dpi_x: float
    dpi_y: float
    coverage: float
    colour: str  # "colour" | "grey" | "bilevel" | "unknown"
    native_dpi: float | None


def _multiply(m: Matrix, n: Matrix) -> Matrix:
    """m × n for PDF matrices [a b c d e f] (ISO 32000-1 §8.3.4)."""
    a, b, c, d, e, f = m
    a2, b2, c2, d2, e2, f2 = n
    return (
        a * a2 + b * c2,
        a * b2 + b * d2,
        c * a2 + d * c2,
        c * b2 + d * d2,
        e * a2 + f * c2 + e2,
        e * b2 + f * d2 + f2,
    )


def _matrix(values: Iterable[pikepdf.Object]) -> Matrix:
    """Six PDF numbers as a matrix [a b c d e f]."""
    a, b, c, d, e, f = (float(v) for v in values)
    return (a, b, c, d, e, f)


def _page_images(page: pikepdf.Page, min_coverage: float) -> tuple[list[PageImage], bool]:
    """The page images (covering ≥ `min_coverage` of the page) and whether any text is visible."""
    box = [float(v) for v in page.cropbox]
    unit = float(page.obj.get("/UserUnit", 1))
    area = abs((box[2] - box[0]) * (box[3] - box[1]))
    found: list[tuple[Matrix, pikepdf.Object | pikepdf.PdfInlineImage, pikepdf.Dictionary | None]] = []
    visible = _walk(page.obj, page.obj.get("/Resources"), _IDENTITY, found, 0)
    images = []
    for ctm, image, resources in found:
        width_pt = math.hypot(ctm[0], ctm[1]) * unit
        height_pt = math.hypot(ctm[2], ctm[3]) * unit
        coverage = abs(ctm[0] * ctm[3] - ctm[1] * ctm[2]) / area if area else 0.0
        if coverage < min_coverage or width_pt <= 0 or height_pt <= 0:
            continue
        width, height = _image_size(image)
        if min(width, height) < _MIN_SCAN_SIDE_PX:
            continue
        images.append(
            PageImage(
                width_px=width,
                height_px=height,
                dpi_x=width * 72 / width_pt,
                dpi_y=height * 72 / height_pt,
                coverage=coverage,
                colour=_pdf_colour(image, resources),
                native_dpi=_jpeg_density(image),
            )
        )
    return images, visible


def _walk(
    container: pikepdf.Object,
    resources: pikepdf.Object | None,
    ctm: Matrix,
    found: list[tuple[Matrix, pikepdf.Object | pikepdf.PdfInlineImage, pikepdf.Dictionary | None]],
    depth: int,
) -> bool:
    """Follow q/Q/cm/Tr/Do through a content stream and its forms; True if text is visible."""
    stack: list[tuple[Matrix, int]] = []
    render_mode = 0
    visible = False
    res = resources if isinstance(resources, pikepdf.Dictionary) else None
    xobjects = res.get("/XObject") if res is not None else None
    for instruction in pikepdf.parse_content_stream(container):
        if isinstance(instruction, pikepdf.ContentStreamInlineImage):
            found.append((ctm, instruction.iimage, res))
            continue
        operator = str(instruction.operator)
        operands = instruction.operands
        if operator == "q":
            stack.append((ctm, render_mode))
        elif operator == "Q" and stack:
            ctm, render_mode = stack.pop()
        elif operator == "cm" and len(operands) == 6:
            ctm = _multiply(_matrix(operands), ctm)
        elif operator == "Tr" and operands:
            render_mode = int(operands[0])
        elif operator in ("Tj", "TJ", "'", '"') and render_mode != 3:
            visible = True
        elif operator == "Do" and operands and isinstance(xobjects, pikepdf.Dictionary):
            xobject = xobjects.get(str(operands[0]))
            if not isinstance(xobject, pikepdf.Stream):
                continue
            subtype = xobject.get("/Subtype")
            if subtype == "/Image":
                found.append((ctm, xobject, res))
            elif subtype == "/Form" and depth < _MAX_FORM_DEPTH:
                matrix = xobject.get("/Matrix")
                form_ctm = _multiply(_matrix(matrix), ctm) if isinstance(matrix, pikepdf.Array) else ctm
                form_resources = xobject.get("/Resources", res)
                visible = _walk(xobject, form_resources, form_ctm, found, depth + 1) or visible
    return visible


def _image_size(image: pikepdf.Object | pikepdf.PdfInlineImage) -> tuple[int, int]:
    if isinstance(image, pikepdf.PdfInlineImage):
        return int(image.width), int(image.height)
    return int(image.get("/Width", 0)), int(image.get("/Height", 0))


def _pdf_colour(image: pikepdf.Object | pikepdf.PdfInlineImage, resources: pikepdf.Dictionary | None) -> str:
    """Colour kind of a PDF image from /ImageMask, filters, /BitsPerComponent and /ColorSpace."""
    if isinstance(image, pikepdf.PdfInlineImage):
        if image.image_mask or image.bits_per_component == 1:
            return "bilevel"
        return _colour_space_kind(image.obj.get("/CS", image.obj.get("/ColorSpace")), resources)
    if bool(image.get("/ImageMask", False)):
        return "bilevel"
    filters = image.get("/Filter")
    names = [str(f) for f in filters] if isinstance(filters, pikepdf.Array) else [str(filters)]
    if "/CCITTFaxDecode" in names or "/JBIG2Decode" in names or int(image.get("/BitsPerComponent", 8)) == 1:
        return "bilevel"
    return _colour_space_kind(image.get("/ColorSpace"), resources)


_GREY_SPACES = frozenset({"/DeviceGray", "/CalGray", "/G"})
_COLOUR_SPACES = frozenset({"/DeviceRGB", "/CalRGB", "/DeviceCMYK", "/Lab", "/RGB", "/CMYK"})


def _colour_space_kind(space: pikepdf.Object | None, resources: pikepdf.Dictionary | None, depth: int = 0) -> str:
    """ "grey", "colour" or "unknown" for a colour space (ISO 32000-1 §8.6), following names and /Indexed."""
    kind = "unknown"
    if space is None or depth > 4:
        return kind
    if isinstance(space, pikepdf.Name):
        name = str(space)
        named = resources.get("/ColorSpace") if resources is not None else None
        if name in _GREY_SPACES:
            kind = "grey"
        elif name in _COLOUR_SPACES:
            kind = "colour"
        elif isinstance(named, pikepdf.Dictionary) and name in named:
            kind = _colour_space_kind(named[name], resources, depth + 1)
    elif isinstance(space, pikepdf.Array) and len(space) > 1:
        family = str(space[0])
        if family == "/ICCBased":
            kind = "grey" if int(space[1].get("/N", 3)) == 1 else "colour"
        elif family in ("/Indexed", "/I"):
            kind = _colour_space_kind(space[1], resources, depth + 1)
        elif family in _GREY_SPACES | _COLOUR_SPACES:
            kind = _colour_space_kind(pikepdf.Name(family), resources, depth + 1)
    return kind


_JFIF = re.compile(rb"\xff\xe0..JFIF\x00..(.)(..)(..)", re.DOTALL)


def _jpeg_density(image: pikepdf.Object | pikepdf.PdfInlineImage) -> float | None:
    """The resolution a DCT (JPEG) image states in its JFIF header, in dpi, if any."""
    if isinstance(image, pikepdf.PdfInlineImage) or "/DCTDecode" not in str(image.get("/Filter", "")):
        return None
    try:
        head = image.read_raw_bytes()[:64]
    except pikepdf.PdfError:
        return None
    match = _JFIF.search(head)
    if match is None:
        return None
    unit, x = match.group(1)[0], int.from_bytes(match.group(2), "big")
    if unit == 1 and x > 1:
        return float(x)
    if unit == 2 and x > 1:
        return x * 2.54
    return None


# ---- image files -------------------------------------------------------------------------------


def _image_dpi(image: Image.Image) -> float | None:
    """An image file's horizontal/vertical resolution (the lower), in dpi; None if not stated.

    TIFF: a missing ResolutionUnit means inches (TIFF 6.0, tag 296 default 2). JPEG density with
    no unit and PNG without pHYs state no resolution.
    """
    if image.format == "TIFF":
        tags = getattr(image, "tag_v2", {})
        x, y = tags.get(282), tags.get(283)
        unit = tags.get(296, 2)
        if not x or not y or unit == 1:
            return None
        factor = 2.54 if unit == 3 else 1.0
        return min(float(x), float(y)) * factor
    dpi = image.info.get("dpi")
    if image.format == "JPEG" and image.info.get("jfif_unit", 1) == 0:
        return None
    if not dpi or min(float(dpi[0]), float(dpi[1])) <= 1:
        return None
    return min(float(dpi[0]), float(dpi[1]))


def _pil_colour(image: Image.Image) -> str:
    if image.mode == "1":
        return "bilevel"
    if image.mode in ("L", "LA", "I", "I;16", "F"):
        return "grey"
    if image.mode == "P":
        palette = image.getpalette() or []
        # getcolors gives (count, palette index) pairs for a palette image
        used = {index for _, index in (image.getcolors(256) or []) if isinstance(index, int)}
        entries = [tuple(palette[i * 3 : i * 3 + 3]) for i in used if i * 3 + 2 < len(palette)]
        if entries and all(r == g == b for r, g, b in entries):
            return "bilevel" if len(entries) <= 2 else "grey"
    return "colour"


# ---- signatures --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Widget:
    page: int | None
    rect: tuple[float, float, float, float] | None
    signed: bool


def _signature_widgets(pdf: pikepdf.Pdf) -> dict[str, _Widget]:
    """Signature fields by name: the page (1-based) and rectangle of their widget."""
    widgets: dict[str, _Widget] = {}
    try:
        for number, page in enumerate(pdf.pages, start=1):
            for annot in page.obj.get("/Annots", []) or []:
                if not isinstance(annot, pikepdf.Dictionary) or annot.get("/Subtype") != "/Widget":
                    continue
                owner = annot if "/T" in annot else annot.get("/Parent")
                if not isinstance(owner, pikepdf.Dictionary) or owner.get("/FT") != "/Sig":
                    continue
                rect = annot.get("/Rect")
                box = [float(v) for v in rect] if isinstance(rect, pikepdf.Array) and len(rect) == 4 else None
                normal = None
                if box is not None:
                    normal = (min(box[0], box[2]), min(box[1], box[3]), max(box[0], box[2]), max(box[1], box[3]))
                widgets[str(owner.get("/T", ""))] = _Widget(number, normal, owner.get("/V") is not None)
        form = pdf.Root.get("/AcroForm")
        for top in (form.get("/Fields", []) if isinstance(form, pikepdf.Dictionary) else []) or []:
            if isinstance(top, pikepdf.Dictionary) and top.get("/FT") == "/Sig":
                name = str(top.get("/T", ""))
                widgets.setdefault(name, _Widget(None, None, top.get("/V") is not None))
    except (pikepdf.PdfError, ValueError, TypeError):
        pass
    return widgets


@cache
def _pyhanko_version() -> str:
    return package_version("pyhanko")


def _unreadable_signature(name: str, where: _Widget, error: str) -> SignatureResult:
    return SignatureResult(
        field_name=name,
        kind="signature",
        signer_subject="",
        signer_common_name=None,
        signer_organisation=None,
        issuer="",
        serial_number="",
        signing_time=None,
        signing_time_source="",
        digest_algorithm=None,
        sub_filter=None,
        intact=False,
        modification_level=None,
        coverage=None,
        trusted=None,
        expired_at_signing=None,
        organisation=False,
        page=where.page,
        rect=where.rect,
        error=error,
    )


def names_organisation(organ_name: str | None, common_name: str | None, organisation: str | None) -> bool:
    """Whether a certificate subject's CN or O names the issuing organisation (rules.md Conventions).

    Compared after NFC, tone placement, spacing and case folding; "UBND"/"HĐND" read in full.
    """
    if not organ_name:
        return False
    wanted = _organ_form(organ_name)
    return any(value and _organ_form(value) == wanted for value in (common_name, organisation))


def _organ_form(text: str) -> str:
    words = fold(text).split()
    return " ".join(fold(_ABBREVIATIONS[w]) if w in _ABBREVIATIONS else w for w in words)


def _trust_roots(settings: SignatureSettings) -> list[asn1_x509.Certificate]:
    """The CA certificates (PEM or DER, .pem/.crt/.cer/.der) of `trusted_roots_dir`."""
    from pyhanko.keys import load_certs_from_pemder_data

    folder = settings.trusted_roots_dir
    if folder is None or not folder.is_dir():
        return []
    roots: list[asn1_x509.Certificate] = []
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() in (".pem", ".crt", ".cer", ".der"):
            try:
                roots.extend(load_certs_from_pemder_data(path.read_bytes()))
            except (ValueError, OSError):
                continue
    return roots


def _validate_signatures(
    path: Path,
    widgets: dict[str, _Widget],
    organ_name: str | None,
    settings: SignatureSettings,
    rules: FileRules,
) -> tuple[SignatureResult, ...] | None:
    """Validate every embedded signature with pyHanko; None if pyHanko cannot read the file."""
    from pyhanko.pdf_utils.misc import PdfError
    from pyhanko.pdf_utils.reader import PdfFileReader

    with path.open("rb") as stream:
        try:
            reader = PdfFileReader(stream, strict=False)
            if reader.encrypted:
                reader.decrypt("")
            embedded = list(reader.embedded_signatures)
        except (PdfError, ValueError, KeyError, TypeError, AttributeError, NotImplementedError):
            return None
        roots = _trust_roots(settings)
        results = []
        for signature in embedded:
            where = widgets.get(signature.field_name.rsplit(".", 1)[-1], _Widget(None, None, True))
            try:
                results.append(_validate_one(signature, where, organ_name, settings, roots, rules))
            except Exception as exc:  # noqa: BLE001 — a broken CMS or odd PDF must become a finding, not a crash
                results.append(_unreadable_signature(signature.field_name, where, f"{type(exc).__name__}: {exc}"))
        return tuple(results)


def _validate_one(
    signature: EmbeddedPdfSignature,
    where: _Widget,
    organ_name: str | None,
    settings: SignatureSettings,
    roots: list[asn1_x509.Certificate],
    rules: FileRules,
) -> SignatureResult:
    from pyhanko.sign.diff_analysis import ModificationLevel
    from pyhanko.sign.validation import validate_pdf_signature, validate_pdf_timestamp
    from pyhanko_certvalidator import ValidationContext

    weak = {"md2", "md5"} if settings.allow_sha1 else {"md2", "md5", "sha1"}
    when, source = _signing_time(signature)
    context = ValidationContext(
        trust_roots=roots,
        allow_fetching=False,
        revocation_mode="soft-fail",
        weak_hash_algos=weak,
        moment=when,
    )
    is_timestamp = signature.sig_object_type == "/DocTimeStamp"
    status: PdfSignatureStatus | DocumentTimestampStatus
    if is_timestamp:
        status = validate_pdf_timestamp(signature, validation_context=context)
    else:
        status = validate_pdf_signature(signature, signer_validation_context=context, ts_validation_context=context)
    level = getattr(status, "modification_level", None)
    limit = ModificationLevel[rules.signature_max_modification.upper()]
    docmdp_ok = getattr(status, "docmdp_ok", True)
    intact = bool(status.intact and status.valid) and (level is None or level <= limit) and docmdp_ok is not False
    cert = signature.signer_cert
    subject = cert.subject.native
    common_name = _first(subject.get("common_name"))
    organisation = _first(subject.get("organization_name"))
    validity = cert["tbs_certificate"]["validity"].native
    expired = when is not None and not (validity["not_before"] <= when <= validity["not_after"])
    sub_filter = signature.sig_object.get("/SubFilter")
    coverage = getattr(status, "coverage", None)
    return SignatureResult(
        field_name=signature.field_name,
        kind="timestamp" if is_timestamp else "signature",
        signer_subject=cert.subject.human_friendly,
        signer_common_name=common_name,
        signer_organisation=organisation,
        issuer=cert.issuer.human_friendly,
        serial_number=format(cert.serial_number, "x"),
        signing_time=when,
        signing_time_source=source,
        digest_algorithm=signature.md_algorithm,
        sub_filter=str(sub_filter) if sub_filter is not None else None,
        intact=intact,
        modification_level=level.name.lower() if level is not None else None,
        coverage=coverage.name.lower() if coverage is not None else None,
        trusted=bool(status.trusted) if roots else None,
        expired_at_signing=expired if when is not None else None,
        organisation=not is_timestamp and names_organisation(organ_name, common_name, organisation),
        page=where.page,
        rect=where.rect,
    )


def _signing_time(signature: EmbeddedPdfSignature) -> tuple[datetime | None, str]:
    """The time of signing: the signature timestamp token's if any, else the signer's claim."""
    from pyhanko.sign.validation.generic_cms import extract_tst_data_iter

    try:
        if signature.sig_object_type == "/DocTimeStamp":
            tokens = [signature.signed_data]
        else:
            tokens = list(extract_tst_data_iter(signature.signer_info, signed=False))
        for token in tokens:
            moment = token["encap_content_info"]["content"].parsed["gen_time"].native
            if isinstance(moment, datetime):
                return moment, "timestamp"
    except (KeyError, ValueError, TypeError, AttributeError):
        pass
    claimed = signature.self_reported_timestamp
    return (claimed, "signer-reported") if claimed is not None else (None, "")


def _first(value: object) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    return str(value) if value else None


def _invalid_reason(result: SignatureResult) -> tuple[str, str]:
    if result.error:
        return (
            f"không đọc/kiểm tra được chữ ký ({result.error})",
            f"the signature cannot be read or checked ({result.error})",
        )
    if result.modification_level not in (None, "none", "lta_updates", "form_filling"):
        return (
            f"tài liệu bị sửa đổi sau khi ký (mức thay đổi {result.modification_level}, phạm vi {result.coverage})",
            f"the document was modified after signing (modification level {result.modification_level}, "
            f"coverage {result.coverage})",
        )
    return "giá trị băm hoặc chữ ký CMS không khớp", "the digest or the CMS signature does not verify"


def _head_and_tail(path: Path, window: int) -> tuple[bytes, bytes]:
    """The first KiB (header) and the last `window` bytes (startxref, %%EOF) of a file."""
    with path.open("rb") as stream:
        head = stream.read(1024)
        size = stream.seek(0, io.SEEK_END)
        stream.seek(max(0, size - window))
        return head, stream.read(window)


def _encryption_unsupported(message: str) -> bool:
    """Whether qpdf's error (without the file name) is about an unsupported security handler."""
    text = message.lower()
    return "encrypt" in text or "security handler" in text or "password" in text
