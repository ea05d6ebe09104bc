"""A judged collection for search relevance: records written for it, and real corpus texts.

Metadata follows Decree 30/2020 conventions (type names, number/notation); texts of the
born-digital and OCR'd corpus PDFs are extracted at run time, so full-text queries hit real
Vietnamese page text.
"""

from __future__ import annotations

from archive_service.preservation.verify_pdfa import extract_text
from search.protocol import IndexedRecord, RecordKind
from tests.fixtures.sip_builder import CORPUS

PUBLIC = "Công khai"
RESTRICTED = "Hạn chế"
QN = "000.00.00.H49"  # Quảng Ngãi
DN = "000.00.00.H17"  # Đà Nẵng
BNV = "000.00.00.G09"  # Bộ Nội vụ

# (code, type, number/notation, title, organ, fonds, year, regime)
_DOCUMENTS = [
    (
        "QN.2024.0507",
        "Thông báo",
        "507/TB-UBND",
        "Thông báo về việc tham dự Hội nghị đánh giá Chương trình mục tiêu "
        "quốc gia phát triển kinh tế - xã hội vùng đồng bào dân tộc thiểu số và miền núi",
        "UBND tỉnh Quảng Ngãi",
        QN,
        2024,
        PUBLIC,
    ),
    (
        "QN.2025.0012",
        "Công văn",
        "12/UBND-KGVX",
        "V/v góp ý dự thảo Quyết định sửa đổi, bổ sung một số điều của "
        "Quyết định số 2269/QĐ-TTg về Chương trình cung cấp dịch vụ viễn thông công ích",
        "UBND tỉnh Quảng Ngãi",
        QN,
        2025,
        PUBLIC,
    ),
    (
        "QN.2025.0090",
        "Quyết định",
        "90/QĐ-CT",
        "Quyết định về việc phê duyệt kế hoạch chuyển đổi số năm 2025",
        "Chủ tịch UBND tỉnh Quảng Ngãi",
        QN,
        2025,
        PUBLIC,
    ),
    (
        "QN.2025.0053",
        "Thông báo",
        "53/TB-UBND",
        "Thông báo kết luận của Chủ tịch UBND tỉnh tại cuộc họp về giải phóng mặt bằng dự án đường ven biển",
        "UBND tỉnh Quảng Ngãi",
        QN,
        2025,
        PUBLIC,
    ),
    (
        "QN.2025.0575",
        "Công văn",
        "575/UBND-NC",
        "V/v tăng cường công tác phòng cháy, chữa cháy mùa khô",
        "UBND tỉnh Quảng Ngãi",
        QN,
        2025,
        PUBLIC,
    ),
    (
        "QN.2025.0138",
        "Quyết định",
        "04/QĐ-UBND",
        "Quyết định ban hành quy chế làm việc của Ủy ban nhân dân tỉnh nhiệm kỳ 2021 - 2026",
        "UBND tỉnh Quảng Ngãi",
        QN,
        2025,
        PUBLIC,
    ),
    (
        "QN.2025.0207",
        "Chỉ thị",
        "07/CT-UBND",
        "Chỉ thị về tăng cường kỷ luật, kỷ cương hành chính trong cơ quan nhà nước",
        "UBND tỉnh Quảng Ngãi",
        QN,
        2025,
        PUBLIC,
    ),
    (
        "QN.2025.0208",
        "Chỉ thị",
        "08/CT-UBND",
        "Chỉ thị về đẩy mạnh giải ngân vốn đầu tư công năm 2025",
        "UBND tỉnh Quảng Ngãi",
        QN,
        2025,
        PUBLIC,
    ),
    (
        "QN.2024.0901",
        "Kế hoạch",
        "901/KH-UBND",
        "Kế hoạch tổ chức kỳ thi tuyển công chức năm 2024",
        "UBND tỉnh Quảng Ngãi",
        QN,
        2024,
        RESTRICTED,
    ),
    (
        "DN.2019.0463",
        "Công văn",
        "4637/SGDĐT-CTrTT",
        "V/v bảo đảm trật tự an toàn giao thông cho học sinh, sinh "
        "viên trong dịp nghỉ hè và kỳ thi THPT quốc gia năm 2019",
        "Sở Giáo dục và Đào tạo thành phố Đà Nẵng",
        DN,
        2019,
        PUBLIC,
    ),
    (
        "DN.2023.5740",
        "Công văn",
        "5740/UBND-SGDĐT",
        "V/v thực hiện Thông báo kết luận của Thường trực Thành ủy tại "
        "Hội nghị tổng kết 10 năm thực hiện Nghị quyết về đổi mới căn bản, toàn diện giáo dục và đào tạo",
        "UBND thành phố Đà Nẵng",
        DN,
        2023,
        PUBLIC,
    ),
    (
        "DN.2023.0101",
        "Quyết định",
        "101/QĐ-SGDĐT",
        "Quyết định công nhận học sinh giỏi cấp thành phố năm học 2022 - 2023",
        "Sở Giáo dục và Đào tạo thành phố Đà Nẵng",
        DN,
        2023,
        PUBLIC,
    ),
    (
        "DN.2023.0102",
        "Kế hoạch",
        "102/KH-SGDĐT",
        "Kế hoạch tuyển sinh vào lớp 10 năm học 2023 - 2024",
        "Sở Giáo dục và Đào tạo thành phố Đà Nẵng",
        DN,
        2023,
        PUBLIC,
    ),
    (
        "DN.2022.0055",
        "Báo cáo",
        "55/BC-SGDĐT",
        "Báo cáo tổng kết năm học 2021 - 2022 và phương hướng nhiệm vụ năm học 2022 - 2023",
        "Sở Giáo dục và Đào tạo thành phố Đà Nẵng",
        DN,
        2022,
        PUBLIC,
    ),
    (
        "BNV.2019.0015",
        "Quyết định",
        "15/QĐ-BNV",
        "Quyết định về việc tuyển dụng công chức năm 2019",
        "Bộ Nội vụ",
        BNV,
        2019,
        PUBLIC,
    ),
    (
        "BNV.2019.0016",
        "Quyết định",
        "16/QĐ-BNV",
        "Quyết định về việc nâng bậc lương thường xuyên đối với công chức",
        "Bộ Nội vụ",
        BNV,
        2019,
        PUBLIC,
    ),
    (
        "BNV.2019.0150",
        "Quyết định",
        "150/QĐ-BNV",
        "Quyết định về việc khen thưởng tập thể có thành tích xuất sắc",
        "Bộ Nội vụ",
        BNV,
        2019,
        PUBLIC,
    ),
    ("BNV.2020.0030", "Nghị định", "30/2020/NĐ-CP", "Nghị định về công tác văn thư", "Chính phủ", BNV, 2020, PUBLIC),
    (
        "BNV.2019.0002",
        "Thông tư",
        "02/2019/TT-BNV",
        "Thông tư quy định tiêu chuẩn dữ liệu thông tin đầu vào và yêu cầu bảo quản tài liệu lưu trữ điện tử",
        "Bộ Nội vụ",
        BNV,
        2019,
        PUBLIC,
    ),
    (
        "BNV.2019.0001",
        "Thông tư",
        "01/2019/TT-BNV",
        "Thông tư quy định quy trình trao đổi, lưu trữ, xử lý tài liệu điện tử trong công tác văn thư",
        "Bộ Nội vụ",
        BNV,
        2019,
        PUBLIC,
    ),
    (
        "BNV.2025.0005",
        "Thông tư",
        "05/2025/TT-BNV",
        "Thông tư quy định về nghiệp vụ lưu trữ tài liệu điện tử",
        "Bộ Nội vụ",
        BNV,
        2025,
        PUBLIC,
    ),
    (
        "BNV.2021.0210",
        "Tờ trình",
        "210/TTr-BNV",
        "Tờ trình về dự án Luật Lưu trữ (sửa đổi)",
        "Bộ Nội vụ",
        BNV,
        2021,
        PUBLIC,
    ),
    (
        "BNV.2021.0211",
        "Công văn",
        "211/BNV-VTLTNN",
        "V/v hướng dẫn số hóa tài liệu lưu trữ",
        "Bộ Nội vụ",
        BNV,
        2021,
        PUBLIC,
    ),
    (
        "BNV.2021.0212",
        "Công văn",
        "212/BNV-VTLTNN",
        "V/v hướng dẫn chỉnh lý tài liệu giấy tồn đọng",
        "Bộ Nội vụ",
        BNV,
        2021,
        PUBLIC,
    ),
    (
        "BNV.2022.0300",
        "Quyết định",
        "300/QĐ-BNV",
        "Quyết định về việc kỷ luật cán bộ vi phạm",
        "Bộ Nội vụ",
        BNV,
        2022,
        RESTRICTED,
    ),
    (
        "BNV.2022.0301",
        "Báo cáo",
        "301/BC-BNV",
        "Báo cáo kết quả thanh tra công vụ năm 2022",
        "Bộ Nội vụ",
        BNV,
        2022,
        RESTRICTED,
    ),
    (
        "BNV.2023.0044",
        "Hướng dẫn",
        "44/HD-BNV",
        "Hướng dẫn sử dụng phần lịch cá nhân và phê duyệt lịch họp",
        "Văn phòng Bộ Nội vụ",
        BNV,
        2023,
        PUBLIC,
    ),
    (
        "BNV.2023.0045",
        "Hướng dẫn",
        "45/HD-BNV",
        "Hướng dẫn cài đặt và sử dụng VPN để kết nối mạng nội bộ",
        "Văn phòng Bộ Nội vụ",
        BNV,
        2023,
        PUBLIC,
    ),
    (
        "BNV.2023.0046",
        "Hướng dẫn",
        "46/HD-BNV",
        "Hướng dẫn văn thư ban hành văn bản trên hệ thống quản lý văn bản",
        "Văn phòng Bộ Nội vụ",
        BNV,
        2023,
        PUBLIC,
    ),
    (
        "QN.2018.0777",
        "Quyết định",
        "777/QĐ-UBND",
        "Quyết định thành lập Hội đồng thẩm định giá đất",
        "UBND tỉnh Quảng Ngãi",
        QN,
        2018,
        PUBLIC,
    ),
    (
        "QN.2018.0778",
        "Quyết định",
        "778/QĐ-UBND",
        "Quyết định phê duyệt giá đất cụ thể để bồi thường giải phóng mặt bằng",
        "UBND tỉnh Quảng Ngãi",
        QN,
        2018,
        PUBLIC,
    ),
    (
        "QN.2020.1234",
        "Công văn",
        "1234/UBND-KT",
        "V/v hỗ trợ người dân bị ảnh hưởng bởi đại dịch COVID-19",
        "UBND tỉnh Quảng Ngãi",
        QN,
        2020,
        PUBLIC,
    ),
    (
        "QN.2020.1235",
        "Kế hoạch",
        "1235/KH-UBND",
        "Kế hoạch phòng, chống dịch COVID-19 trên địa bàn tỉnh",
        "UBND tỉnh Quảng Ngãi",
        QN,
        2020,
        PUBLIC,
    ),
    (
        "DN.2020.0066",
        "Thông báo",
        "66/TB-SGDĐT",
        "Thông báo cho học sinh nghỉ học để phòng, chống dịch COVID-19",
        "Sở Giáo dục và Đào tạo thành phố Đà Nẵng",
        DN,
        2020,
        PUBLIC,
    ),
    ("VH.1970.0001", "Tác phẩm", "", "Áo lụa Hà Đông (thơ Nguyên Sa), bản số hóa", "Thư viện", BNV, 1970, PUBLIC),
]

# Full texts taken from the corpus at run time: record code -> corpus PDF
_FULL_TEXT = {
    "QN.2024.0507": "vietnamese/vbhc__vht507.signed_20250510_124909.pdf",
    "QN.2025.0012": "vietnamese/vbhc__bnt_BTTTT_Gop_y_du_thao_VTCI.signed_20250510_124909.pdf",
    "BNV.2023.0044": "vietnamese/vpcp__HDSD_LICH_HOP.pdf",
    "BNV.2023.0045": "vietnamese/truclienthong__GUIDE_INSTALL_OPENVPN.SIGNED.pdf",
    "VH.1970.0001": "vietnamese/vietocr3__vietsample1.pdf",
}

_DOSSIERS = [
    ("000.00.00.G09.000.00.00.G09.2019.01.TCCB", "Hồ sơ về việc tuyển dụng công chức năm 2019", BNV, 2019),
    ("000.00.00.H49.000.00.00.H49.2025.03.VP", "Hồ sơ chuyển đổi số tỉnh Quảng Ngãi năm 2025", QN, 2025),
    ("000.00.00.H17.000.00.00.H17.2020.05.GD", "Hồ sơ phòng, chống dịch COVID-19 trong trường học", DN, 2020),
    ("000.00.00.G09.000.00.00.G09.2021.02.VTLT", "Hồ sơ hướng dẫn nghiệp vụ văn thư, lưu trữ năm 2021", BNV, 2021),
]


def collection() -> list[IndexedRecord]:
    records = []
    for code, kind_name, notation, title, organ, fonds, year, regime in _DOCUMENTS:
        text_file = _FULL_TEXT.get(code)
        records.append(
            IndexedRecord(
                kind=RecordKind.DOCUMENT,
                code=code,
                title=title,
                dossier_code="",
                fonds=fonds,
                year=year,
                doc_type=kind_name,
                organ=organ,
                retention="Vĩnh viễn",
                access_regime=regime,
                number_notation=notation,
                subject=title,
                keywords="",
                full_text=extract_text(CORPUS / text_file) if text_file else "",
            )
        )
    for code, title, fonds, year in _DOSSIERS:
        records.append(
            IndexedRecord(
                kind=RecordKind.DOSSIER,
                code=code,
                title=title,
                dossier_code=code,
                fonds=fonds,
                year=year,
                retention="Vĩnh viễn",
                access_regime=PUBLIC,
            )
        )
    return records


def corpus_available() -> bool:
    return all((CORPUS / path).is_file() for path in _FULL_TEXT.values())
