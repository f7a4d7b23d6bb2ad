"""The review page's words, Chinese first (the clerk's language), English on request (``--lang en``, ``?lang=en``).

One table for the server-rendered page and for the script (sent as a JSON data block); ``{name}`` holes are
filled by the script. Reasons and outcomes are worded by :mod:`pipeline.common.messages`.
"""

from __future__ import annotations

from pipeline.common.messages import LANGS, Lang, outcome_name, row_reason
from pipeline.common.reasons import OUTCOMES, RowWhy

__all__ = ["LANGS", "STRINGS", "Lang", "pick_lang", "strings"]

STRINGS: dict[str, tuple[str, str]] = {
    "title": ("测评票复核", "Ballot review"),
    "tab_queue": ("待复核行", "Flagged rows"),
    "tab_rejected": ("未计入的页", "Rejected pages"),
    "tab_sheets": ("全部测评票", "All sheets"),
    "progress": ("还剩 {remaining} / {total}", "{remaining} of {total} left"),
    "reviewer": ("复核人", "Reviewer"),
    "language": ("English", "中文"),
    "filter": ("原因", "Reason"),
    "filter_all": ("全部原因", "All reasons"),
    "position": ("第 {n} / {count} 行", "row {n} of {count}"),
    "reason": ("标记原因", "Flagged because"),
    "machine": ("机器读数", "Machine reading"),
    "decision": ("复核结果", "Decision"),
    "no_decision": ("尚未复核", "not decided yet"),
    "by": ("{reviewer}，{time}", "{reviewer}, {time}"),
    "choice": ("选择", "choose"),
    "blank": ("弃权", "Abstain"),
    "void": ("无效", "Invalid"),
    "overvote": ("多选（无效）", "Overvote (invalid)"),
    "pending": ("待定", "Pending"),
    "undo": ("撤销", "Undo"),
    "skip": ("跳过", "skip"),
    "quit": ("退出", "quit"),
    "sheet": ("整页", "Whole sheet"),
    "prev": ("上一行", "Previous"),
    "next": ("下一行", "Next"),
    "fill": ("填涂 {percent}%", "fill {percent}%"),
    "empty": ("没有需要复核的行。", "No row needs review."),
    "conflict": (
        "另一位复核员刚刚处理了此项，现为：{now}。请看清后再决定。",
        "Someone else changed this meanwhile; it is now: {now}. Look again before deciding.",
    ),
    "nothing_to_undo": ("没有可撤销的决定。", "Nothing to undo."),
    "saved": ("已记录：{unit} → {label}", "Recorded: {unit} → {label}"),
    "undone": ("已撤销：{unit}，现为 {label}", "Undone: {unit}, now {label}"),
    "keys_help": (
        "键盘：1/2/3… 选项　0 弃权　X 无效　Z 撤销　S 整页　←/→ 上一行/下一行　R 未计入的页",
        "Keys: 1/2/3… options · 0 abstain · X invalid · Z undo · S whole sheet · ←/→ previous/next · R rejected pages",
    ),
    "sheet_title": ("整页", "Whole sheet"),
    "void_ballot": ("整张作废（有记号）", "Void this ballot (identifying marks)"),
    "void_note": ("作废理由，如：署名", "Why, e.g. signed"),
    "voided": ("已作废", "Voided"),
    "close": ("关闭", "Close"),
    "not_ballot": ("不是测评票", "Not a ballot"),
    "hand_count": ("人工录入…", "Count by hand…"),
    "hand_title": ("人工录入：按所见逐行选择", "Count by hand: choose what each row shows"),
    "check_count": ("核对读数并计入…", "Check and count…"),
    "check_title": (
        "核对机器读数：逐行对照纸质票，输入票号后计入",
        "Check the machine's reading against the paper ballot row by row, type the serial, then count it",
    ),
    "machine_doubt": ("机器存疑：{why}，请按所见选择", "the machine doubted this row ({why}): choose what it shows"),
    "hand_submit": ("计入", "Count it"),
    "hand_serial": (
        "票号（二维码下方的编号，看得清就填，以防同一张票被计两次）：",
        "Serial (printed under the QR code; give it if legible, so the sheet cannot be counted twice): ",
    ),
    "hand_incomplete": ("请为每一行选择一项（或弃权、无效）。", "Choose for every row (or abstain / invalid)."),
    "rotate": ("旋转 180°", "Rotate 180°"),
    "counted": ("已人工录入计入", "Counted by hand"),
    "open": ("待处理", "To settle"),
    "serial": ("票号", "Serial"),
    "page_no": ("第 {n} 页", "page {n}"),
    "no_rejected": ("没有未计入的页。", "No rejected pages."),
    "rejected_left": ("待处理 {n} 页", "{n} to settle"),
    "flagged": ("待复核行", "Flagged rows"),
    "status": ("状态", "Status"),
    "view": ("查看", "View"),
    "counted_sheet": ("计入", "Counted"),
    "error": ("出错了：{message}", "Error: {message}"),
    "loading": ("正在载入…", "Loading…"),
    "no_token": (
        "需要访问令牌：请打开 ballot review 打印出的网址。",
        "Access token required: open the address printed by ballot review.",
    ),
    "forbidden_post": ("请求被拒绝（跨站请求）。", "Request refused (cross-site)."),
    "invalid_request": ("请求格式不对。", "The request is malformed."),
    "offline": (
        "连不上复核服务（ballot review 已停止，或网络断了）；这一步没有记录。",
        "Cannot reach the review server (ballot review stopped, or the network is down); nothing was recorded.",
    ),
    "server_error": ("服务器出错了，这一步没有记录；请再试一次。", "Server error: nothing was recorded; try again."),
    "http_404": ("没有这个地址。", "No such address."),
    "http_405": ("不能这样请求这个地址。", "This address does not take that request."),
    "http_413": ("请求太大。", "The request is too large."),
    "http_other": ("请求没有成功（{code}）。", "The request failed ({code})."),
    "done_pages": (
        "待复核行已全部处理完毕；还有 {n} 个未计入的页待处理（按 R 查看）。",
        "Every flagged row is decided; {n} rejected pages are still to settle (press R).",
    ),
    "empty_pages": (
        "没有需要复核的行；还有 {n} 个未计入的页待处理（按 R 查看）。",
        "No row needs review; {n} rejected pages are still to settle (press R).",
    ),
    "all_done": (
        "待复核行和未计入的页都已处理完毕。",
        "Every flagged row is decided and every rejected page settled.",
    ),
    "paper_faint": (
        "屏幕上分不清轻轻打的勾和擦掉的痕迹：请核对纸质测评票。",
        "On screen a light tick and an erased one look alike: check the paper ballot.",
    ),
    "paper_taped": (
        "方框上贴了修正带：屏幕上看不见带下的笔迹，请核对纸质测评票（对着光看）。",
        "Correction tape over a box: what lies under it does not show on screen; hold the paper ballot to the light.",
    ),
    "paper_dropped": (
        "黑白扫描（传真）会丢掉浅色笔迹：请核对纸质测评票。",
        "A black-and-white scan (a fax) drops light ink: check the paper ballot.",
    ),
    "paper_noisy": (
        "图像噪点多，较淡的标记可能看不出：请核对纸质测评票。",
        "The scan is too grainy to show a light mark: check the paper ballot.",
    ),
    "closeup": ("原扫描分辨率，已增强对比", "scan's own resolution, contrast stretched"),
    "not_counted": ("确认不计入", "Not counted"),
    "not_counted_duplicate": ("确认重复，不计入", "Duplicate: not counted"),
    "settled_not_counted": ("已确认不计入", "Confirmed not counted"),
    "serial_illegible": (
        "票号看不清：我已核对，这是本轮的测评票",
        "Serial illegible: I checked that this is a ballot of this round",
    ),
    "rows_title": ("本页各行", "Rows of this sheet"),
    "unit": ("单位", "Unit"),
    "now_reads": ("现读数", "Counts as"),
    "correct": ("更正…", "Correct…"),
    "correction": ("更正", "Correction"),
    "corrected": ("已更正 {n} 行", "{n} corrected"),
    "undo_correction": ("撤销更正", "Undo correction"),
    "cancel": ("取消", "Cancel"),
    "corrected_to": ("更正为 {label}（{by}）", "corrected to {label} ({by})"),
    "rejected_keys": (
        "键盘：↑/↓ 选页　B 不是测评票　D 确认不计入　H 人工录入　V 看整页　Z 撤销　Q 回到待复核行",
        "Keys: ↑/↓ page · B not a ballot · D not counted · H count by hand · V view · Z undo · Q back to rows",
    ),
}


def strings(lang: Lang) -> dict[str, str]:
    """The page's words in ``lang``, with every row reason (``reason_<code>``) and outcome (``outcome_<name>``)."""
    index = LANGS.index(lang)
    table = {key: pair[index] for key, pair in STRINGS.items()}
    table.update({f"reason_{code}": row_reason(code, lang) for code in RowWhy})
    table.update({f"outcome_{outcome}": outcome_name(outcome, lang) for outcome in OUTCOMES})
    return table


def pick_lang(*candidates: str | None) -> Lang:
    """The first candidate that names a supported language, else Chinese."""
    for candidate in candidates:
        if candidate == "zh":
            return "zh"
        if candidate == "en":
            return "en"
    return "zh"
