// The web app's entry: session restore, i18n, router (history API), layout.
//
// PAGE MODULES. Each route maps to an ES module under /static/app (ROUTES below) that exports
//   export default function Page(props)        // a Preact component (htm: html`...`)
// props: { params, query, path, user, navigate(path, {replace}) }.
//   params: route parameters ({id} for /documents/:id, /batches/:id); query: URLSearchParams of the location.
// Optionally `export const titleKey = "nav.stats"` (i18n key of the document title).
// A page renders its own <PageTitle> (the <h1>, focused after navigation) and its states
// (Loading / ErrorState / EmptyState from components.js). Internal links are plain <a href="/...">:
// clicks on them are routed here without a reload. `access`: "guest" pages send a logged-in user to
// /documents, "user" pages need a session (else /login?next=...), "admin" pages need is_superuser.

import { html, render, useState, useEffect, useCallback, useRef } from "./preact.js";
import { initI18n, onLangChange, t } from "./i18n.js";
import { getUser, onAuthChange, refreshSession, logout } from "./api.js";
import { startLive } from "./ws.js";
import { Layout, Loading, ErrorState, NotFoundState, PageTitle, toast } from "./components.js";

const ROUTES = [
  { pattern: "/", redirect: (user) => (user ? "/documents" : "/login") },
  { pattern: "/login", module: "./pages/login.js", access: "guest", titleKey: "nav.login" },
  { pattern: "/signup", module: "./pages/signup.js", access: "guest", titleKey: "nav.signup" },
  { pattern: "/upload", module: "./pages/upload.js", access: "user", titleKey: "nav.upload" },
  { pattern: "/documents", module: "./pages/documents.js", access: "user", titleKey: "nav.documents" },
  { pattern: "/documents/:id", module: "./pages/document.js", access: "user", titleKey: "doc.title" },
  { pattern: "/batches/:id", module: "./pages/batch.js", access: "user", titleKey: "batch.title" },
  { pattern: "/stats", module: "./pages/stats.js", access: "user", titleKey: "nav.stats" },
  { pattern: "/profile", module: "./pages/profile.js", access: "user", titleKey: "nav.profile" },
  { pattern: "/admin", module: "./admin/index.js", access: "admin", titleKey: "nav.admin" },
  { pattern: "/admin/users", module: "./admin/users.js", access: "admin", titleKey: "admin.users" },
  { pattern: "/admin/documents", module: "./admin/documents.js", access: "admin", titleKey: "admin.documents" },
  { pattern: "/admin/operations", module: "./admin/operations.js", access: "admin", titleKey: "admin.operations" },
];

function match(path) {
  const clean = path.length > 1 ? path.replace(/\/+$/, "") : path;
  for (const route of ROUTES) {
    const names = [];
    const re = new RegExp(
      "^" + route.pattern.replace(/:(\w+)/g, (_, name) => (names.push(name), "([^/]+)")) + "$",
    );
    const m = re.exec(clean);
    if (m) {
      const params = {};
      names.forEach((name, i) => (params[name] = decodeURIComponent(m[i + 1])));
      return { route, params };
    }
  }
  return null;
}

const moduleCache = new Map();
function loadModule(spec) {
  if (!moduleCache.has(spec)) moduleCache.set(spec, import(spec));
  return moduleCache.get(spec);
}

let navigateImpl = () => {};
/** Go to an app path (pushState); replace: true replaces the history entry. */
export function navigate(to, opts) {
  navigateImpl(to, opts);
}

function App() {
  const [location, setLocation] = useState({ path: window.location.pathname, search: window.location.search });
  const [user, setUser] = useState(getUser());
  const [, setLangTick] = useState(0);
  const [page, setPage] = useState({ status: "loading" });

  const go = useCallback((to, { replace = false } = {}) => {
    const url = new URL(to, window.location.origin);
    if (replace) history.replaceState(null, "", url.pathname + url.search + url.hash);
    else history.pushState(null, "", url.pathname + url.search + url.hash);
    setLocation({ path: url.pathname, search: url.search });
    window.scrollTo(0, 0);
  }, []);
  navigateImpl = go;

  useEffect(() => onAuthChange(setUser), []);
  useEffect(() => {
    const onEnded = () => toast(t("auth.session_ended"), "error");
    window.addEventListener("docproc:session-ended", onEnded);
    return () => window.removeEventListener("docproc:session-ended", onEnded);
  }, []);
  useEffect(() => onLangChange(() => setLangTick((n) => n + 1)), []);
  useEffect(() => {
    const onPop = () => setLocation({ path: window.location.pathname, search: window.location.search });
    window.addEventListener("popstate", onPop);
    // Same-origin links are routed here; downloads, new tabs, modified clicks and the API are not.
    const onClick = (e) => {
      if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
      const a = e.target.closest && e.target.closest("a[href]");
      if (!a || a.target || a.hasAttribute("download")) return;
      const url = new URL(a.href, window.location.href);
      if (url.origin !== window.location.origin) return;
      if (/^\/(api|static|docs|redoc|health|metrics|ws)(\/|$)/.test(url.pathname)) return;
      if (url.pathname === window.location.pathname && url.hash && !url.search) return; // in-page anchor
      e.preventDefault();
      go(url.pathname + url.search + url.hash);
    };
    document.addEventListener("click", onClick);
    return () => {
      window.removeEventListener("popstate", onPop);
      document.removeEventListener("click", onClick);
    };
  }, [go]);

  const found = match(location.path);

  // Access rules and redirects.
  useEffect(() => {
    // An effect of a render the location has already left (a page navigated meanwhile) must not redirect.
    if (!found || window.location.pathname !== location.path || window.location.search !== location.search) return;
    const { route } = found;
    if (route.redirect) {
      go(route.redirect(user), { replace: true });
    } else if (route.access === "guest" && user) {
      const next = new URLSearchParams(location.search).get("next");
      go(next && next.startsWith("/") && !next.startsWith("//") ? next : "/documents", { replace: true });
    } else if ((route.access === "user" || route.access === "admin") && !user) {
      go(`/login?next=${encodeURIComponent(location.path + location.search)}`, { replace: true });
    }
  }, [found && found.route, user, location.path, location.search]);

  // Load the page module.
  useEffect(() => {
    if (!found || !found.route.module) return;
    let alive = true;
    setPage((p) => (p.spec === found.route.module ? p : { status: "loading" }));
    loadModule(found.route.module).then(
      (mod) => alive && setPage({ status: "ready", spec: found.route.module, Page: mod.default, mod }),
      (error) => alive && setPage({ status: "error", error }),
    );
    return () => {
      alive = false;
    };
  }, [found && found.route.module]);

  // Title and focus after navigation.
  const titleKey = found && (page.mod && page.mod.titleKey ? page.mod.titleKey : found.route.titleKey);
  useEffect(() => {
    document.title = titleKey ? `${t(titleKey)} · ${t("app.name")}` : t("app.name");
  });
  const firstPage = useRef(true);
  useEffect(() => {
    if (page.status !== "ready") return;
    if (firstPage.current) {
      firstPage.current = false;
      return;
    }
    const h1 = document.getElementById("page-title");
    if (h1 && document.activeElement !== h1 && !document.activeElement.closest("main")) h1.focus({ preventScroll: true });
  }, [location.path, page.status]);

  const onLogout = async () => {
    await logout();
    toast(t("auth.logged_out"), "success");
    go("/login");
  };

  let content;
  if (!found) {
    content = html`<${PageTitle}>${t("common.not_found_title")}<//><${NotFoundState} />`;
  } else if (found.route.redirect) {
    content = html`<${Loading} />`;
  } else if ((found.route.access === "user" || found.route.access === "admin") && !user) {
    content = html`<${Loading} />`;
  } else if (found.route.access === "admin" && !user.is_superuser) {
    content = html`<${PageTitle}>${t("nav.admin")}<//>
      <${ErrorState} title=${t("admin.forbidden_title")} error=${{ error_code: "SUPERUSER_REQUIRED" }} />`;
  } else if (page.status === "error") {
    content = html`<${ErrorState} error=${page.error} onRetry=${() => window.location.reload()} />`;
  } else if (page.status !== "ready" || page.spec !== found.route.module) {
    content = html`<${Loading} />`;
  } else {
    const Page = page.Page;
    content = html`<${Page}
      key=${found.route.pattern + JSON.stringify(found.params)}
      params=${found.params}
      query=${new URLSearchParams(location.search)}
      path=${location.path}
      user=${user}
      navigate=${go}
    />`;
  }
  return html`<${Layout} user=${user} path=${location.path} onLogout=${onLogout}>${content}<//>`;
}

async function boot() {
  await initI18n();
  // A refresh cookie from an earlier visit restores the session without asking for the password.
  await refreshSession();
  startLive();
  const root = document.getElementById("app");
  root.textContent = "";
  render(html`<${App} />`, root);
}

boot();
