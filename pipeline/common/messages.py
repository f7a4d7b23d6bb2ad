"""Every reason a clerk reads, in Chinese (the clerk's language) or English: the one place they are worded.

A page's or a file's reason (:class:`~pipeline.common.reasons.PageReason`) becomes a sentence that says what
happened and what to do; a row's reason (:class:`~pipeline.common.reasons.RowWhy`) a short phrase; an
outcome its name. ``{name}`` holes are filled from the reason's detail.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pipeline.common.reasons import BoxSeen, PageReason, Refusal, RowWhy, Why

Lang = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = ("zh", "en")

RESCAN_FLAT = ("请把纸压平后重新扫描", "rescan it flat")
RESCAN_WHOLE = (
    "请重新扫描，整张纸（含四角）都要在图内",
    "rescan it with the whole sheet, corners included, in the image",
)
BY_HAND = ("扫描不出来就在复核页人工录入", "if a rescan does not help, count it by hand on the review page")

PAGE_TEXT: dict[Why, tuple[str, str]] = {
    Why.FILE_UNOPENABLE: ("文件打不开：{error}", "cannot open the file: {error}"),
    Why.FILE_EMPTY: ("文件是空的（0 字节）", "the file is empty (0 bytes)"),
    Why.NOT_A_SCAN: (
        "不是扫描件：既不是 PDF 也不是图片（JPEG、PNG、TIFF、HEIC）",
        "not a scan: the file is neither a PDF nor an image (JPEG, PNG, TIFF, HEIC)",
    ),
    Why.IMAGE_TOO_LARGE: (
        "图像像素数超过任何一页扫描件（{width}×{height}），未读取",
        "the image claims more pixels than any scanned page ({width}×{height}); not decoded",
    ),
    Why.IMAGE_DAMAGED: ("图像文件已损坏：{error}", "the image file is damaged: {error}"),
    Why.ANIMATED_IMAGE: (
        "动图不是扫描件；请把各页导出为 PDF 或 TIFF",
        "an animated image is not a scan; export the pages as PDF or TIFF",
    ),
    Why.PDF_ENCRYPTED: (
        "PDF 有密码保护；请另存一份无密码的再扫描",
        "the PDF is password-protected; save an unprotected copy and scan that",
    ),
    Why.PDF_NO_PAGES: ("PDF 里没有页面", "the PDF has no pages"),
    Why.PDF_DAMAGED: ("PDF 已损坏或不完整（{error}）", "the PDF is damaged or truncated ({error})"),
    Why.LINK_BROKEN: ("链接指向不存在的文件（或指向自己）", "a link that points nowhere (or to itself)"),
    Why.NO_SUCH_FILE: ("没有这个文件", "no such file"),
    Why.NOT_A_FILE: ("不是普通文件", "not a regular file"),
    Why.PAGE_TOO_LARGE: ("这一页太大，无法解码", "the page is too large to decode"),
    Why.IMAGE_TRUNCATED: (
        "图像文件不完整（扫描被中断）；请重新扫描",
        "the image file is truncated (the scan was cut short); rescan it",
    ),
    Why.IMAGE_UNDECODABLE: ("图像无法解码（文件损坏）", "the image cannot be decoded (damaged file)"),
    Why.PAGE_UNDECODABLE: ("第 {page} 页无法解码：{error}", "page {page} cannot be decoded: {error}"),
    Why.PDF_UNOPENABLE: ("PDF 打不开：{error}", "the PDF cannot be opened: {error}"),
    Why.PDF_PAGE_DAMAGED: ("PDF 第 {page} 页已损坏：{error}", "page {page} of the PDF is damaged: {error}"),
    Why.INTERNAL_ERROR: (
        "读取这一页时程序出错（{error}）；请报告，并人工录入这张票",
        "internal error while reading this page ({error}); please report it, and count the sheet by hand",
    ),
    Why.BLANK: ("空白页（如双面扫描的背面）", "blank page (e.g. the back of a duplex scan)"),
    Why.NO_CODE: (
        "找不到测评票二维码：不是测评票，或二维码被遮住、裁掉、太模糊",
        "no ballot QR code found: not a ballot, or the code is covered, cut off or too blurred",
    ),
    Why.TWO_BALLOTS: (
        "两张票叠在一起扫描（票号 {serials}）；请一张一张重新扫描",
        "two ballots on one image (serials {serials}): sheets fed together? rescan them one at a time",
    ),
    Why.CODE_DAMAGED: ("二维码损坏，或来自更新版本的程序", "the QR code is damaged or from a newer program version"),
    Why.CODE_NOT_OURS: ("二维码不是本程序印制的测评票的", "the QR code is not from a ballot printed by this program"),
    Why.CODE_VERSION: (
        "二维码格式版本为 {version}，本程序只读版本 1",
        "the QR code has format version {version}, this program reads version 1",
    ),
    Why.TEMPLATE_UNKNOWN: (
        "模板 {template}（{short_hash}）从未用本数据库印制过",
        "template {template} ({short_hash}) was never printed with this database",
    ),
    Why.OTHER_SESSION: ("这是 {session} 的测评票，不是 {expected} 的", "ballot of session {session}, not {expected}"),
    Why.RESOLUTION: (
        "扫描分辨率约为 {dpi} dpi；请用 150–600 dpi 扫描",
        "the scan resolution looks like {dpi} dpi; scan at 150–600 dpi",
    ),
    Why.MARKS_MISSING: (
        "4 个定位标记只找到 {found} 个（页角被裁掉、折叠或撕破？）；{rescan_whole}",
        "only {found} of 4 registration marks found (a corner cut off, folded or torn?); {rescan_whole}",
    ),
    Why.MARKS_MISFIT: (
        "找到的定位标记拼不成一页纸；{rescan_flat}",
        "the registration marks found do not fit one page; {rescan_flat}",
    ),
    Why.MIRRORED: ("页面是镜像的（透过纸背扫描？）", "the page appears mirrored (scanned through the paper?)"),
    Why.QR_DISAGREES: (
        "定位标记与二维码相差 {mm} mm（纸张有折痕、卷曲，或标记认错）；{rescan_flat}",
        "registration marks and QR code disagree by {mm} mm (page creased, curled or a mark misdetected); "
        "{rescan_flat}",
    ),
    Why.SKEWED: (
        "页面变形（斜切 {degrees}°）；{rescan_flat}",
        "the page is distorted (skew {degrees}°); {rescan_flat}",
    ),
    Why.STRETCHED: (
        "页面被拉伸（宽高相差 {percent}%）；{rescan_flat}",
        "the page is stretched ({percent} % between width and height); {rescan_flat}",
    ),
    Why.CUT_OFF: (
        "测评票有一部分在扫描图像之外（页面被裁掉）；{rescan_whole}",
        "part of the ballot is outside the scanned image (page cut off); {rescan_whole}",
    ),
    Why.BORDERS_MISSING: (
        "在定位标记指示的位置只找到 {found}/{total} 个方框（纸张折叠、卷曲或太模糊）；{rescan_flat}",
        "only {found} of {total} printed boxes found where the registration marks put them (page folded, curled "
        "or badly blurred); {rescan_flat}",
    ),
    Why.BORDERS_OFF_PLANE: (
        "方框不在同一平面上（纸张折叠？）；{rescan_flat}",
        "the printed boxes do not line up on one plane (page folded?); {rescan_flat}",
    ),
    Why.BORDERS_DISAGREE: (
        "{total} 个方框中只有 {agree} 个对得齐（纸张折叠或卷曲）；{rescan_flat}",
        "only {agree} of {total} printed boxes line up (page folded or curled); {rescan_flat}",
    ),
    Why.CURLED: (
        "方框偏离平整纸面达 {mm} mm（纸张卷曲或有折痕）；{rescan_flat}",
        "the printed boxes are up to {mm} mm off any flat page (page curled or creased); {rescan_flat}",
    ),
    Why.FOREIGN_RULES: (
        "页面上有不属于本票的表格线（横 {horizontal}、竖 {vertical}）：两张票叠在一起扫描，或纸张弯曲严重？"
        "请一张一张压平重新扫描",
        "ruled lines this ballot does not have ({horizontal} horizontal, {vertical} vertical): two sheets on one "
        "image (fed together?), or a badly curled sheet; rescan them one at a time, flat",
    ),
    Why.FORM_NOT_FOUND: (
        "这一页上没有已登记的表格（{failures}）",
        "no configured form found on this page ({failures})",
    ),
    Why.FORM_TABLE_MISSING: (
        "{form}：没找到它的表格（另一种表格，或表格被裁掉）",
        "{form}: its table was not found (another form, or the table is cut off)",
    ),
    Why.FORM_CROSSINGS: (
        "{form}：表格线交点只找到 {found}/{expected} 个（线太淡或被裁掉？）",
        "{form}: only {found} of {expected} rule crossings found (lines faint or cut off?)",
    ),
    Why.FORM_NOT_FLAT: (
        "{form}：表格线不在同一平面上（折叠或卷曲？）；{rescan_flat}",
        "{form}: the table's lines do not lie on one flat page (folded or curled?); {rescan_flat}",
    ),
    Why.FORM_CURLED: (
        "{form}：表格线偏离平整纸面达 {mm} mm；{rescan_flat}",
        "{form}: the table's lines are up to {mm} mm off a flat page; {rescan_flat}",
    ),
    Why.FORM_AMBIGUOUS: (
        "分不清是哪种表格（{forms} 都对得上；标题读作 {title}）",
        "cannot tell which form this is ({forms} fit; title read as {title})",
    ),
    Why.FORM_DISTORTED: (
        "页面变形（斜切 {degrees}°，拉伸 {percent}%）；{rescan_flat}",
        "the page is distorted (skew {degrees}°, stretch {percent} %); {rescan_flat}",
    ),
    Why.FORM_BY_TABLE: ("表格 {form}：表格线逐条对上{only}", "form {form}: its table matches rule for rule{only}"),
    Why.FORM_BY_TITLE: (
        "表格 {form}：标题读作 {title}（相似 {percent}%）",
        "form {form}: title read as {title} ({percent} % alike)",
    ),
    Why.SERIAL_FROM_TEXT: (
        "二维码无法识别：按定位标记找到此票，票号按印刷文字读作 {readings}{taken}",
        "the code could not be read: the sheet was found by its marks, its serial read from the print as "
        "{readings}{taken}",
    ),
    Why.SERIAL_TEXT_UNKNOWN: (
        "二维码无法识别，印刷的票号读作 {readings}，与 {session} 发出的票号都对不上；请核对纸质票上的票号，"
        "输入后计入（读出了各行的，对照纸质票核对读数）",
        "the code could not be read and the serial read from the print ({readings}) matches no serial issued for "
        "{session}; check the serial on the paper ballot and type it to count the ballot (where its rows were read, "
        "check them against the paper)",
    ),
    Why.SERIAL_UNREADABLE: (
        "按定位标记找到了测评票，但二维码和票号都看不清；请按纸质票手工计入（票号印在二维码下方）",
        "the ballot was found by its marks, but neither its code nor its serial can be read; count it by hand "
        "from the paper (the serial is printed under the code)",
    ),
    Why.SERIAL_TO_TYPE: (
        "二维码和票号都看不清，但按定位标记找到了测评票并读出了各行：请对照纸质票核对读数，"
        "输入二维码下方印的票号后计入",
        "neither the code nor the serial can be read, but the ballot was found by its marks and its rows were read: "
        "check them against the paper ballot and type the serial printed under the code to count it",
    ),
    Why.CODE_TOO_SMALL: (
        "按定位标记找到了测评票，但二维码在照片里太小（约 {dpi} dpi），看不清；"
        "请靠近、正对票面重拍，或按纸质票手工计入",
        "the ballot was found by its marks, but its code is too small in the photo (about {dpi} dpi) to read; "
        "photograph it again from closer and from straight above, or count it by hand from the paper",
    ),
    Why.SHEET_TOO_SMALL: (
        "照片里的票太小（约 {dpi} dpi），二维码和定位标记都看不清；请靠近重拍，让整张票占满画面",
        "the sheet is too small in the photo (about {dpi} dpi) for its code or marks to show; photograph it "
        "again from closer, the whole sheet filling the frame",
    ),
    Why.FORM_PLACES_MISSING: (
        "{form}：印好的答题框只找到 {found}/{expected} 个（另一种表格，或被裁掉？）",
        "{form}: only {found} of {expected} printed answer boxes found (another form, or cut off?)",
    ),
    Why.FORM_PLACES_FOREIGN: (
        "{form}：页面上有 {extra} 个它没有的答题框（另一种表格）",
        "{form}: {extra} answer boxes on the page that it does not have (another form)",
    ),
    Why.FORM_BY_PLACES: (
        "表格 {form}：印好的答题框对上 {found}/{expected} 个{only}",
        "form {form}: {found} of its {expected} printed answer boxes match{only}",
    ),
    Why.FORM_BY_CODE: ("表格 {form}：由其印的码认出（{text}）", "form {form}: told by the code it prints ({text})"),
    Why.DUPLICATE_IMAGE: (
        "同一图像已从 {path} 第 {page} 页计入；不再计入",
        "the same image was already counted from {path} page {page}; not counted",
    ),
    Why.UNKNOWN_SERIAL: (
        "票号 {serial} 从未在 {session} 发出（外来的票？）",
        "serial {serial} was never issued for {session} (a foreign ballot?)",
    ),
    Why.DUPLICATE_SERIAL: (
        "票号 {serial} 已从 {path} 第 {page} 页计入（{how}）；不再计入",
        "serial {serial} was already counted from {path} page {page} ({how}); not counted",
    ),
    Why.LEGACY: ("{text}", "{text}"),
}

#: Words a reason's detail refers to rather than carries.
SHARED_TEXT: dict[str, tuple[str, str]] = {
    "rescan_flat": RESCAN_FLAT,
    "rescan_whole": RESCAN_WHOLE,
    "by_hand": BY_HAND,
    "same_image": ("同一图像又扫了一次", "the same image scanned again"),
    "other_image": ("另一个图像：复印件或重扫", "a different image: a photocopy or a rescan"),
    "forms_only_one": ("（{forms} 种表格中唯一对上的）", " (of {forms} forms, the only one)"),
    "nothing": ("空白", "nothing"),
    "taken_for": ("，即已发出的票号 {issued}", ", the issued serial {issued}"),
}

ROW_TEXT: dict[RowWhy, tuple[str, str]] = {
    RowWhy.MARGINAL: ("标记不清（淡、小或擦除痕迹）", "marginal mark"),
    RowWhy.CORRECTION: ("多选，其中一格可能是涂改", "overvote that may be a correction"),
    RowWhy.FAINT: (
        "记号很淡：比本票其他记号淡得多，或淡得算不上记号（笔没水、很轻的铅笔或擦除痕迹）",
        "a very faint mark: far fainter than the sheet's others, or too faint to count (a dry pen, light pencil, "
        "an eraser's trace)",
    ),
    RowWhy.OUTSIDE: ("标记在方框外", "mark outside the box"),
    RowWhy.LEG: (
        "框内笔迹可能是下一行对勾伸上来的长笔画",
        "the ink in the box may be the long leg of a tick in the row below",
    ),
    RowWhy.SCRIBBLED: (
        "唯一的记号周围还有大片笔迹，可能已被涂掉",
        "the row's one mark has a mass of ink around it: it may have been crossed out",
    ),
    RowWhy.ALIGNMENT: ("定位质量低", "low alignment quality"),
    RowWhy.LINE: ("有直线穿过方框（扫描条纹或折痕）", "a line runs through a box (scanner streak or fold)"),
    RowWhy.UNEQUAL: ("多选，但标记大小悬殊（可能是污点）", "two marks of very different size (a speck?)"),
    RowWhy.CIRCLE: ("画圈的方框之外另有标记", "a box is circled and the row has another mark"),
    RowWhy.EDGE: ("方框边线上有笔迹（紧贴方框画的圈？）", "ink along a box's border (a ring drawn tight round it?)"),
    RowWhy.NOISY: ("图像噪点多，较淡的标记可能看不出，请核对原票", "too noisy to show a light mark: check the paper"),
    RowWhy.DROPPED: (
        "黑白扫描（传真）可能丢掉了浅色笔迹（本票其他记号断断续续，或太少看不出），请核对原票",
        "a black-and-white scan may have dropped a light mark (the sheet's others came through broken, or are too "
        "few to tell): check the paper",
    ),
}

OUTCOME_TEXT: dict[str, tuple[str, str]] = {
    "read": ("已读取", "read"),
    "blank": ("空白页", "blank"),
    "unreadable": ("无法读取", "unreadable"),
    "wrong_session": ("其他轮次的票", "other session"),
    "wrong_template": ("未知模板", "unknown template"),
    "unknown_serial": ("票号未发出", "serial never issued"),
    "duplicate": ("重复（复印或重扫）", "duplicate (copy or rescan)"),
    "unreadable_file": ("文件打不开", "file cannot be opened"),
}


#: A row's reading as a clerk names it (an option is named by itself).
READING_TEXT: dict[str, tuple[str, str]] = {
    "blank": ("弃权", "abstain"),
    "void": ("无效", "invalid"),
    "overvote": ("多选", "overvote"),
    "pending": ("存疑", "doubtful"),
    "hand": ("人工录入", "entered by hand"),
}

#: A clerk's decision about a whole page.
PAGE_DECISION_TEXT: dict[str, tuple[str, str]] = {
    "void": ("作废", "void"),
    "count": ("人工录入", "counted by hand"),
    "not_ballot": ("不是测评票", "not a ballot"),
    "not_counted": ("确认不计入", "confirmed: not counted"),
}

#: Why no final report may be written yet (the round's void reasons are the workbook's own words).
BLOCKER_TEXT: dict[str, tuple[str, str]] = {
    "void": ("{session} 测评无效：{reason}", "{session}: the round is void: {reason}"),
    "pending": ("{session} 尚有 {count} 行待复核", "{session}: {count} rows await review"),
    "unsettled": (
        "{session} 尚有 {count} 页未计入的扫描页待处理（复核页“未计入的页”）",
        "{session}: {count} pages the machine did not count are not settled (review page, Rejected pages)",
    ),
}

#: Why counting rules cannot count some options a template prints (:class:`pipeline.counting.scale.ScaleProblem`).
SCALE_TEXT: dict[str, tuple[str, str]] = {
    "no_preset": ("不在任何预设量表中", "they are in no preset scale"),
    "mixed": ("不属于同一个预设量表", "they do not all belong to one preset scale"),
    "not_in_preset": ("不在预设量表 {scale} 中", "they are not in the preset scale {scale}"),
    "where": ("模板 {template} 的", "template {template}'s "),
    "problem": (
        "计票规则「{rules}」不能计{where}选项 {options}（{why}）。请在计票规则文件的 options 中为每个这样的选项"
        "写明 counts_as（满意 / 基本满意 / 不满意 / 不了解）及 weight，或用 scale 选一个预设（{presets}），"
        "再用 --rules 指定该文件",
        "the counting rules {rules!r} cannot count {where}options {options} ({why}). In the rules file's options, "
        "give each such option its counts_as (满意 / 基本满意 / 不满意 / 不了解) and weight, or choose a preset with "
        "scale ({presets}); then pass the file with --rules",
    ),
}

#: What the machine saw in a box of a row it asks about.
BOX_SEEN_TEXT: dict[BoxSeen, tuple[str, str]] = {
    BoxSeen.EMPTY: ("空白", "empty"),
    BoxSeen.CLEAR: ("清楚的笔迹", "a clear mark"),
    BoxSeen.FAINT: ("很淡的笔迹：轻轻打的勾，或擦掉后的痕迹", "a faint mark: a light tick, or what an eraser left"),
    BoxSeen.SMALL: ("小而深的笔迹（点或短划）", "a small dark mark (a dot or a short stroke)"),
    BoxSeen.SPECKS: ("零散的小点（污点？）", "scattered specks (dirt?)"),
    BoxSeen.RING: ("方框外画了圈", "a ring drawn round the box"),
    BoxSeen.LINE: ("一条直线穿过方框（扫描条纹或折痕？）", "a straight line through the box (streak or fold?)"),
    BoxSeen.OUTSIDE: ("笔迹在方框外", "ink beside the box"),
    BoxSeen.BORDER: ("笔迹沿着方框边线", "ink along the box's border"),
    BoxSeen.TAPED: ("方框上贴了修正带（改过的笔迹？）", "correction tape over the box (a mark taken back?)"),
}

#: Why a clerk's decision was not recorded.
REFUSAL_TEXT: dict[Refusal, tuple[str, str]] = {
    Refusal.NO_ROW: ("第 {page} 页没有“{unit}”这一行", "page {page} has no row {unit}"),
    Refusal.NO_PAGE: ("没有第 {page} 页", "there is no page {page}"),
    Refusal.NO_OPTION: ("“{unit}”没有“{choice}”这个选项", "{unit} has no option {choice}"),
    Refusal.NOT_FLAGGED: (
        "“{unit}”是机器确定读出的行：要改，请在整页视图中更正",
        "the machine read {unit} without doubt: change it as a correction from the whole-sheet view",
    ),
    Refusal.NOTHING_TO_UNDO: ("没有可撤销的决定", "nothing to undo"),
    Refusal.BAD_SERIAL: (
        "票号“{serial}”格式不对（10 位字母和数字，如 K7QX-M2PD-5Z）",
        "{serial} is not a serial (10 letters and digits, e.g. K7QX-M2PD-5Z)",
    ),
    Refusal.OTHER_SERIAL: ("此页的票号是 {serial}", "this page's serial is {serial}"),
    Refusal.ONLY_READ_VOID: ("只有已读出的测评票可以作废", "only a read ballot can be voided"),
    Refusal.NOT_REJECTED: (
        "此页已计入（{outcome}），不需要处理",
        "this page is counted ({outcome}): nothing to settle",
    ),
    Refusal.ONLY_UNREADABLE_COUNTED: (
        "只有无法读取的页可以人工录入（此页：{outcome}）",
        "only an unreadable page can be counted by hand (this one: {outcome})",
    ),
    Refusal.TEMPLATE_UNKNOWN: ("不知道此页用的模板", "the template of this page is not known"),
    Refusal.NO_ROWS_ENTERED: ("没有录入任何行", "no row entered"),
    Refusal.SERIAL_NEEDED: (
        "请填写票号（二维码下方的编号）；确实看不清，请勾选“票号看不清”并确认这是本轮的测评票",
        "give the serial (printed under the QR code); if it cannot be read, tick 'serial illegible' and confirm "
        "this is a ballot of this round",
    ),
    Refusal.SERIAL_NOT_ISSUED: ("票号 {serial} 未在 {session} 发出", "serial {serial} was never issued for {session}"),
    Refusal.SERIAL_COUNTED: (
        "票号 {serial} 已计入（第 {page} 页）",
        "serial {serial} is already counted (page {page})",
    ),
    Refusal.ROWS_MALFORMED: ("录入的行格式不对", "the rows entered are malformed"),
    Refusal.ROW_UNKNOWN: ("模板上没有“{unit}”这一行，或录入了两次", "{unit} is not on the template, or entered twice"),
    Refusal.ROW_READING_UNKNOWN: ("“{unit}”：未知的读数 {kind}", "{unit}: unknown reading {kind}"),
    Refusal.ROWS_MISSING: ("缺少：{units}", "missing rows: {units}"),
    Refusal.NO_IMAGE: ("第 {page} 页没有保存图像", "no image is kept for page {page}"),
}


def page_reason(reason: PageReason, lang: Lang = "zh") -> str:
    """The clerk's sentence for ``reason``."""
    detail = dict(reason.detail)
    if reason.code in (Why.FORM_BY_TABLE, Why.FORM_BY_PLACES):  # "the only one" of several configured forms
        forms = int(detail.get("forms", 1))
        detail["only"] = _fill(SHARED_TEXT["forms_only_one"][_index(lang)], {"forms": forms}, lang) if forms > 1 else ""
    if reason.code == Why.SERIAL_FROM_TEXT:  # the issued serial a misread one was taken for, if it was
        issued = detail.get("issued")
        detail["taken"] = _fill(SHARED_TEXT["taken_for"][_index(lang)], {"issued": issued}, lang) if issued else ""
    return _fill(PAGE_TEXT[reason.code][_index(lang)], detail, lang)


def reading_name(reading: str, choice: str | None = None, lang: Lang = "zh") -> str:
    """A row's reading as a clerk names it: the option chosen, 弃权, 无效, 多选, 存疑."""
    if reading == "choice" and choice:
        return choice
    pair = READING_TEXT.get(reading)
    return pair[_index(lang)] if pair else reading


def skipped_file(other: str, earlier: bool, lang: Lang = "zh") -> str:
    """Why a file of a batch is not read: the same content as ``other``, scanned before or in this batch."""
    if lang == "zh":
        return f"已作为 {other} 扫描过" if earlier else f"与本批的 {other} 内容相同"
    return f"already scanned as {other}" if earlier else f"identical to {other} in this batch"


def undo_of(undone: str, lang: Lang = "zh") -> str:
    """An undo as the review log shows it, naming the decision it takes back (already in words)."""
    return f"撤销此前的决定（{undone}）" if lang == "zh" else f"takes back the decision before ({undone})"


def correction_of(reading: str, lang: Lang = "zh") -> str:
    """A correction of a row the machine read without doubt, as the review log shows it (reading in words)."""
    return f"更正为 {reading}" if lang == "zh" else f"corrected to {reading}"


def doubtful(reason: RowWhy | str, lang: Lang = "zh") -> str:
    """A row the machine asked about, as the review log's 机器读数 shows it: 存疑：<reason>."""
    said = row_reason(reason, lang)
    name = READING_TEXT["pending"][_index(lang)]
    if not said:
        return name
    return f"{name}：{said}" if lang == "zh" else f"{name}: {said}"


def blocker(code: str, lang: Lang = "zh", **detail: Any) -> str:
    """One reason why no final report may be written yet."""
    return _fill(BLOCKER_TEXT[code][_index(lang)], detail, lang)


def scale_problem(
    why: str, options: Sequence[str], rules: str, presets: Sequence[str], lang: Lang = "zh", **detail: Any
) -> str:
    """Why the rules named ``rules`` cannot count ``options`` (``why``: a key of SCALE_TEXT; ``detail``: the
    preset ``scale`` it names, the ``template`` id when known) and what to write in the rules instead."""
    where = SCALE_TEXT["where"][_index(lang)].format(**detail) if detail.get("template") else ""
    return SCALE_TEXT["problem"][_index(lang)].format(
        rules=rules,
        where=where,
        options=("、" if lang == "zh" else ", ").join(options),
        why=SCALE_TEXT[why][_index(lang)].format(**detail),
        presets=" / ".join(presets),
    )


def box_seen(seen: BoxSeen | str, lang: Lang = "zh") -> str:
    """What the machine saw in a box, in words."""
    try:
        return BOX_SEEN_TEXT[BoxSeen(seen)][_index(lang)]
    except ValueError:
        return str(seen)


def refusal(code: Refusal, detail: Mapping[str, Any], lang: Lang = "zh") -> str:
    """Why a decision was not recorded, in the clerk's words."""
    values = dict(detail)
    if "outcome" in values:
        values["outcome"] = outcome_name(str(values["outcome"]), lang)
    if isinstance(values.get("units"), list | tuple):
        values["units"] = ("、" if lang == "zh" else ", ").join(str(unit) for unit in values["units"])
    return _fill(REFUSAL_TEXT[code][_index(lang)], values, lang)


def page_decision(decision: str, note: str = "", lang: Lang = "zh") -> str:
    """A clerk's page decision as the export and the log show it: "复核：作废（署名）"."""
    label = PAGE_DECISION_TEXT[decision][_index(lang)]
    if lang == "zh":
        return f"复核：{label}" + (f"（{note}）" if note else "")
    return f"review: {label}" + (f" ({note})" if note else "")


def page_decision_name(decision: str, note: str = "", lang: Lang = "zh") -> str:
    """A clerk's page decision with its note, as the sheet of pages not counted shows it: "作废（署名）"."""
    label = PAGE_DECISION_TEXT[decision][_index(lang)]
    if not note:
        return label
    return f"{label}（{note}）" if lang == "zh" else f"{label} ({note})"


def row_reason(code: RowWhy | str, lang: Lang = "zh") -> str:
    """The clerk's phrase for a row's reason code; '' for none, an unknown code as it is."""
    if not code:
        return ""
    try:
        return ROW_TEXT[RowWhy(code)][_index(lang)]
    except ValueError:
        return str(code)


def outcome_name(outcome: str, lang: Lang = "zh") -> str:
    pair = OUTCOME_TEXT.get(outcome)
    return pair[_index(lang)] if pair else outcome


def _index(lang: Lang) -> int:
    return LANGS.index(lang)


def _fill(text: str, detail: Mapping[str, Any], lang: Lang) -> str:
    values: dict[str, object] = {key: pair[_index(lang)] for key, pair in SHARED_TEXT.items()}
    for key, value in detail.items():
        values[key] = _shown(key, value, lang)
    try:
        return text.format(**values)
    except (KeyError, IndexError):  # a detail missing (a hand-edited store): the words without the holes
        return text


def _shown(key: str, value: Any, lang: Lang) -> object:
    """How one detail value appears in a sentence."""
    if key == "failures" and isinstance(value, list):  # one reason per configured form
        parts = [page_reason(PageReason(Why(item["code"]), item), lang) for item in value if isinstance(item, dict)]
        return "；".join(parts) if lang == "zh" else "; ".join(parts)
    if key == "how":
        return SHARED_TEXT["same_image" if value == "same_image" else "other_image"][_index(lang)]
    if key == "title":
        return repr(value) if value else SHARED_TEXT["nothing"][_index(lang)]
    if key == "serials" and isinstance(value, list):
        return ", ".join(str(serial) for serial in value)
    if key == "forms" and isinstance(value, list):
        return ", ".join(str(form) for form in value)
    if key == "readings" and isinstance(value, list):  # what OCR read on a serial's line, each way it was read
        return "「" + "」「".join(str(text) for text in value) + "」" if lang == "zh" else " / ".join(map(repr, value))
    return value
