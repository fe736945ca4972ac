// Admin page placeholder (filled in by the admin helper). Page-module shape: see the top of main.js.
import { html } from "../preact.js";
import { t } from "../i18n.js";
import { PageTitle, EmptyState } from "../components.js";

export default function Page() {
  return html`<${PageTitle}>${t("admin.users")}<//>
    <${EmptyState} title=${t("admin.placeholder_title")} text=${t("admin.placeholder_text")} />`;
}
