// Shared UI: the layout (header, nav, language switch), status badge, progress bar, toasts, the
// confirm dialog, empty / error / loading states, pager, and a data-loading hook.
// No inline styles anywhere (the CSP forbids them): every look is a class in app.css.

import { html, useState, useEffect, useRef, useCallback } from "./preact.js";
import { onStatus, isConnected } from "./ws.js";
import { t, getLang, setLang, LANGUAGES, errorText, statusText, stageText } from "./i18n.js";

/* ---------- data loading ---------- */

/** Run an async loader when deps change: {data, error, loading, reload, setData}. */
export function useAsync(loader, deps) {
  const [state, setState] = useState({ data: null, error: null, loading: true });
  const seq = useRef(0);
  const run = useCallback(() => {
    const mine = ++seq.current;
    setState((s) => ({ data: s.data, error: null, loading: true }));
    Promise.resolve()
      .then(loader)
      .then(
        (data) => mine === seq.current && setState({ data, error: null, loading: false }),
        (error) => mine === seq.current && setState({ data: null, error, loading: false }),
      );
  }, deps);
  useEffect(() => {
    run();
    return () => {
      seq.current += 1;
    };
  }, [run]);
  const setData = useCallback((update) => setState((s) => ({ ...s, data: typeof update === "function" ? update(s.data) : update })), []);
  return { ...state, reload: run, setData };
}

/* ---------- toasts (announced by an aria-live region) ---------- */

let toastId = 0;
let toastItems = [];
const toastListeners = new Set();

/** Show a short message: kind is "info", "success" or "error". */
export function toast(message, kind = "info") {
  const id = ++toastId;
  toastItems = [...toastItems, { id, message, kind }];
  toastListeners.forEach((fn) => fn(toastItems));
  setTimeout(() => dismissToast(id), kind === "error" ? 8000 : 5000);
}

function dismissToast(id) {
  toastItems = toastItems.filter((item) => item.id !== id);
  toastListeners.forEach((fn) => fn(toastItems));
}

function Toasts() {
  const [items, setItems] = useState(toastItems);
  useEffect(() => {
    toastListeners.add(setItems);
    return () => toastListeners.delete(setItems);
  }, []);
  return html`<div class="toasts" role="status" aria-live="polite" aria-atomic="false">
    ${items.map(
      (item) => html`<div key=${item.id} class=${`toast toast-${item.kind}`}>
        <span>${item.message}</span>
        <button type="button" class="toast-close" aria-label=${t("common.close")} onClick=${() => dismissToast(item.id)}>×</button>
      </div>`,
    )}
  </div>`;
}

/* ---------- confirm dialog (native <dialog>: modal, Esc closes, focus stays inside) ---------- */

let confirmRequest = null;
const confirmListeners = new Set();

/** Ask before a destructive action. Resolves to true when confirmed. */
export function confirmDialog({ title, message, confirmLabel, danger = false }) {
  return new Promise((resolve) => {
    confirmRequest = { title, message, confirmLabel: confirmLabel || t("common.confirm"), danger, resolve };
    confirmListeners.forEach((fn) => fn(confirmRequest));
  });
}

function ConfirmHost() {
  const [request, setRequest] = useState(null);
  const dialog = useRef(null);
  useEffect(() => {
    confirmListeners.add(setRequest);
    return () => confirmListeners.delete(setRequest);
  }, []);
  useEffect(() => {
    const el = dialog.current;
    if (request && el && !el.open) el.showModal();
  }, [request]);
  const close = (answer) => {
    const el = dialog.current;
    if (el && el.open) el.close();
    if (request) request.resolve(answer);
    confirmRequest = null;
    setRequest(null);
  };
  if (!request) return null;
  return html`<dialog ref=${dialog} class="dialog" aria-labelledby="confirm-title" aria-describedby="confirm-text"
    onCancel=${(e) => {
      e.preventDefault();
      close(false);
    }}>
    <h2 id="confirm-title">${request.title}</h2>
    <p id="confirm-text">${request.message}</p>
    <div class="dialog-actions">
      <button type="button" class="btn" onClick=${() => close(false)}>${t("common.cancel")}</button>
      <button type="button" class=${request.danger ? "btn btn-danger" : "btn btn-primary"} onClick=${() => close(true)}>${request.confirmLabel}</button>
    </div>
  </dialog>`;
}

/* ---------- small pieces ---------- */

/** Whether live updates are flowing (the WebSocket), for pages that show live progress. */
export function LiveStatus() {
  const [connected, setConnected] = useState(isConnected());
  useEffect(() => onStatus(setConnected), []);
  return html`<span class=${connected ? "live live-on" : "live live-off"}>
    <span class="live-dot" aria-hidden="true"></span>${connected ? t("common.live_on") : t("common.live_off")}
  </span>`;
}

/** A decorative icon (static/app/icons/NAME.svg): empty alt, so screen readers skip it. */
export function Icon({ name }) {
  return html`<img class="state-icon" src=${`/static/app/icons/${name}.svg`} alt="" width="48" height="48" />`;
}

export function StatusBadge({ status }) {
  return html`<span class=${`badge badge-${status || "unknown"}`}>${statusText(status)}</span>`;
}

/** A labelled progress bar; value 0..max, or indeterminate when value is null. */
export function ProgressBar({ value, max = 100, label, id }) {
  const generated = useRef(`p${Math.random().toString(36).slice(2, 9)}`);
  const pid = id || generated.current;
  return html`<div class="progress">
    <label for=${pid} class="progress-label">${label}</label>
    ${value === null || value === undefined
      ? html`<progress id=${pid} max=${max}></progress>`
      : html`<progress id=${pid} max=${max} value=${value}>${Math.round((100 * value) / max)}%</progress>`}
  </div>`;
}

/** "Extracting the content · page 3 of 10 · 45%" for a document in flight. */
export function progressText(doc) {
  const parts = [stageText(doc.stage)];
  if (doc.current_page && doc.total_pages) parts.push(t("upload.page_of", { current: doc.current_page, total: doc.total_pages }));
  else if (doc.current_sheet && doc.total_sheets) parts.push(t("upload.sheet_of", { current: doc.current_sheet, total: doc.total_sheets }));
  parts.push(`${doc.progress || 0}%`);
  return parts.join(" · ");
}

/** Live progress of a pending or processing document (stage in words, page x of y, %). */
export function DocProgress({ doc, label }) {
  if (doc.status !== "pending" && doc.status !== "processing") return null;
  return html`<div class="doc-progress">
    <${ProgressBar} value=${doc.progress || 0} label=${label || progressText(doc)} />
    ${label ? html`<p class="hint">${progressText(doc)}</p>` : null}
  </div>`;
}

export function Loading({ label }) {
  return html`<div class="state state-loading" role="status"><span class="spinner" aria-hidden="true"></span>${label || t("common.loading")}</div>`;
}

export function EmptyState({ title, text, children, icon = "document" }) {
  return html`<section class="state state-empty">
    <${Icon} name=${icon} />
    <h2>${title}</h2>
    ${text ? html`<p>${text}</p>` : null}
    ${children}
  </section>`;
}

export function ErrorState({ error, onRetry, title }) {
  const code = error && error.error_code;
  return html`<section class="state state-error" role="alert">
    <${Icon} name="warning" />
    <h2>${title || t("common.error_title")}</h2>
    <p>${errorText(error)}</p>
    ${code ? html`<p class="muted">${t("common.error_code")}: <code>${code}</code></p>` : null}
    ${onRetry ? html`<button type="button" class="btn" onClick=${onRetry}>${t("common.retry")}</button>` : null}
  </section>`;
}

export function NotFoundState({ text }) {
  return html`<section class="state state-empty">
    <${Icon} name="search" />
    <h2>${t("common.not_found_title")}</h2>
    <p>${text || t("common.not_found_text")}</p>
    <p><a href="/documents">${t("nav.documents")}</a></p>
  </section>`;
}

/** The page's <h1>: focused after a route change so screen readers announce the new page. */
export function PageTitle({ children }) {
  return html`<h1 id="page-title" tabindex="-1">${children}</h1>`;
}

export function Pager({ page, totalPages, onPage, label }) {
  if (!totalPages || totalPages <= 1) return null;
  return html`<nav class="pager" aria-label=${label || t("common.pagination")}>
    <button type="button" class="btn" disabled=${page <= 1} onClick=${() => onPage(page - 1)}>${t("common.prev")}</button>
    <span aria-current="page">${t("common.page_of", { page, total: totalPages })}</span>
    <button type="button" class="btn" disabled=${page >= totalPages} onClick=${() => onPage(page + 1)}>${t("common.next")}</button>
  </nav>`;
}

export function LangSwitch() {
  const lang = getLang();
  return html`<div class="lang-switch">
    <label for="lang-select" class="sr-only">${t("common.language")}</label>
    <select id="lang-select" value=${lang} onChange=${(e) => setLang(e.currentTarget.value)}>
      ${LANGUAGES.map((code) => html`<option value=${code} lang=${code}>${t(`lang.${code}`)}</option>`)}
    </select>
  </div>`;
}

/* ---------- layout ---------- */

function NavLink({ href, path, children }) {
  const current = path === href || (href !== "/" && path.startsWith(href + "/"));
  return html`<li><a href=${href} aria-current=${current ? "page" : undefined}>${children}</a></li>`;
}

export function Layout({ user, path, onLogout, children }) {
  const [open, setOpen] = useState(false);
  useEffect(() => setOpen(false), [path]);
  return html`<div class="layout">
    <a class="skip-link" href="#main">${t("common.skip_to_content")}</a>
    <header class="site-header">
      <div class="header-inner">
        <a class="brand" href=${user ? "/documents" : "/login"}>${t("app.name")}</a>
        ${user
          ? html`<button type="button" class="nav-toggle" aria-expanded=${open ? "true" : "false"} aria-controls="site-nav"
              onClick=${() => setOpen(!open)}>${t("nav.menu")}</button>`
          : null}
        <nav id="site-nav" class=${open ? "site-nav open" : "site-nav"} aria-label=${t("nav.label")}>
          ${user
            ? html`<ul>
                <${NavLink} href="/upload" path=${path}>${t("nav.upload")}<//>
                <${NavLink} href="/documents" path=${path}>${t("nav.documents")}<//>
                <${NavLink} href="/stats" path=${path}>${t("nav.stats")}<//>
                ${user.is_superuser ? html`<${NavLink} href="/admin" path=${path}>${t("nav.admin")}<//>` : null}
                <${NavLink} href="/profile" path=${path}>${t("nav.profile")}<//>
              </ul>`
            : html`<ul>
                <${NavLink} href="/login" path=${path}>${t("nav.login")}<//>
                <${NavLink} href="/signup" path=${path}>${t("nav.signup")}<//>
              </ul>`}
        </nav>
        <div class="header-tools">
          <${LangSwitch} />
          ${user
            ? html`<span class="user-name" title=${user.email}>${user.full_name || user.username}</span>
                <button type="button" class="btn btn-small btn-on-dark" onClick=${onLogout}>${t("nav.logout")}</button>`
            : null}
        </div>
      </div>
    </header>
    <main id="main" tabindex="-1">${children}</main>
    <${Toasts} />
    <${ConfirmHost} />
  </div>`;
}
