import { html } from "../preact.js";
import { t } from "../i18n.js";
import { PageTitle, Loading } from "../components.js";

export default function Page() {
  return html`<${PageTitle}>${t("doc.title")}<//><${Loading} />`;
}
