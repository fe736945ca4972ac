// Shared pieces of the admin pages (superusers only; main.js refuses everyone else before these load).

import { html, useState } from "../preact.js";
import { t, errorText } from "../i18n.js";
import { api } from "../api.js";
import { Loading, ErrorState, Pager, useAsync, toast } from "../components.js";

// A stylesheet of the admin pages' own, added once when the first admin page loads (a same-origin
// <link>: allowed by the CSP's style-src 'self', and nobody else downloads it).
if (!document.querySelector('link[data-admin-css]')) {
  const link = document.createElement("link");
  link.rel = "stylesheet";
  link.href = "/static/app/admin/admin.css";
  link.dataset.adminCss = "";
  document.head.appendChild(link);
}

const SECTIONS = [
  ["/admin", "admin.overview"],
  ["/admin/users", "admin.users"],
  ["/admin/documents", "admin.documents"],
  ["/admin/operations", "admin.operations"],
];

/** The admin section's own navigation (a second <nav>, named apart from the site's). */
export function AdminNav({ path }) {
  return html`<nav class="admin-nav" aria-label=${t("admin.nav_label")}>
    <ul>
      ${SECTIONS.map(
        ([href, key]) =>
          html`<li><a href=${href} aria-current=${path === href ? "page" : undefined}>${t(key)}</a></li>`,
      )}
    </ul>
  </nav>`;
}

/** A query object from the URL's search params, with defaults. */
export function readQuery(query, defaults) {
  const out = { ...defaults };
  for (const key of Object.keys(defaults)) {
    const value = query.get(key);
    if (value !== null) out[key] = typeof defaults[key] === "number" ? Number(value) || defaults[key] : value;
  }
  return out;
}

/** The URL for `path` with the non-default values of `values` (so filters survive a reload and Back). */
export function withQuery(path, values, defaults) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(values)) {
    if (value !== "" && value !== null && value !== undefined && value !== defaults[key]) params.set(key, String(value));
  }
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

const PAGE_SIZE = 20;

/**
 * A filtered, paged admin list of `url` whose filters live in the URL's query (`defaults` names them).
 * Returns the useAsync state of the page (data: {data, total, page, total_pages}) with:
 *  - values: the filters read from the query; apply(next): navigate to other filters;
 *  - busy: the id of the row whose action runs (its buttons are disabled meanwhile);
 *  - runAction(id, action, successText): await action(), put the row it returns in place of the
 *    row with the same id, and toast successText(updated) or the error.
 */
export function useAdminList(url, { query, path, navigate, defaults }) {
  const values = readQuery(query, defaults);
  const [busy, setBusy] = useState(null);
  const list = useAsync(
    () => api(url, { envelope: true, query: { ...values, page_size: PAGE_SIZE } }),
    Object.keys(defaults).map((key) => values[key]),
  );
  const apply = (next) => navigate(withQuery(path, next, defaults));
  const runAction = async (id, action, successText) => {
    setBusy(id);
    try {
      const updated = await action();
      list.setData((env) => env && { ...env, data: env.data.map((item) => (item.id === updated.id ? updated : item)) });
      toast(successText(updated), "success");
    } catch (error) {
      toast(errorText(error), "error");
    } finally {
      setBusy(null);
    }
  };
  return { ...list, values, apply, busy, runAction };
}

/**
 * The filter form of an admin list: `fields(draft, set)` renders its fields, `set(key)` is their input
 * handler; Apply (or Enter) sends the draft, from page 1, to `onApply`.
 */
export function FilterForm({ values, onApply, fields }) {
  const [draft, setDraft] = useState(values);
  const set = (key) => (e) => setDraft({ ...draft, [key]: e.currentTarget.value });
  const submit = (e) => {
    e.preventDefault();
    onApply({ ...draft, page: 1 });
  };
  return html`<form class="card filters" role="search" onSubmit=${submit}>
    ${fields(draft, set)}
    <div class="field">
      <button type="submit" class="btn btn-primary">${t("admin.apply")}</button>
    </div>
  </form>`;
}

/** What an admin list shows: its error, its loading, `empty` when the page has no rows, else `loaded()`. */
export function listBody(list, empty, loaded) {
  if (list.error) return html`<${ErrorState} error=${list.error} onRetry=${list.reload} />`;
  if (!list.data) return html`<${Loading} />`;
  if (!list.data.data.length) return empty;
  return loaded();
}

/** The loaded page of an admin list as a table (`head`: its column headers; `row(item)`: one row), then the pager. */
export function AdminTable({ list, caption, head, row }) {
  return html`<div class="table-wrap">
      <table class="doc-table admin-table">
        <caption class="sr-only">${caption}</caption>
        <thead>
          <tr>
            ${head}
          </tr>
        </thead>
        <tbody>
          ${list.data.data.map(row)}
        </tbody>
      </table>
    </div>
    <${Pager} page=${list.data.page} totalPages=${list.data.total_pages} onPage=${(page) => list.apply({ ...list.values, page })} />`;
}
