// Documents: paging, filters (status, type, date range, file name), sort, status badges, live updates
// over the WebSocket, selection for a summary report. The filters live in the URL (back/forward work,
// a filtered list can be bookmarked).
import { html, useState, useEffect, useRef } from "../preact.js";
import { t, fmtBytes, fmtDateTime } from "../i18n.js";
import { api } from "../api.js";
import { onEvent, applyEvent } from "../ws.js";
import { getSelection, saveSelection } from "../selection.js";
import { LiveStatus, PageTitle, StatusBadge, DocProgress, Loading, ErrorState, EmptyState, Pager, useAsync } from "../components.js";

const STATUSES = ["pending", "processing", "completed", "failed"];
const TYPES = ["pdf", "excel", "image", "hwp"];
const SORTS = ["-created_at", "created_at", "original_filename", "-original_filename", "-size_bytes", "size_bytes", "status", "-completed_at"];
const PAGE_SIZES = [10, 20, 50, 100];
const FILTER_KEYS = ["search", "status", "file_type", "date_from", "date_to"];

const unfinished = (doc) => doc.status === "pending" || doc.status === "processing";

function readQuery(query) {
  const page = Math.max(1, parseInt(query.get("page") || "1", 10) || 1);
  const pageSize = PAGE_SIZES.includes(Number(query.get("page_size"))) ? Number(query.get("page_size")) : 20;
  const sort = SORTS.includes(query.get("sort")) || /^-?(created_at|original_filename|size_bytes|status|completed_at)$/.test(query.get("sort") || "") ? query.get("sort") : "-created_at";
  const out = { page, page_size: pageSize, sort };
  for (const key of FILTER_KEYS) out[key] = query.get(key) || "";
  if (!STATUSES.includes(out.status)) out.status = "";
  if (!TYPES.includes(out.file_type)) out.file_type = "";
  return out;
}

function toQueryString(state) {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(state)) {
    if (v === "" || v === null || v === undefined) continue;
    if ((k === "page" && v === 1) || (k === "page_size" && v === 20) || (k === "sort" && v === "-created_at")) continue;
    params.set(k, String(v));
  }
  const qs = params.toString();
  return qs ? `?${qs}` : "";
}

// Calendar dates of the form, as instants in the browser's time zone (the whole day of date_to).
function dayStart(date) {
  return date ? new Date(`${date}T00:00:00`).toISOString() : undefined;
}
function dayEnd(date) {
  return date ? new Date(`${date}T23:59:59.999`).toISOString() : undefined;
}

const SORTABLE = { original_filename: "docs.col_name", size_bytes: "docs.col_size", status: "docs.col_status", created_at: "docs.col_uploaded", completed_at: "docs.col_completed" };

function SortHeader({ field, sort, onSort, className }) {
  const active = sort.replace(/^-/, "") === field;
  const desc = sort.startsWith("-");
  const label = t(SORTABLE[field]);
  const next = active ? (desc ? field : `-${field}`) : field === "created_at" || field === "completed_at" || field === "size_bytes" ? `-${field}` : field;
  return html`<th scope="col" class=${className} aria-sort=${active ? (desc ? "descending" : "ascending") : undefined}>
    <button type="button" class="link-button" onClick=${() => onSort(next)}>
      ${label}${active ? html`<span aria-hidden="true">${desc ? " ▼" : " ▲"}</span>` : null}
      <span class="sr-only">${active ? ` (${t(desc ? "docs.sorted_desc" : "docs.sorted_asc")})` : ""}, ${t("docs.sort_by", { col: label })}</span>
    </button>
  </th>`;
}

export default function Page({ query, navigate }) {
  const state = readQuery(query);
  const [form, setForm] = useState(state);
  const [selection, setSelection] = useState(getSelection);
  const reloadTimer = useRef(null);
  const listRef = useRef(null);
  const qs = toQueryString(state);

  useEffect(() => setForm(readQuery(query)), [qs]);

  const list = useAsync(
    () =>
      api("/api/v1/documents/", {
        envelope: true,
        query: {
          page: state.page,
          page_size: state.page_size,
          sort: state.sort,
          status: state.status,
          file_type: state.file_type,
          search: state.search.trim(),
          date_from: dayStart(state.date_from),
          date_to: dayEnd(state.date_to),
        },
      }),
    [qs],
  );

  listRef.current = list.data;

  // Live: apply events to the rows shown; a document we do not show yet (a new upload) reloads the page.
  useEffect(
    () =>
      onEvent((event) => {
        if (event.type === "snapshot") {
          // After a reconnect: the unfinished documents as they are now (events may have been missed).
          // A row still shown as unfinished that the snapshot lacks has finished meanwhile: reload.
          const fresh = Object.fromEntries((event.documents || []).map((d) => [d.id, d]));
          const rowsNow = (listRef.current && listRef.current.data) || [];
          if (rowsNow.some((doc) => unfinished(doc) && !fresh[doc.id])) list.reload();
          else list.setData((envelope) => envelope && { ...envelope, data: envelope.data.map((doc) => (fresh[doc.id] ? { ...doc, ...fresh[doc.id] } : doc)) });
          return;
        }
        if (!event.document_id) return;
        list.setData((envelope) => {
          if (!envelope) return envelope;
          const known = envelope.data.some((doc) => doc.id === event.document_id);
          if (!known) {
            clearTimeout(reloadTimer.current);
            reloadTimer.current = setTimeout(() => list.reload(), 800);
            return envelope;
          }
          return { ...envelope, data: envelope.data.map((doc) => applyEvent(doc, event)) };
        });
      }),
    [list.reload],
  );
  useEffect(() => () => clearTimeout(reloadTimer.current), []);

  const go = (change) => navigate(`/documents${toQueryString({ ...state, ...change })}`);
  const apply = (e) => {
    e.preventDefault();
    go({ ...form, page: 1 });
  };
  const reset = () => navigate("/documents");
  const setField = (name) => (e) => setForm({ ...form, [name]: e.currentTarget.value });

  const toggle = (doc) => {
    const next = { ...selection };
    if (next[doc.id]) delete next[doc.id];
    else next[doc.id] = doc.original_filename;
    setSelection(next);
    saveSelection(next);
  };
  const rows = (list.data && list.data.data) || [];
  const allOnPage = rows.length > 0 && rows.every((doc) => selection[doc.id]);
  const togglePage = () => {
    const next = { ...selection };
    for (const doc of rows) {
      if (allOnPage) delete next[doc.id];
      else next[doc.id] = doc.original_filename;
    }
    setSelection(next);
    saveSelection(next);
  };
  const clearSelection = () => {
    setSelection({});
    saveSelection({});
  };
  const selectedCount = Object.keys(selection).length;
  const filtered = FILTER_KEYS.some((k) => state[k]);
  // Phones see the list first: the filters fold away unless some are set.
  const [filtersOpen] = useState(() => filtered || !window.matchMedia("(max-width: 760px)").matches);

  let body;
  if (list.error) body = html`<${ErrorState} error=${list.error} onRetry=${list.reload} />`;
  else if (!list.data) body = html`<${Loading} />`;
  else if (rows.length === 0 && filtered)
    body = html`<${EmptyState} icon="search" title=${t("docs.no_match_title")} text=${t("docs.no_match_text")}>
      <button type="button" class="btn" onClick=${reset}>${t("docs.reset")}</button>
    <//>`;
  else if (rows.length === 0 && state.page > 1) body = html`<${EmptyState} icon="document" title=${t("docs.no_match_title")}><a href="/documents">${t("docs.reset")}</a><//>`;
  else if (rows.length === 0)
    body = html`<${EmptyState} icon="folder" title=${t("docs.empty_title")} text=${t("docs.empty_text")}>
      <a class="btn btn-primary" href="/upload">${t("docs.empty_upload")}</a>
    <//>`;
  else
    body = html`<div class="row"><p class="muted" role="status">${t("common.total_count", { n: list.data.total })}</p><span class="spacer"></span><${LiveStatus} /></div>
      <div class="table-wrap">
        <table class="doc-table">
          <caption class="sr-only">${t("docs.title")}</caption>
          <thead>
            <tr>
              <th scope="col" class="col-check">
                <input type="checkbox" id="select-page" checked=${allOnPage} onChange=${togglePage} />
                <label for="select-page" class="sr-only">${t("docs.select_page")}</label>
              </th>
              <${SortHeader} field="original_filename" sort=${state.sort} onSort=${(sort) => go({ sort, page: 1 })} />
              <th scope="col" class="col-optional">${t("docs.col_type")}</th>
              <${SortHeader} field="size_bytes" sort=${state.sort} onSort=${(sort) => go({ sort, page: 1 })} className="num col-optional" />
              <${SortHeader} field="status" sort=${state.sort} onSort=${(sort) => go({ sort, page: 1 })} />
              <${SortHeader} field="created_at" sort=${state.sort} onSort=${(sort) => go({ sort, page: 1 })} className="col-optional" />
              <${SortHeader} field="completed_at" sort=${state.sort} onSort=${(sort) => go({ sort, page: 1 })} className="col-optional" />
            </tr>
          </thead>
          <tbody>
            ${rows.map(
              (doc) => html`<tr key=${doc.id}>
                <td class="col-check">
                  <input type="checkbox" id=${`sel-${doc.id}`} checked=${!!selection[doc.id]} onChange=${() => toggle(doc)} />
                  <label for=${`sel-${doc.id}`} class="sr-only">${t("docs.select_doc", { name: doc.original_filename })}</label>
                </td>
                <td>
                  <a class="file-name" href=${`/documents/${doc.id}`}>${doc.original_filename}</a>
                  <${DocProgress} doc=${doc} />
                </td>
                <td class="col-optional">${t(`type.${doc.file_type}`)}</td>
                <td class="num col-optional">${fmtBytes(doc.size_bytes)}</td>
                <td><${StatusBadge} status=${doc.status} /></td>
                <td class="col-optional">${fmtDateTime(doc.created_at)}</td>
                <td class="col-optional">${fmtDateTime(doc.completed_at)}</td>
              </tr>`,
            )}
          </tbody>
        </table>
      </div>
      <${Pager} page=${state.page} totalPages=${list.data.total_pages} onPage=${(page) => go({ page })} />`;

  return html`<div>
    <${PageTitle}>${t("docs.title")}<//>
    <details class="card filters-box" open=${filtersOpen}>
    <summary><h2 id="filters-title" class="summary-heading">${t("docs.filters")}</h2></summary>
    <form onSubmit=${apply} aria-labelledby="filters-title" role="search">
      <div class="filters">
        <div class="field">
          <label for="f-search">${t("docs.search")}</label>
          <input id="f-search" type="search" value=${form.search} onInput=${setField("search")} maxlength="255" />
        </div>
        <div class="field">
          <label for="f-status">${t("docs.status")}</label>
          <select id="f-status" value=${form.status} onChange=${setField("status")}>
            <option value="">${t("common.all")}</option>
            ${STATUSES.map((s) => html`<option value=${s}>${t(`status.${s}`)}</option>`)}
          </select>
        </div>
        <div class="field">
          <label for="f-type">${t("docs.file_type")}</label>
          <select id="f-type" value=${form.file_type} onChange=${setField("file_type")}>
            <option value="">${t("common.all")}</option>
            ${TYPES.map((s) => html`<option value=${s}>${t(`type.${s}`)}</option>`)}
          </select>
        </div>
        <div class="field">
          <label for="f-from">${t("docs.date_from")}</label>
          <input id="f-from" type="date" value=${form.date_from} max=${form.date_to || undefined} onInput=${setField("date_from")} />
        </div>
        <div class="field">
          <label for="f-to">${t("docs.date_to")}</label>
          <input id="f-to" type="date" value=${form.date_to} min=${form.date_from || undefined} onInput=${setField("date_to")} />
        </div>
        <div class="field">
          <label for="f-sort">${t("docs.sort")}</label>
          <select id="f-sort" value=${form.sort} onChange=${setField("sort")}>
            ${SORTS.map((s) => html`<option value=${s}>${t(`docs.sort.${s}`)}</option>`)}
            ${SORTS.includes(form.sort) ? null : html`<option value=${form.sort}>${form.sort}</option>`}
          </select>
        </div>
        <div class="field">
          <label for="f-size">${t("docs.page_size")}</label>
          <select id="f-size" value=${String(form.page_size)} onChange=${(e) => setForm({ ...form, page_size: Number(e.currentTarget.value) })}>
            ${PAGE_SIZES.map((n) => html`<option value=${String(n)}>${n}</option>`)}
          </select>
        </div>
        <div class="row">
          <button type="submit" class="btn btn-primary">${t("docs.apply")}</button>
          <button type="button" class="btn" onClick=${reset}>${t("docs.reset")}</button>
        </div>
      </div>
    </form>
    </details>
    ${selectedCount
      ? html`<div class="card row" role="region" aria-label=${t("docs.selected", { n: selectedCount })}>
          <strong>${t("docs.selected", { n: selectedCount })}</strong>
          <span class="spacer"></span>
          <a class="btn btn-primary" href="/stats#summary-report">${t("docs.summary_selected")}</a>
          <button type="button" class="btn" onClick=${clearSelection}>${t("docs.clear_selection")}</button>
        </div>`
      : null}
    ${body}
  </div>`;
}
