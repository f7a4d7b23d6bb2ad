"""The command line's words, Chinese first (the clerk's language), English with ``ballot --lang en``: the one
place the commands' errors and summaries are worded (reasons and outcomes: :mod:`pipeline.common.messages`).

``{name}`` holes are filled from the values a command passes. Help texts stay in English beside each option.
"""

from __future__ import annotations

from typing import Any

from pipeline.common.messages import LANGS, Lang

CLI_TEXT: dict[str, tuple[str, str]] = {
    # -- every command ---------------------------------------------------------------------------------------
    "error": ("错误：{message}", "error: {message}"),
    "as_is": ("{message}", "{message}"),  # words a lower room made (a tally's or a tool's own message)
    "db_unwritable": (
        "数据库无法写入（{error}），已经做完的都还在。请检查磁盘空间和文件权限，然后再运行一次。",
        "the database cannot be written ({error}); nothing was lost. Check that the disk has room and the file is "
        "writable, then run the command again.",
    ),
    "store_newer": (
        "{path} 是更新版本的程序写的（数据库版本 {version}），请升级本程序",
        "{path} was written by a newer version of this program (schema {version}); upgrade it",
    ),
    "store_unopenable": ("打不开数据库 {path}：{error}", "cannot open the database {path}: {error}"),
    "store_no_folder": (
        "无法创建数据库所在的文件夹 {path}：{error}",
        "cannot create the database folder for {path}: {error}",
    ),
    "zone_unknown": (
        "不认识时区 {name}（环境变量 BALLOT_TZ）：请写 IANA 时区名，如 Asia/Shanghai",
        "unknown time zone {name} (BALLOT_TZ): give an IANA name such as Asia/Shanghai",
    ),
    "template_invalid": ("模板有误：{source}", "invalid template: {source}"),
    "rules_invalid": ("计票规则有误：{source}", "invalid rules: {source}"),
    "settings_invalid": ("读取设置有误：{source}", "invalid settings: {source}"),
    "session_unknown": ("数据库 {path} 里没有测评轮次 {session}", "session {session} is not in {path}"),
    "rows_pending": ("待复核行：{count}", "rows awaiting review: {count}"),
    # -- scan, rescore, status, contact-sheet ------------------------------------------------------------------
    "form_is_ours": (
        "{path} 是本系统印制的测评票模板，靠二维码识别，不用 --form（--form 用于现有的纸质表格）",
        "{path} is one of our own ballot templates: its sheets are recognised by their QR code; --form is "
        "for existing office forms",
    ),
    "form_conflict": (
        "表格 {form} 在 {session} 中已按另一版本读取（{old}，现在是 {new}）：改过的表格请换一个 id",
        "form {form} was already read in {session} as a different version ({old}, now {new}); give the changed "
        "form a new id",
    ),
    "reading": ("读取", "reading"),
    "scan_totals": ("文件 {files} 个，页 {pages} 页", "files: {files}, pages: {pages}"),
    "outcome_line": ("  {outcome}：{count}", "  {outcome}: {count}"),
    "skipped": ("  跳过 {path}：{why}", "  skipped {path}: {why}"),
    "file_unreadable": ("  无法读取的文件 {path}：{reason}", "  unreadable file {path}: {reason}"),
    "page_not_counted": (
        "  未计入 {path} 第 {page} 页：{outcome}{said}",
        "  not counted {path} p{page}: {outcome}{said}",
    ),
    "rescored": (
        "重新分类 {total} 行，{changed} 行有变化；待复核 {pending} 行",
        "re-classified {total} rows; {changed} changed; pending: {pending}",
    ),
    "nothing_scanned": ("{session}：尚未扫描", "{session}: nothing scanned yet"),
    "status_session": ("{session}：", "{session}:"),
    "of_them_category": ("（其中测评人类别 {count} 行）", " ({count} of them 测评人类别)"),
    "pages_not_counted": ("未计入的页：{count}（待处理：{open}）", "pages not counted: {count} (unsettled: {open})"),
    "page_unsettled": (
        "  待处理 {path} 第 {page} 页：{outcome} — {reason}",
        "  to settle {path} p{page}: {outcome} — {reason}",
    ),
    "no_ballot_found": ("在给出的文件里没有找到可读的测评票", "no readable ballot page found in PATHS"),
    "contact_written": ("{count} 个方框 → {path}", "{count} boxes → {path}"),
    # -- review ------------------------------------------------------------------------------------------------
    "port_in_use": (
        "端口 {port} 已被另一个程序占用：换一个端口（--port），或不写 --port，让系统挑一个空闲的",
        "port {port} is in use by another program: choose another (--port), or leave --port out to get a free one",
    ),
    "address_unknown": (
        "“{host}”不是地址：请写本机的 IP 地址，如 127.0.0.1（只有本机能打开）或 0.0.0.0（局域网里的电脑都能打开）",
        "{host!r} is not an address: give an IP address of this machine, e.g. 127.0.0.1 (this machine only) or "
        "0.0.0.0 (the LAN)",
    ),
    "address_not_here": (
        "{host} 不是本机的地址：请写 127.0.0.1（只有本机能打开）、0.0.0.0（局域网）或本机网卡的地址",
        "{host} is not an address of this machine: give 127.0.0.1 (this machine only), 0.0.0.0 (the LAN) or one "
        "of its network addresses",
    ),
    "port_forbidden": (
        "没有权限使用端口 {port}（1024 以下的端口要管理员权限）：换一个端口，或不写 --port",
        "no permission to use port {port} (ports below 1024 need an administrator): choose another, or leave "
        "--port out",
    ),
    "listen_failed": (
        "无法在 {host}:{port} 上提供复核页：{error}",
        "cannot serve the review page on {host}:{port}: {error}",
    ),
    "review_started": ("复核人：{reviewer}；按 Ctrl+C 停止", "reviewer: {reviewer}; Ctrl+C to stop"),
    "lan_warning": (
        "注意：复核页走的是明文 HTTP，同一局域网里的人可能截获访问令牌和测评票图像。"
        "只在可信的办公网络里使用，复核完马上按 Ctrl+C 停止。其他电脑打开时，把地址里的 {shown} 换成本机的局域网地址。",
        "note: the review page is plain HTTP: anyone on the same network may capture the access token and the "
        "ballot images. Use it on a trusted office network only, and stop it (Ctrl+C) as soon as the review is "
        "done. On another computer, replace {shown} in the address with this machine's LAN address.",
    ),
    "terminal_summary": (
        "已决定 {decided} 行，撤销 {undone} 次；待复核 {left} 行",
        "decided {decided}, undone {undone}; pending {left}",
    ),
    # -- session, tally, override, report, rules --------------------------------------------------------------
    "no_templates": (
        "测评轮次 {session} 没有印制过测评票，也没有读取过表格",
        "no ballots printed or forms read for {session}",
    ),
    "many_templates": (
        "测评轮次 {session} 用了 {count} 个模板印制，暂不支持合并计票",
        "{session} was printed from {count} templates: tallying them together is not supported",
    ),
    "nothing_to_record": (
        "没有要登记的：请给出 --issued、--expected 或 --attended",
        "nothing to record: give --issued, --expected and/or --attended",
    ),
    "session_not_printed": (
        "测评轮次 {session} 不存在（还没有印制测评票）",
        "session {session} does not exist (nothing printed)",
    ),
    "facts": (
        "{session}：发出 {issued}  应到 {expected}  实到 {attended}",
        "{session}: issued {issued}  expected {expected}  attended {attended}",
    ),
    "override_refused": ("不能登记：\n{problems}", "refused:\n{problems}"),
    "override_added": ("已登记 #{id}：{what}", "recorded #{id}: {what}"),
    "no_overrides": ("（无投诉查实或一票否决记录）", "(no verified complaint or veto recorded)"),
    "override_active": ("有效", "in force"),
    "override_was_revoked": ("已撤销 {when}（{reason}）", "revoked {when} ({reason})"),
    "reason_needed": ("要说明撤销的理由", "must say why"),
    "override_missing": ("#{id} 不存在", "#{id} does not exist"),
    "override_revoked_before": ("#{id} 已于 {when} 撤销", "#{id} was revoked on {when}"),
    "override_revoked": ("已撤销 #{id}", "revoked #{id}"),
    "session_or_year": (
        "请给出 --session 2026H1 或 --year 2026，二者选一",
        "give exactly one of --session 2026H1 or --year 2026",
    ),
    "year_value": ("要写年份，如 2026，而不是 {value}", "a year such as 2026, not {value}"),
    "report_refused": (
        "不能出正式报告：\n{reasons}\n（可用 --draft 出草稿）",
        "no final report:\n{reasons}\n(--draft writes a draft)",
    ),
    "report_written": ("测评结果 → {path}", "result → {path}"),
    "draft_written": ("草稿 → {path}", "draft → {path}"),
    "combine_year_only": ("--combine 只用于年度汇总（--year）", "--combine applies to --year only"),
    # -- notice, feedback (the office's documents after the count) -------------------------------------------
    "date_value": ("{value} 不是日期：请写成 2026-07-06 这样", "{value} is not a date such as 2026-07-06"),
    "notice_no_issuer": (
        "测评票上没有单位名称：请用 --issuer 写明由谁发布公示",
        "the ballots name no organisation: say who issues the notice with --issuer",
    ),
    "notice_no_attended": (
        "注意：{session} 未登记实到人数，公示中不写参加人数（ballot session set --session {session} --attended N）",
        "note: no attendance (实到) is recorded for {session}, so the notice gives no number of participants "
        "(ballot session set --session {session} --attended N)",
    ),
    "notice_no_phone": (
        "注意：未给监督电话（--phone），公示中留空待手写",
        "note: no 监督电话 given (--phone): the notice leaves a line to fill in by hand",
    ),
    "notice_refused": (
        "不能出正式公示：\n{reasons}\n（可用 --draft 出草稿）",
        "no final notice:\n{reasons}\n(--draft writes a draft)",
    ),
    "notice_written": ("公示 → {path}", "public notice → {path}"),
    "notice_draft_written": ("公示（草稿）→ {path}", "draft public notice → {path}"),
    "feedback_refused": (
        "不能出正式的意见建议反馈：\n{reasons}\n（可用 --draft 出草稿）",
        "no final feedback letters:\n{reasons}\n(--draft writes drafts)",
    ),
    "feedback_unit": ("  {unit}：{count} 条", "  {unit}: {count}"),
    "feedback_no_cells": (
        "本测评票没有意见建议栏，无可反馈的意见建议",
        "the ballot has no comment cells (意见建议): nothing to pass on",
    ),
    "feedback_collected": (
        "查看了计入统计的测评票 {sheets} 张：有书写的意见建议 {written} 栏已按单位反馈，空白的 {empty} 栏未反馈",
        "{sheets} counted sheets looked at: {written} written comment cells passed on to their units, {empty} empty "
        "ones left out",
    ),
    "feedback_on_paper": (
        "人工录入（或未存影像）的测评票 {count} 张无法自动裁取意见建议栏：请查看纸质原件后补充反馈",
        "{count} sheets counted by hand (or with no image kept): their comment cells cannot be cut out; read them "
        "on the paper ballots and pass them on",
    ),
    "feedback_voided": (
        "经复核作废的测评票 {count} 张，其意见建议不予反馈",
        "{count} sheets voided in review: their comments are not passed on",
    ),
    "feedback_written": ("意见建议反馈 → {path}/（{count} 个文件）", "feedback letters → {path}/ ({count} files)"),
    "feedback_draft_written": (
        "意见建议反馈（草稿）→ {path}/（{count} 个文件）",
        "draft feedback letters → {path}/ ({count} files)",
    ),
    # -- print, template, from-scan, simulate, demo ------------------------------------------------------------
    "form_not_printed": (
        "{path} 描述的是现有的纸质表格，不在这里印制；填好的表格用 ballot scan --form 读取",
        "{path} describes an existing office form: it is not printed here; read filled copies with "
        "`ballot scan --form`",
    ),
    "font_missing": ("找不到中文字体：{message}", "the Chinese font is missing: {message}"),
    "printed": (
        "已生成 {copies} 张测评票 → {path}（轮次 {session}，模板 {template}，数据库 {db}）",
        "{copies} ballots → {path} (session {session}, template {template}, db {db})",
    ),
    "scale_head": ("  计票（规则「{rules}」{preset}）：", "  counting (rules {rules!r}{preset}):"),
    "scale_preset": ("，预设 {preset}", ", preset {preset}"),
    "scale_option": ("    {option} → {counts_as}（{weight}）", "    {option} → {counts_as} ({weight})"),
    "scale_weight": ("综合满意率权重 {weight}", "weight {weight} in 综合满意率"),
    "scale_dont_know_counted": ("计入有效票", "counted in 有效票"),
    "scale_dont_know_apart": ("不计入有效票", "not counted in 有效票"),
    "shuffle": ("发放前请把测评票的顺序打乱。", "Shuffle the stack before handing ballots out."),
    "template_summary": ("模板 {id}：{title}", "template {id}: {title}"),
    "template_counts": (
        "  {sections} 个表格，{rows} 行，{boxes} 个方框",
        "  sections {sections}, rows {rows}, checkboxes {boxes}",
    ),
    "template_category": ("  测评人类别：{options}", "  测评人类别: {options}"),
    "template_section": ("  表格 {index}：{options}{comment}", "  section {index}: {options}{comment}"),
    "template_comment": ("  + 意见建议", "  + 意见建议 (comments)"),
    "template_hash": ("  内容哈希 {hash}（二维码中：{short}）", "  hash {hash} (QR: {short})"),
    "output_exists": ("{path} 已存在；要覆盖请加 --force", "{path} exists; use --force to overwrite it"),
    "no_form": (
        "在 {path} 里没找到可用的表格：{reason}（找到的内容见预览 {preview}）。下一步：用 300 dpi 把空白表扫正；"
        "若方框已找到而选项列没认出，用 --options 写明选项",
        "no usable form found in {path}: {reason} (what was seen: {preview}). Next: scan the blank at 300 dpi, "
        "straight; or name the options with --options when the boxes were found but not their columns",
    ),
    "not_a_template": (
        "这张表格做不成模板（找到的内容见预览 {preview}）：\n{table}",
        "the form cannot be a template (what was found: {preview}):\n{table}",
    ),
    "proposed": ("模板 {id}：{title} → {path}", "template {id}: {title} → {path}"),
    "proposed_section": (
        "  表格 {index}：{rows} 行，{options}（{marker}）",
        "  section {index}: {rows} rows, {options} ({marker})",
    ),
    "marker_square": ("印好的方框 □", "□ printed boxes"),
    "marker_cell": ("空白格", "empty cells"),
    "marker_circle": ("印好的圆圈 ○", "○ printed circles"),
    "marker_free": ("，无表格线", ", no ruled table"),
    "proposed_rows": ("  共 {rows} 行；纠斜 {skew}°；预览 {path}", "  {rows} rows; deskewed {skew}°; preview {path}"),
    "proposed_note": ("  注意：{note}", "  note: {note}"),
    "please_check": ("待核对（{count} 处，已在 YAML 中标出）：", "please check ({count}), marked in the YAML:"),
    "file_reason": ("{path}：{reason}", "{path}: {reason}"),
    "no_such_page": ("{path} 只有 {count} 页，没有第 {page} 页", "{path} has {count} page(s), no page {page}"),
    "simulated": ("已模拟 {count} 张 → {path}（truth.jsonl）", "simulated {count} sheets → {path} (truth.jsonl)"),
    "demo_folder_taken": (
        "{path} 不是空文件夹，也不是以前的演示：请换一个文件夹",
        "{path} is neither empty nor an earlier demo: use another folder",
    ),
    "demo_printed": ("1. 打印：{copies} 张测评票 → {path}", "1. print: {copies} ballots → {path}"),
    "demo_simulated": (
        "2. 模拟填写并扫描：{path}（办公室扫描仪，JPEG，其中一张扫了两次）",
        "2. simulated filled and scanned: {path} (office scanner, JPEG, one sheet scanned twice)",
    ),
    "demo_scanned": ("3. 读取：{outcomes}；跳过 {skipped} 个文件", "3. scan: {outcomes}; skipped {skipped} files"),
    "demo_pending": ("   待复核行：{count}", "   rows awaiting review: {count}"),
    "demo_tally": ("4. 统计：", "4. tally:"),
    "demo_report": ("5. 报表（草稿，待复核）：{path}", "5. draft report: {path}"),
    "demo_notice": ("6. 公示（草稿）：{path}", "6. draft public notice: {path}"),
    "demo_feedback": (
        "7. 意见建议反馈（草稿）：{count} 条 → {path}/",
        "7. draft feedback letters: {count} comments → {path}/",
    ),
    "demo_next": (
        "在浏览器里复核存疑的标记，然后出正式报告：",
        "review the flagged marks in the browser, then write the final report:",
    ),
}


def cli_text(key: str, lang: Lang = "zh", **values: Any) -> str:
    """The words for ``key`` in ``lang``, holes filled from ``values``."""
    return CLI_TEXT[key][LANGS.index(lang)].format(**values)
