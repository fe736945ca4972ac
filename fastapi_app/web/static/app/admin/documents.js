// /admin/documents: every user's documents, failed first (the API's order), each failure with its
// error code, the code explained in words, the worker's message and the attempts; a retry for any.

import { html } from "../preact.js";
import { t, errorText, fmtDateTime, fmtNumber, statusText } from "../i18n.js";
import { api } from "../api.js";
import { PageTitle, EmptyState, StatusBadge } from "../components.js";
import { AdminNav, AdminTable, FilterForm, listBody, useAdminList } from "./common.js";

export const titleKey = "admin.documents";

const DEFAULTS = { search: "", owner: "", status: "", file_type: "", page: 1 };
const STATUSES = ["failed", "pending", "processing", "completed"];
const FILE_TYPES = ["pdf", "excel", "image"];

function Filters({ values, onApply }) {
  const fields = (draft, set) => html`<div class="field">
      <label for="adocs-search">${t("admin.docs_search")}</label>
      <input id="adocs-search" type="search" value=${draft.search} onInput=${set("search")} />
    </div>
    <div class="field">
      <label for="adocs-owner">${t("admin.docs_owner")}</label>
      <input id="adocs-owner" type="text" value=${draft.owner} onInput=${set("owner")} autocomplete="off" />
    </div>
    <div class="field">
      <label for="adocs-status">${t("admin.docs_status")}</label>
      <select id="adocs-status" value=${draft.status} onChange=${set("status")}>
        <option value="">${t("admin.all")}</option>
        ${STATUSES.map((s) => html`<option value=${s}>${statusText(s)}</option>`)}
      </select>
    </div>
    <div class="field">
      <label for="adocs-type">${t("admin.docs_type")}</label>
      <select id="adocs-type" value=${draft.file_type} onChange=${set("file_type")}>
        <option value="">${t("admin.all")}</option>
        ${FILE_TYPES.map((s) => html`<option value=${s}>${t(`admin.type_${s}`)}</option>`)}
      </select>
    </div>`;
  return html`<${FilterForm} values=${values} onApply=${onApply} fields=${fields} />`;
}

function Failure({ doc }) {
  if (!doc.error_code && !doc.error_message) return html`<span class="muted">–</span>`;
  return html`<div class="admin-failure">
    ${doc.error_code ? html`<code>${doc.error_code}</code>` : null}
    <p>${errorText(doc.error_code)}</p>
    ${doc.error_message ? html`<p class="hint">${t("admin.docs_message")}: ${doc.error_message}</p>` : null}
  </div>`;
}

function DocumentRow({ doc, busy, onRetry }) {
  const running = doc.status === "pending" || doc.status === "processing";
  return html`<tr class=${doc.status === "failed" ? "admin-row-failed" : undefined}>
    <td>
      <span class="file-name">${doc.original_filename}</span>
      <div class="hint">${doc.file_type} · ${fmtDateTime(doc.created_at)}</div>
    </td>
    <td>${doc.owner_username}</td>
    <td><${StatusBadge} status=${doc.status} /></td>
    <td class="num">
      ${fmtNumber(doc.attempts)}
      <div class="hint">${t("admin.docs_run", { n: fmtNumber(doc.current_run) })}</div>
    </td>
    <td><${Failure} doc=${doc} /></td>
    <td>
      <button type="button" class="btn btn-small" disabled=${busy || running}
        aria-label=${t("admin.action_for", { action: t("admin.retry"), name: doc.original_filename })} onClick=${() => onRetry(doc)}>
        ${t("admin.retry")}
      </button>
    </td>
  </tr>`;
}

export default function Page({ query, path, navigate }) {
  const list = useAdminList("/api/v1/admin/documents", { query, path, navigate, defaults: DEFAULTS });
  const { values, apply } = list;

  const retry = (doc) =>
    list.runAction(
      doc.id,
      () => api(`/api/v1/admin/documents/${doc.id}/retry`, { method: "POST" }),
      () => t("admin.retry_queued", { name: doc.original_filename }),
    );

  const body = listBody(
    list,
    html`<${EmptyState} title=${t("admin.docs_empty_title")} text=${t("admin.docs_empty_text")} />`,
    () => html`<div class="row">
        <p class="muted" aria-live="polite">${t("admin.docs_count", { n: fmtNumber(list.data.total) })}</p>
        <span class="spacer"></span>
        <button type="button" class="btn btn-small" onClick=${list.reload}>${t("admin.refresh")}</button>
      </div>
      <${AdminTable}
        list=${list}
        caption=${t("admin.documents")}
        head=${html`<th scope="col">${t("admin.col_document")}</th>
          <th scope="col">${t("admin.col_owner")}</th>
          <th scope="col">${t("admin.col_state")}</th>
          <th scope="col" class="num">${t("admin.col_attempts")}</th>
          <th scope="col">${t("admin.col_error")}</th>
          <th scope="col">${t("admin.col_actions")}</th>`}
        row=${(doc) => html`<${DocumentRow} key=${doc.id} doc=${doc} busy=${list.busy === doc.id} onRetry=${retry} />`}
      />`,
  );

  return html`<${PageTitle}>${t("admin.documents")}<//>
    <${AdminNav} path=${path} />
    <${Filters} key=${query.toString()} values=${values} onApply=${apply} />
    ${body}`;
}
