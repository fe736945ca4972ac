// /admin/users: every account; search and filter; activate or deactivate (with a confirmation: it ends
// the user's sessions at once); grant or remove superuser. A superuser's own row cannot be changed
// here (the API refuses it too: CANNOT_CHANGE_OWN_ACCOUNT). Per-account upload quotas: an empty field
// = the service's default (null), 0 = no limit; storage is entered in MB.

import { html, useState } from "../preact.js";
import { t, fmtBytes, fmtDateTime, fmtNumber } from "../i18n.js";
import { api } from "../api.js";
import { PageTitle, EmptyState, confirmDialog } from "../components.js";
import { AdminNav, AdminTable, FilterForm, listBody, useAdminList } from "./common.js";

export const titleKey = "admin.users";

const DEFAULTS = { search: "", is_active: "", is_superuser: "", page: 1 };

function Filters({ values, onApply }) {
  const fields = (draft, set) => html`<div class="field">
      <label for="users-search">${t("admin.users_search")}</label>
      <input id="users-search" type="search" value=${draft.search} onInput=${set("search")}
        placeholder=${t("admin.users_search_placeholder")} />
    </div>
    <div class="field">
      <label for="users-active">${t("admin.filter_state")}</label>
      <select id="users-active" value=${draft.is_active} onChange=${set("is_active")}>
        <option value="">${t("admin.all")}</option>
        <option value="true">${t("admin.active")}</option>
        <option value="false">${t("admin.inactive")}</option>
      </select>
    </div>
    <div class="field">
      <label for="users-role">${t("admin.filter_role")}</label>
      <select id="users-role" value=${draft.is_superuser} onChange=${set("is_superuser")}>
        <option value="">${t("admin.all")}</option>
        <option value="true">${t("admin.role_superuser")}</option>
        <option value="false">${t("admin.role_user")}</option>
      </select>
    </div>`;
  return html`<${FilterForm} values=${values} onApply=${onApply} fields=${fields} />`;
}

const MB = 1024 * 1024;

function limitText(limit, format) {
  return limit === null ? t("admin.quota_unlimited") : format(limit);
}

function QuotaForm({ account, busy, onChange }) {
  const initial = (value, scale = 1) => (value === null ? "" : String(Math.round((value / scale) * 100) / 100));
  const [documents, setDocuments] = useState(initial(account.quota_documents_per_day));
  const [storage, setStorage] = useState(initial(account.quota_storage_bytes, MB));
  const id = `quota-${account.id}`;
  const submit = (e) => {
    e.preventDefault();
    onChange(account, {
      quota_documents_per_day: documents.trim() === "" ? null : Math.round(Number(documents)),
      quota_storage_bytes: storage.trim() === "" ? null : Math.round(Number(storage) * MB),
    });
  };
  return html`<details class="quota-edit">
    <summary>${t("admin.quota_edit")}</summary>
    <form onSubmit=${submit} aria-label=${t("admin.action_for", { action: t("admin.quota_edit"), name: account.username })}>
      <div class="field">
        <label for=${`${id}-documents`}>${t("admin.quota_documents_per_day")}</label>
        <input id=${`${id}-documents`} type="number" min="0" step="1" inputmode="numeric" value=${documents}
          placeholder=${t("admin.quota_default")} aria-describedby=${`${id}-hint`} onInput=${(e) => setDocuments(e.currentTarget.value)} />
      </div>
      <div class="field">
        <label for=${`${id}-storage`}>${t("admin.quota_storage_mb")}</label>
        <input id=${`${id}-storage`} type="number" min="0" step="any" inputmode="decimal" value=${storage}
          placeholder=${t("admin.quota_default")} aria-describedby=${`${id}-hint`} onInput=${(e) => setStorage(e.currentTarget.value)} />
      </div>
      <p class="hint" id=${`${id}-hint`}>${t("admin.quota_hint")}</p>
      <button type="submit" class="btn btn-small btn-primary" disabled=${busy}>${t("admin.quota_save")}</button>
    </form>
  </details>`;
}

function UserRow({ account, me, busy, onChange }) {
  const self = account.id === me.id;
  const name = account.username;
  return html`<tr>
    <td>
      <strong>${name}</strong>
      ${account.full_name ? html`<div class="muted">${account.full_name}</div>` : null}
      ${self ? html`<div class="hint">${t("admin.this_is_you")}</div>` : null}
    </td>
    <td class="col-optional">${account.email}</td>
    <td>
      <span class=${account.is_active ? "badge badge-completed" : "badge badge-failed"}>
        ${account.is_active ? t("admin.active") : t("admin.inactive")}
      </span>
    </td>
    <td>${account.is_superuser ? t("admin.role_superuser") : t("admin.role_user")}</td>
    <td class="num col-optional">${fmtNumber(account.document_count)}</td>
    <td class="num col-optional">${fmtBytes(account.storage_bytes)}</td>
    <td class="col-optional quota-cell">
      <div>${fmtNumber(account.documents_today)} / ${limitText(account.documents_per_day_limit, fmtNumber)}</div>
      <div class="muted">${fmtBytes(account.storage_bytes)} / ${limitText(account.storage_bytes_limit, fmtBytes)}</div>
    </td>
    <td class="col-optional">${fmtDateTime(account.created_at)}</td>
    <td>
      <div class="row">
        <button type="button" class=${account.is_active ? "btn btn-small btn-danger" : "btn btn-small"}
          disabled=${self || busy} aria-label=${t("admin.action_for", { action: t(account.is_active ? "admin.deactivate" : "admin.activate"), name })}
          onClick=${() => onChange(account, { is_active: !account.is_active })}>
          ${account.is_active ? t("admin.deactivate") : t("admin.activate")}
        </button>
        <button type="button" class="btn btn-small" disabled=${self || busy}
          aria-label=${t("admin.action_for", { action: t(account.is_superuser ? "admin.revoke_superuser" : "admin.grant_superuser"), name })}
          onClick=${() => onChange(account, { is_superuser: !account.is_superuser })}>
          ${account.is_superuser ? t("admin.revoke_superuser") : t("admin.grant_superuser")}
        </button>
        <${QuotaForm} key=${`${account.quota_documents_per_day}-${account.quota_storage_bytes}`} account=${account} busy=${busy} onChange=${onChange} />
      </div>
    </td>
  </tr>`;
}

export default function Page({ query, path, user, navigate }) {
  const list = useAdminList("/api/v1/admin/users", { query, path, navigate, defaults: DEFAULTS });
  const { values, apply } = list;

  const change = async (account, patch) => {
    const name = account.username;
    if (patch.is_active === false) {
      const sure = await confirmDialog({
        title: t("admin.deactivate_confirm_title", { name }),
        message: t("admin.deactivate_confirm_text", { name }),
        confirmLabel: t("admin.deactivate"),
        danger: true,
      });
      if (!sure) return;
    }
    await list.runAction(
      account.id,
      () => api(`/api/v1/admin/users/${account.id}`, { method: "PATCH", json: patch }),
      (updated) => {
        const key =
          "quota_documents_per_day" in patch
            ? "admin.quota_saved"
            : patch.is_active === undefined
            ? updated.is_superuser ? "admin.granted" : "admin.revoked"
            : updated.is_active ? "admin.activated" : "admin.deactivated";
        return t(key, { name });
      },
    );
  };

  const body = listBody(
    list,
    html`<${EmptyState} icon="search" title=${t("admin.users_empty_title")} text=${t("admin.users_empty_text")} />`,
    () => html`<p class="muted" aria-live="polite">${t("admin.users_count", { n: fmtNumber(list.data.total) })}</p>
      <${AdminTable}
        list=${list}
        caption=${t("admin.users")}
        head=${html`<th scope="col">${t("admin.col_user")}</th>
          <th scope="col" class="col-optional">${t("admin.col_email")}</th>
          <th scope="col">${t("admin.col_state")}</th>
          <th scope="col">${t("admin.col_role")}</th>
          <th scope="col" class="num col-optional">${t("admin.col_documents")}</th>
          <th scope="col" class="num col-optional">${t("admin.col_storage")}</th>
          <th scope="col" class="col-optional">${t("admin.col_quota")}</th>
          <th scope="col" class="col-optional">${t("admin.col_joined")}</th>
          <th scope="col">${t("admin.col_actions")}</th>`}
        row=${(account) =>
          html`<${UserRow} key=${account.id} account=${account} me=${user} busy=${list.busy === account.id} onChange=${change} />`}
      />`,
  );

  return html`<${PageTitle}>${t("admin.users")}<//>
    <${AdminNav} path=${path} />
    <${Filters} key=${query.toString()} values=${values} onApply=${apply} />
    ${body}`;
}
