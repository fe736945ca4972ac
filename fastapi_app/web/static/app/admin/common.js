// Shared pieces of the admin pages (superusers only; main.js refuses everyone else before these load).

import { html } from "../preact.js";
import { t } from "../i18n.js";

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
