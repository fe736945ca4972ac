// Korean first, English on request (kept in localStorage). Messages live in i18n/ko.json and
// i18n/en.json (the same keys: a unit test checks it, and that every error_code the service can return
// has words in both). t("key", {name}) fills {name} placeholders.

const STORAGE_KEY = "docproc_lang";
export const LANGUAGES = ["ko", "en"];

const catalogs = {};
let lang = "ko";
const listeners = new Set();

function stored() {
  try {
    const value = localStorage.getItem(STORAGE_KEY);
    return LANGUAGES.includes(value) ? value : null;
  } catch {
    return null;
  }
}

async function loadCatalog(code) {
  if (!catalogs[code]) {
    const response = await fetch(`/static/app/i18n/${code}.json`, { credentials: "same-origin" });
    catalogs[code] = await response.json();
  }
  return catalogs[code];
}

/** Load the saved language (Korean by default) before the first render. */
export async function initI18n() {
  lang = stored() || "ko";
  await loadCatalog("ko");
  if (lang !== "ko") await loadCatalog(lang);
  document.documentElement.lang = lang;
}

export function getLang() {
  return lang;
}

export function locale() {
  return lang === "ko" ? "ko-KR" : "en-US";
}

export async function setLang(code) {
  if (!LANGUAGES.includes(code)) return;
  await loadCatalog(code);
  lang = code;
  try {
    localStorage.setItem(STORAGE_KEY, code);
  } catch {
    /* private mode: the choice lasts for this page only */
  }
  document.documentElement.lang = code;
  for (const fn of listeners) fn(code);
}

export function onLangChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export function has(key) {
  return key in (catalogs[lang] || {}) || key in (catalogs.ko || {});
}

export function t(key, params) {
  let text = (catalogs[lang] || {})[key];
  if (text === undefined) text = (catalogs.ko || {})[key];
  if (text === undefined) return key;
  if (params) text = text.replace(/\{(\w+)\}/g, (m, name) => (name in params ? String(params[name]) : m));
  return text;
}

/** Words for an error_code (an ApiError, or a document's failure code). */
export function errorText(codeOrError) {
  const code = typeof codeOrError === "string" ? codeOrError : codeOrError && codeOrError.error_code;
  if (code && has(`error.${code}`)) return t(`error.${code}`);
  return t("error.UNKNOWN", { code: code || "?" });
}

/** Words for a processing warning code (extraction or upload warnings). */
export function warningText(code, fallback) {
  if (has(`warning.${code}`)) return t(`warning.${code}`);
  return fallback || code;
}

export function stageText(stage) {
  return has(`stage.${stage}`) ? t(`stage.${stage}`) : stage || "";
}

export function statusText(status) {
  return has(`status.${status}`) ? t(`status.${status}`) : status || "";
}

// Formatters in the current language.
export function fmtNumber(n, opts) {
  if (n === null || n === undefined || n === "") return "–";
  const num = Number(n);
  return Number.isFinite(num) ? num.toLocaleString(locale(), opts) : String(n);
}

export function fmtDateTime(iso) {
  if (!iso) return "–";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return d.toLocaleString(locale(), { dateStyle: "medium", timeStyle: "short" });
}

export function fmtDate(iso) {
  if (!iso) return "–";
  // A bare date (YYYY-MM-DD) is a calendar date: no time zone shift.
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(String(iso));
  const d = m ? new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return d.toLocaleDateString(locale(), { dateStyle: "medium" });
}

export function fmtBytes(bytes) {
  if (bytes === null || bytes === undefined) return "–";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let value = Number(bytes);
  let i = 0;
  while (value >= 1024 && i < units.length - 1) {
    value /= 1024;
    i += 1;
  }
  return `${value.toLocaleString(locale(), { maximumFractionDigits: i ? 1 : 0 })} ${units[i]}`;
}

export function fmtDuration(ms) {
  if (ms === null || ms === undefined) return "–";
  if (ms < 1000) return t("unit.ms", { n: fmtNumber(Math.round(ms)) });
  return t("unit.s", { n: fmtNumber(ms / 1000, { maximumFractionDigits: 1 }) });
}
