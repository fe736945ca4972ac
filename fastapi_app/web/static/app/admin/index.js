// /admin: the admin section's start: what needs attention (failed documents, inactive accounts) and
// the way to each admin page.

import { html } from "../preact.js";
import { t, fmtNumber } from "../i18n.js";
import { api } from "../api.js";
import { PageTitle, Loading, ErrorState, useAsync } from "../components.js";
import { AdminNav } from "./common.js";

export const titleKey = "nav.admin";

async function load() {
  const one = { page: 1, page_size: 1 };
  const [users, inactive, documents, failed] = await Promise.all([
    api("/api/v1/admin/users", { envelope: true, query: one }),
    api("/api/v1/admin/users", { envelope: true, query: { ...one, is_active: false } }),
    api("/api/v1/admin/documents", { envelope: true, query: one }),
    api("/api/v1/admin/documents", { envelope: true, query: { ...one, status: "failed" } }),
  ]);
  return { users: users.total, inactive: inactive.total, documents: documents.total, failed: failed.total };
}

export default function Page({ path }) {
  const counts = useAsync(load, []);
  let figures;
  if (counts.error) figures = html`<${ErrorState} error=${counts.error} onRetry=${counts.reload} />`;
  else if (!counts.data) figures = html`<${Loading} />`;
  else
    figures = html`<dl class="stat-cards">
      <div><dt>${t("admin.ops_users")}</dt><dd>${fmtNumber(counts.data.users)}</dd></div>
      <div><dt>${t("admin.inactive_users")}</dt><dd>${fmtNumber(counts.data.inactive)}</dd></div>
      <div><dt>${t("admin.ops_documents")}</dt><dd>${fmtNumber(counts.data.documents)}</dd></div>
      <div><dt>${t("admin.failed_documents")}</dt><dd>${fmtNumber(counts.data.failed)}</dd></div>
    </dl>`;
  return html`<${PageTitle}>${t("nav.admin")}<//>
    <${AdminNav} path=${path} />
    ${figures}
    <div class="grid">
      <section class="card">
        <h2><a href="/admin/users">${t("admin.users")}</a></h2>
        <p>${t("admin.users_intro")}</p>
      </section>
      <section class="card">
        <h2><a href="/admin/documents">${t("admin.documents")}</a></h2>
        <p>${t("admin.documents_intro")}</p>
      </section>
      <section class="card">
        <h2><a href="/admin/operations">${t("admin.operations")}</a></h2>
        <p>${t("admin.operations_intro")}</p>
      </section>
    </div>`;
}
