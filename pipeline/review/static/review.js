// The clerk's review page: walk the flagged rows one at a time, settle rejected pages, void a ballot.
// Plain JavaScript, no framework, nothing loaded from elsewhere (the CSP allows only this origin).
// Every write sends the version the clerk saw; a 409 answer carries the current state, which is shown
// instead of deciding again blind.
"use strict";

(() => {
  const config = JSON.parse(document.getElementById("config").textContent);
  const T = config.strings;
  const TILE_ZOOM = 2.5; // tiles enlarge the native 6 px/mm crop; the strip stays near native size
  const TILE_WIDTH_PX = 108; // 18 mm of the crop around each box
  const STRIP_MAX_ZOOM = 1.25;
  const REVIEWER_KEY = "ballot-review-reviewer";

  const $ = (id) => document.getElementById(id);
  const fmt = (key, values = {}) => (T[key] || key).replace(/\{(\w+)\}/g, (_, name) => String(values[name] ?? ""));
  const el = (tag, className, text) => {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  };
  const percent = (fill) => (fill === null || fill === undefined ? "–" : Math.round(fill * 100));
  // Times come from the server in the office's time zone (as the workbook shows them), never the browser's.
  const by = (decision) => fmt("by", { reviewer: decision.reviewer, time: decision.time });

  const state = {
    rows: [], // flagged rows (GET /api/queue)
    progress: { total: 0, remaining: 0, by_reason: {} },
    filter: "",
    current: null, // key "page_id/unit" of the row on screen, null: none
    history: [], // keys decided in this tab, newest last: what Z takes back
    rejected: [],
    sheets: [],
    tab: "queue",
    busy: false,
    sheetPage: null, // page id shown in the sheet dialog
    sheetRows: [], // every row of that sheet, when it is a read sheet (GET /api/pages/<id>/rows)
    correcting: null, // unit whose correction choices are open in the sheet dialog
    selected: 0, // index of the rejected page the keys act on
    handPage: null,
  };

  const reviewer = $("reviewer");
  reviewer.value = localStorage.getItem(REVIEWER_KEY) || config.reviewer;
  reviewer.addEventListener("change", () => localStorage.setItem(REVIEWER_KEY, reviewer.value.trim()));

  async function api(method, url, body) {
    const options = { method, headers: { Accept: "application/json" }, credentials: "same-origin" };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.headers["X-Review-Token"] = config.csrf;
      options.body = JSON.stringify({ ...body, reviewer: reviewer.value.trim() });
    }
    try {
      const response = await fetch(url, options);
      const data = await response.json().catch(() => null);
      return { status: response.status, data };
    } catch {
      return { status: 0, data: { message: T.offline } }; // the server stopped, or the network is down
    }
  }

  function say(text, kind = "ok", target = "message") {
    const node = $(target);
    node.textContent = text;
    node.className = `message ${kind}`;
  }

  const failed = (result, target) =>
    say(fmt("error", { message: result.data?.message || result.status }), "error", target);

  // -- the queue of flagged rows ----------------------------------------------------------------------------

  const visibleRows = () => state.rows.filter((row) => !state.filter || row.reason === state.filter);
  const rowByKey = (key) => state.rows.find((row) => row.key === key);

  function nextPending(afterKey) {
    const rows = visibleRows();
    const start = afterKey ? rows.findIndex((row) => row.key === afterKey) + 1 : 0;
    for (let step = 0; step < rows.length; step += 1) {
      const row = rows[(start + step) % rows.length];
      if (row.pending) return row.key;
    }
    return null;
  }

  function renderProgress() {
    $("progress").textContent = fmt("progress", state.progress);
    const select = $("reason-filter");
    const chosen = state.filter;
    select.replaceChildren();
    const all = el("option", "", `${T.filter_all} (${state.progress.remaining} / ${state.progress.total})`);
    all.value = "";
    select.append(all);
    for (const reason of config.reasons) {
      const counts = state.progress.by_reason[reason.code];
      if (!counts) continue;
      const option = el("option", "", `${reason.text} (${counts.remaining} / ${counts.total})`);
      option.value = reason.code;
      select.append(option);
    }
    select.value = chosen;
    const open = openPages();
    $("rejected-count").textContent = open ? `(${open})` : "";
  }

  const openPages = () => state.rejected.filter((page) => !page.decision).length;

  function doneText(rows) {
    const open = openPages();
    if (!rows.length) return open ? fmt("empty_pages", { n: open }) : T.empty;
    return open ? fmt("done_pages", { n: open }) : T.all_done;
  }

  function renderRow() {
    renderProgress();
    const rows = visibleRows();
    const row = rowByKey(state.current);
    const card = $("row-card");
    const done = $("queue-done");
    if (!row || !rows.includes(row)) {
      card.hidden = true;
      done.hidden = false;
      done.textContent = doneText(rows);
      $("position").textContent = "";
      return;
    }
    card.hidden = false;
    done.hidden = true;
    card.dataset.key = row.key;
    $("unit").textContent = row.unit;
    $("position").textContent = fmt("position", { n: rows.indexOf(row) + 1, count: rows.length });
    const serial = row.serial ? `${T.serial} ${row.serial} · ` : "";
    $("where").textContent = `${serial}${row.source} · ${fmt("page_no", { n: row.page_no })}`;
    $("reason").textContent = row.reason_text;
    $("machine").textContent = row.machine;
    const decision = $("decision");
    decision.textContent = row.decision ? `${row.decision.label}（${by(row.decision)}）` : T.no_decision;
    decision.classList.toggle("decided", Boolean(row.decision));
    $("paper").hidden = !row.paper;
    $("paper").textContent = row.paper;
    renderStrip(row);
    $("tiles").replaceChildren(...row.boxes.map((box, index) => tile(row, box, index)));
    $("btn-blank").classList.toggle("chosen", row.decision?.kind === "blank");
    $("btn-void").classList.toggle("chosen", row.decision?.kind === "void");
  }

  const isChosen = (row, option) => row.decision?.kind === "choice" && row.decision.choice === option;

  function renderStrip(row) {
    const strip = $("strip");
    strip.style.maxWidth = `${row.crop.width * STRIP_MAX_ZOOM}px`;
    strip.style.aspectRatio = `${row.crop.width} / ${row.crop.height}`;
    const image = el("img");
    image.src = row.crop.url;
    image.alt = row.unit;
    const parts = [image];
    row.boxes.forEach((box, index) => {
      const outline = el("div", `outline${isChosen(row, box.option) ? " chosen" : ""}`);
      outline.style.left = `${(box.x / row.crop.width) * 100}%`;
      outline.style.top = `${(box.y / row.crop.height) * 100}%`;
      outline.style.width = `${(box.w / row.crop.width) * 100}%`;
      outline.style.height = `${(box.h / row.crop.height) * 100}%`;
      // The key only: a fill share can point the wrong way (an eraser's residue covers more than a faint tick).
      outline.append(el("span", "score", String(index + 1)));
      outline.title = `${box.seen_text} · ${fmt("fill", { percent: percent(box.fill) })}`;
      parts.push(outline);
    });
    strip.replaceChildren(...parts);
  }

  function tile(row, box, index) {
    const chosen = isChosen(row, box.option);
    const button = el("button", `tile${chosen ? " chosen" : ""}`);
    button.type = "button";
    button.dataset.option = box.option;
    const height = row.crop.height;
    const left = Math.max(0, Math.min(row.crop.width - TILE_WIDTH_PX, box.x + box.w / 2 - TILE_WIDTH_PX / 2));
    const frame = el("div", "window");
    frame.style.width = `${TILE_WIDTH_PX * TILE_ZOOM}px`;
    frame.style.height = `${height * TILE_ZOOM}px`;
    const image = el("img");
    image.src = row.closeup; // the same area at the scan's own resolution, contrast stretched
    image.alt = T.closeup;
    image.style.width = `${row.crop.width * TILE_ZOOM}px`;
    image.style.left = `${-left * TILE_ZOOM}px`;
    image.style.top = "0";
    const outline = el("div", "box-outline");
    outline.style.left = `${(box.x - left) * TILE_ZOOM}px`;
    outline.style.top = `${box.y * TILE_ZOOM}px`;
    outline.style.width = `${box.w * TILE_ZOOM}px`;
    outline.style.height = `${box.h * TILE_ZOOM}px`;
    frame.append(image, outline);
    const caption = el("span", "caption");
    const name = el("span", "", ` ${box.option}`);
    name.prepend(el("kbd", "", String(index + 1)));
    const seen = el("span", "seen", box.seen_text);
    seen.title = fmt("fill", { percent: percent(box.fill) });
    caption.append(name, seen);
    button.append(frame, caption);
    if (chosen) button.append(el("span", "badge", "✓"));
    button.addEventListener("click", () => decide(row, "choice", box.option));
    return button;
  }

  function show(key) {
    state.current = key;
    renderRow();
  }

  function step(delta) {
    const rows = visibleRows();
    if (!rows.length) return;
    let index = rows.findIndex((row) => row.key === state.current);
    if (index < 0) index = delta > 0 ? -1 : rows.length;
    show(rows[Math.max(0, Math.min(rows.length - 1, index + delta))].key);
  }

  async function decide(row, kind, choice) {
    if (state.busy) return;
    state.busy = true;
    const body = { page_id: row.page_id, unit: row.unit, kind, choice, version: row.version };
    const result = await api("POST", "/api/rows/decide", body);
    state.busy = false;
    if (result.status === 200) {
      Object.assign(row, result.data.row);
      state.progress = result.data.progress;
      state.history.push(row.key);
      say(fmt("saved", { unit: row.unit, label: row.effective }));
      show(nextPending(row.key));
    } else if (result.status === 409) {
      Object.assign(row, result.data.row);
      say(fmt("conflict", { now: row.effective }), "warn");
      show(row.key);
    } else {
      failed(result);
    }
  }

  async function undo() {
    if (state.busy) return;
    let row = null;
    while (state.history.length && !row) {
      const candidate = rowByKey(state.history.pop());
      if (candidate?.decision) row = candidate;
    }
    row = row || rowByKey(state.current);
    if (!row?.decision) {
      say(T.nothing_to_undo, "warn");
      return;
    }
    state.busy = true;
    const result = await api("POST", "/api/rows/undo", { page_id: row.page_id, unit: row.unit, version: row.version });
    state.busy = false;
    if (result.status === 200) {
      Object.assign(row, result.data.row);
      state.progress = result.data.progress;
      say(fmt("undone", { unit: row.unit, label: row.effective }));
      if (!visibleRows().includes(row)) state.filter = "";
      show(row.key);
    } else if (result.status === 409) {
      Object.assign(row, result.data.row);
      say(fmt("conflict", { now: row.effective }), "warn");
      show(row.key);
    } else {
      failed(result);
    }
  }

  async function loadQueue() {
    const result = await api("GET", "/api/queue");
    if (result.status !== 200) return failed(result);
    state.rows = result.data.rows;
    state.progress = result.data.progress;
    if (!rowByKey(state.current)) state.current = nextPending(null);
    renderRow();
  }

  // -- whole sheet, void ------------------------------------------------------------------------------------

  const sheetById = (pageId) => state.sheets.find((page) => page.page_id === pageId);

  function openSheet(pageId, url, band) {
    state.sheetPage = pageId;
    const image = $("sheet-image");
    const highlight = $("sheet-highlight");
    image.classList.remove("rotated");
    highlight.hidden = true;
    image.onload = () => {
      if (!band) return;
      const width = image.naturalWidth;
      const height = image.naturalHeight;
      highlight.style.left = `${(band.x / width) * 100}%`;
      highlight.style.top = `${(band.y / height) * 100}%`;
      highlight.style.width = `${(band.w / width) * 100}%`;
      highlight.style.height = `${(band.h / height) * 100}%`;
      highlight.hidden = false;
      highlight.scrollIntoView({ block: "center" });
    };
    image.src = url;
    say("", "ok", "sheet-message");
    $("sheet-rotate").hidden = Boolean(sheetById(pageId)); // a read sheet is shown upright already
    state.sheetRows = [];
    state.correcting = null;
    renderVoid();
    renderSheetRows();
    $("sheet-dialog").showModal();
    $("sheet-close").focus();
    if (sheetById(pageId)) loadSheetRows(pageId);
  }

  // -- every row of a read sheet, and corrections of rows the machine read without doubt -------------------

  async function loadSheetRows(pageId) {
    const result = await api("GET", `/api/pages/${pageId}/rows`);
    if (state.sheetPage !== pageId) return;
    if (result.status !== 200) return failed(result, "sheet-message");
    state.sheetRows = result.data.rows;
    renderSheetRows();
  }

  function renderSheetRows() {
    const panel = $("sheet-rows-panel");
    panel.hidden = !sheetById(state.sheetPage);
    $("sheet-row-list").replaceChildren(...state.sheetRows.flatMap(sheetRowLines));
  }

  function sheetRowLines(row) {
    const correction = row.decision?.correction;
    const tr = el("tr", correction ? "corrected" : "");
    tr.dataset.unit = row.unit;
    const machine = el("td", "", row.machine);
    if (row.flagged) machine.append(el("span", "flag", ` · ${row.reason_text}`));
    const now = el("td", "", row.effective);
    if (row.decision) {
      const said = correction ? fmt("corrected_to", { label: row.decision.label, by: by(row.decision) }) : by(row.decision);
      now.textContent = correction ? said : `${row.effective}（${said}）`;
    }
    const cell = el("td");
    if (correction) cell.append(button(T.undo_correction, "small undo-correction", () => undoCorrection(row)));
    else if (!row.flagged) cell.append(button(T.correct, "small correct", () => toggleCorrecting(row.unit)));
    tr.append(el("td", "unit", row.unit), machine, now, cell);
    if (state.correcting !== row.unit) return [tr];
    const choices = el("div", "correct-choices");
    for (const option of row.options) choices.append(button(option, "small", () => correct(row, "choice", option)));
    choices.append(
      button(T.blank, "small", () => correct(row, "blank", null)),
      button(T.void, "small", () => correct(row, "void", null)),
      button(T.cancel, "small", () => toggleCorrecting(null)),
    );
    const extra = el("tr", "correcting");
    const wide = el("td");
    wide.colSpan = 4;
    wide.append(choices);
    extra.append(wide);
    return [tr, extra];
  }

  function toggleCorrecting(unit) {
    state.correcting = state.correcting === unit ? null : unit;
    renderSheetRows();
  }

  async function correct(row, kind, choice) {
    const body = { page_id: row.page_id, unit: row.unit, kind, choice, version: row.version, correction: true };
    await sheetRowAnswer(row, await api("POST", "/api/rows/decide", body), "saved");
  }

  async function undoCorrection(row) {
    const body = { page_id: row.page_id, unit: row.unit, version: row.version };
    await sheetRowAnswer(row, await api("POST", "/api/rows/undo", body), "undone");
  }

  async function sheetRowAnswer(row, result, said) {
    if (result.status === 200 || result.status === 409) {
      Object.assign(row, result.data.row);
      state.correcting = null;
      if (result.status === 200) say(fmt(said, { unit: row.unit, label: row.effective }), "ok", "sheet-message");
      else say(fmt("conflict", { now: row.effective }), "warn", "sheet-message");
      renderSheetRows();
      await loadPages(); // the sheet list counts the corrections
      return;
    }
    failed(result, "sheet-message");
  }

  function renderVoid() {
    const page = sheetById(state.sheetPage);
    $("sheet-void").hidden = !page;
    if (!page) return;
    const serial = page.serial ? ` · ${T.serial} ${page.serial}` : "";
    $("sheet-title").textContent = `${T.sheet_title}${serial} · ${page.source}`;
    const voided = page.decision?.kind === "void";
    $("void-state").textContent = voided ? `${T.voided}${page.decision.note ? `：${page.decision.note}` : ""}` : "";
    $("void-note").hidden = voided;
    $("void-button").hidden = voided;
    $("void-undo").hidden = !voided;
  }

  async function pageDecision(page, url, body, target) {
    const result = await api("POST", url, { page_id: page.page_id, version: page.version, ...body });
    if (result.status === 200 || result.status === 409) {
      const updated = result.data.page;
      for (const list of [state.rejected, state.sheets]) {
        const index = list.findIndex((item) => item.page_id === updated.page_id);
        if (index >= 0) list[index] = updated;
      }
      if (result.status === 409) say(fmt("conflict", { now: pageStateText(updated) }), "warn", target);
      if (result.data.progress) state.progress = result.data.progress;
      return result.status === 200;
    }
    failed(result, target);
    return false;
  }

  async function voidSheet(undoIt) {
    const page = sheetById(state.sheetPage);
    if (!page) return;
    const done = undoIt
      ? await pageDecision(page, "/api/pages/undo", {}, "sheet-message")
      : await pageDecision(page, "/api/pages/decide", { kind: "void", note: $("void-note").value }, "sheet-message");
    if (done) $("void-note").value = "";
    renderVoid();
    renderSheets();
    await loadQueue(); // a voided sheet's rows leave the queue, an unvoided one's come back
  }

  // -- rejected pages and all sheets ------------------------------------------------------------------------

  function pageStateText(page) {
    if (!page.decision) return T.open;
    const labels = { not_ballot: T.not_ballot, not_counted: T.settled_not_counted, count: T.counted, void: T.voided };
    return `${labels[page.decision.kind]}（${by(page.decision)}）`;
  }

  function renderRejected() {
    const list = $("rejected-list");
    state.selected = Math.max(0, Math.min(state.rejected.length - 1, state.selected));
    list.replaceChildren(...state.rejected.map(rejectedCard));
    if (!state.rejected.length) list.append(el("p", "done", T.no_rejected));
    renderRow(); // the queue's closing words count the pages still open
  }

  function rejectedCard(page, index) {
    const selected = index === state.selected;
    const card = el("article", `page-card${page.decision ? " settled" : ""}${selected ? " selected" : ""}`);
    card.dataset.page = String(page.page_id);
    card.addEventListener("click", () => select(index));
    if (page.image) {
      const thumb = el("button", "thumb");
      thumb.type = "button";
      const image = el("img");
      image.src = page.image;
      image.alt = page.source;
      image.loading = "lazy";
      thumb.append(image);
      thumb.addEventListener("click", () => openSheet(page.page_id, page.image, null));
      card.append(thumb);
    }
    const body = el("div");
    body.append(
      el("h3", "", `${page.source} · ${fmt("page_no", { n: page.page_no })}`),
      el("p", "outcome", page.outcome_text),
      el("p", "", page.reason),
    );
    if (page.serial) body.append(el("p", "", `${T.serial} ${page.serial}`));
    body.append(el("p", `state${page.decision ? " settled" : ""}`, pageStateText(page)));
    if (page.hand_rows.length) body.append(el("p", "", page.hand_rows.map(([unit, reading]) => `${unit} ${T[reading] || reading}`).join(" · ")));
    const actions = el("div", "card-actions");
    if (page.decision) {
      actions.append(keyed("Z", T.undo, "small undo-page", () => settle(page, "/api/pages/undo", {})));
    } else {
      const notCounted = page.outcome === "duplicate" ? T.not_counted_duplicate : T.not_counted;
      actions.append(
        keyed("B", T.not_ballot, "small not-ballot", () => settle(page, "/api/pages/decide", { kind: "not_ballot" })),
        keyed("D", notCounted, "small not-counted", () => settle(page, "/api/pages/decide", { kind: "not_counted" })),
      );
      const label = Object.keys(page.machine_rows || {}).length ? T.check_count : T.hand_count;
      const hand = keyed("H", label, "small hand-count", () => openHand(page));
      hand.disabled = !page.countable;
      hand.title = page.why_not || "";
      actions.append(hand);
    }
    body.append(actions);
    card.append(body);
    return card;
  }

  function keyed(key, text, className, onClick) {
    const node = button(` ${text}`, className, onClick);
    node.prepend(el("kbd", "", key));
    return node;
  }

  function select(index) {
    state.selected = index;
    renderRejected();
    document.querySelector(".page-card.selected")?.scrollIntoView({ block: "nearest" });
  }

  // After a page is settled the keys move on to the next one still open (if any).
  function selectNextOpen(from) {
    const pages = state.rejected;
    for (let step = 1; step <= pages.length; step += 1) {
      const index = (from + step) % pages.length;
      if (!pages[index].decision) return select(index);
    }
    select(from);
  }

  function onRejectedKey(key) {
    const page = state.rejected[state.selected];
    if (key === "q" || key === "escape") showTab("queue");
    else if (!page) return false;
    else if (key === "arrowdown" || key === "j") select(Math.min(state.rejected.length - 1, state.selected + 1));
    else if (key === "arrowup" || key === "k") select(Math.max(0, state.selected - 1));
    else if (key === "v" || key === "enter") page.image && openSheet(page.page_id, page.image, null);
    else if (key === "b" && !page.decision) settle(page, "/api/pages/decide", { kind: "not_ballot" });
    else if (key === "d" && !page.decision) settle(page, "/api/pages/decide", { kind: "not_counted" });
    else if (key === "h" && !page.decision && page.countable) openHand(page);
    else if (key === "z" && page.decision) settle(page, "/api/pages/undo", {});
    else return false;
    return true;
  }

  function button(text, className, onClick) {
    const node = el("button", className, text);
    node.type = "button";
    node.addEventListener("click", onClick);
    return node;
  }

  async function settle(page, url, body) {
    if (state.busy) return;
    state.busy = true;
    const done = await pageDecision(page, url, body, "message");
    state.busy = false;
    const index = state.rejected.findIndex((item) => item.page_id === page.page_id);
    if (done && body.kind) selectNextOpen(index);
    else renderRejected();
  }

  function renderSheets() {
    const rows = state.sheets.map((page, index) => {
      const tr = el("tr", page.decision?.kind === "void" ? "voided" : "");
      tr.append(
        el("td", "", String(index + 1)),
        el("td", "", page.serial || ""),
        el("td", "", `${page.source} · ${fmt("page_no", { n: page.page_no })}`),
        el("td", "", String(page.flagged)),
        el("td", "corrected", page.corrected ? fmt("corrected", { n: page.corrected }) : ""),
        el("td", "", page.decision ? pageStateText(page) : T.counted_sheet),
      );
      const cell = el("td");
      cell.append(button(T.view, "small", () => openSheet(page.page_id, page.image, null)));
      tr.append(cell);
      return tr;
    });
    $("sheet-rows").replaceChildren(...rows);
  }

  async function loadPages() {
    const result = await api("GET", "/api/pages");
    if (result.status !== 200) return failed(result);
    state.rejected = result.data.rejected;
    state.sheets = result.data.sheets;
    renderRejected();
    renderSheets();
  }

  // -- counting a rejected page by hand ---------------------------------------------------------------------

  function openHand(page) {
    state.handPage = page.page_id;
    $("hand-image").src = page.image || "";
    $("hand-image").classList.remove("rotated");
    // A sheet read but for its serial: each row as the machine read it, for the clerk to check; a row it doubted
    // is left unchosen, saying why.
    const machine = page.machine_rows || {};
    $("hand-heading").textContent = Object.keys(machine).length ? T.check_title : T.hand_title;
    const rows = page.rows.map((row, index) => {
      const tr = el("tr");
      const read = machine[row.unit];
      const unit = el("td", "unit", row.unit);
      if (read && !read.kind) unit.append(el("div", "doubt", fmt("machine_doubt", { why: read.doubt })));
      tr.append(unit);
      const cell = el("td");
      const choices = [
        ...row.options.map((option) => ["choice", option, option]),
        ["blank", "", T.blank],
        ["void", "", T.void],
      ];
      for (const [kind, choice, text] of choices) {
        const label = el("label");
        const input = el("input");
        input.type = "radio";
        input.name = `row-${index}`;
        input.value = JSON.stringify({ unit: row.unit, kind, choice: kind === "choice" ? choice : null });
        input.checked = Boolean(read && read.kind === kind && (kind !== "choice" || read.choice === choice));
        label.append(input, ` ${text}`);
        cell.append(label);
      }
      tr.append(cell);
      return tr;
    });
    $("hand-rows").replaceChildren(...rows);
    $("hand-serial").value = "";
    $("hand-serial-illegible").checked = false;
    $("hand-serial-line").hidden = Boolean(page.serial);
    say("", "ok", "hand-message");
    $("hand-dialog").showModal();
  }

  async function submitHand(event) {
    event.preventDefault();
    const page = state.rejected.find((item) => item.page_id === state.handPage);
    if (!page) return;
    const checked = [...$("hand-form").querySelectorAll("input[type=radio]:checked")];
    if (checked.length !== page.rows.length) {
      say(T.hand_incomplete, "warn", "hand-message");
      return;
    }
    const rows = checked.map((input) => JSON.parse(input.value));
    const serial = page.serial ? null : $("hand-serial").value.trim() || null;
    const illegible = !page.serial && !serial && $("hand-serial-illegible").checked;
    const body = { kind: "count", rows, serial, serial_illegible: illegible };
    const done = await pageDecision(page, "/api/pages/decide", body, "hand-message");
    if (done) {
      $("hand-dialog").close();
      selectNextOpen(state.rejected.findIndex((item) => item.page_id === page.page_id));
    } else renderRejected();
  }

  // -- tabs, keys, refresh ----------------------------------------------------------------------------------

  function showTab(name) {
    state.tab = name;
    for (const tab of document.querySelectorAll(".tab")) tab.classList.toggle("active", tab.dataset.tab === name);
    for (const view of ["queue", "rejected", "sheets"]) $(`view-${view}`).hidden = view !== name;
  }

  function onKey(event) {
    if (event.ctrlKey || event.metaKey || event.altKey || event.target.closest("input, textarea, select")) return;
    if (document.querySelector("dialog[open]")) {
      if (event.key.toLowerCase() === "s" && $("sheet-dialog").open) $("sheet-dialog").close();
      return;
    }
    const key = event.key.toLowerCase();
    if (state.tab === "rejected") {
      if (onRejectedKey(key)) event.preventDefault();
      return;
    }
    if (state.tab !== "queue") return;
    if (key === "r") {
      showTab("rejected");
      const open = state.rejected.findIndex((page) => !page.decision);
      select(open >= 0 ? open : 0);
      event.preventDefault();
      return;
    }
    const row = rowByKey(state.current);
    if (/^[1-9]$/.test(key) && row && row.options[Number(key) - 1] !== undefined) {
      decide(row, "choice", row.options[Number(key) - 1]);
    } else if (key === "0" && row) decide(row, "blank", null);
    else if (key === "x" && row) decide(row, "void", null);
    else if (key === "z") undo();
    else if (key === "s" && row) openSheet(row.page_id, row.sheet.url, row.sheet.band);
    else if (key === "arrowright") step(1);
    else if (key === "arrowleft") step(-1);
    else return;
    event.preventDefault();
  }

  async function refresh() {
    if (state.busy || document.querySelector("dialog[open]")) return;
    await Promise.all([loadQueue(), loadPages()]);
  }

  document.addEventListener("keydown", onKey);
  // A clicked button must not keep the focus: Space would press it again on the next row, and its focus ring
  // looks like a choice.
  document.addEventListener("click", (event) => event.target.closest?.(".tile, .action, .nav, .tab")?.blur());
  $("hand-form").addEventListener("change", () => say("", "ok", "hand-message"));
  for (const tab of document.querySelectorAll(".tab")) tab.addEventListener("click", () => showTab(tab.dataset.tab));
  $("reason-filter").addEventListener("change", (event) => {
    state.filter = event.target.value;
    const current = rowByKey(state.current);
    if (!current || !visibleRows().includes(current)) state.current = nextPending(null) ?? visibleRows()[0]?.key ?? null;
    renderRow();
    event.target.blur(); // give the keys back to the queue
  });
  $("btn-prev").addEventListener("click", () => step(-1));
  $("btn-next").addEventListener("click", () => step(1));
  $("btn-blank").addEventListener("click", () => rowByKey(state.current) && decide(rowByKey(state.current), "blank", null));
  $("btn-void").addEventListener("click", () => rowByKey(state.current) && decide(rowByKey(state.current), "void", null));
  $("btn-undo").addEventListener("click", undo);
  $("btn-sheet").addEventListener("click", () => {
    const row = rowByKey(state.current);
    if (row) openSheet(row.page_id, row.sheet.url, row.sheet.band);
  });
  $("sheet-close").addEventListener("click", () => $("sheet-dialog").close());
  $("sheet-rotate").addEventListener("click", () => $("sheet-image").classList.toggle("rotated"));
  $("void-button").addEventListener("click", () => voidSheet(false));
  $("void-undo").addEventListener("click", () => voidSheet(true));
  $("hand-close").addEventListener("click", () => $("hand-dialog").close());
  $("hand-rotate").addEventListener("click", () => $("hand-image").classList.toggle("rotated"));
  $("hand-form").addEventListener("submit", submitHand);
  window.addEventListener("focus", refresh);
  setInterval(refresh, config.poll_ms);

  Promise.all([loadQueue(), loadPages()]);
})();
