// The API client. The access token lives only in this module's memory (never in storage: a script
// injected into the page could read storage); the refresh token is an httpOnly cookie the browser sends
// to /api/v1/auth/session/* only, guarded by the double-submit CSRF cookie `docproc_csrf`.
//
// Every call returns the envelope's `data` (lists: the whole envelope, for total/page/total_pages) or
// throws an ApiError carrying the envelope's error_code. A 401 triggers one refresh and one retry.

const CSRF_COOKIE = "docproc_csrf";

let accessToken = null;
let currentUser = null;
let refreshing = null; // the refresh in flight: concurrent 401s share it
let renewTimer = null;
const authListeners = new Set();

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `HTTP ${status}`);
    this.name = "ApiError";
    this.status = status;
    this.error_code = (body && body.error_code) || (status === 0 ? "NETWORK_ERROR" : "HTTP_ERROR");
    this.details = (body && body.details) || null;
  }
}

export function getToken() {
  return accessToken;
}

export function getUser() {
  return currentUser;
}

/** Called with the user (or null) whenever the session starts, changes or ends. */
export function onAuthChange(fn) {
  authListeners.add(fn);
  return () => authListeners.delete(fn);
}

function setSession(data) {
  accessToken = data ? data.access_token : null;
  currentUser = data ? data.user : null;
  // Renew a minute before the access token expires, so requests never meet an expired token (a 401 in
  // the console, a retry) and the WebSocket reconnects with a fresh one.
  clearTimeout(renewTimer);
  if (data && data.expires_in) renewTimer = setTimeout(refreshSession, Math.max(10, data.expires_in - 60) * 1000);
  for (const fn of authListeners) fn(currentUser);
}

// Refresh tokens rotate and a reused one ends the session: two tabs refreshing with the same cookie at
// once would log both out. The Web Locks API (where available: secure contexts) makes tabs take turns;
// the second then sends the cookie the first one received.
function withRefreshLock(fn) {
  if (navigator.locks && navigator.locks.request) return navigator.locks.request("docproc-refresh", fn);
  return fn();
}

export function setUser(user) {
  currentUser = user;
  for (const fn of authListeners) fn(currentUser);
}

/** Forget the session locally (after the server ended it, e.g. a password change). */
export function clearSession() {
  setSession(null);
}

function readCookie(name) {
  for (const part of document.cookie.split(";")) {
    const [k, ...v] = part.trim().split("=");
    if (k === name) return decodeURIComponent(v.join("="));
  }
  return null;
}

function buildUrl(path, query) {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === null || v === "") continue;
    if (Array.isArray(v)) v.forEach((item) => params.append(k, item));
    else params.append(k, String(v));
  }
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

async function parseBody(response) {
  const type = response.headers.get("content-type") || "";
  if (!type.includes("json")) return null;
  try {
    return await response.json();
  } catch {
    return null;
  }
}

/**
 * Restore or renew the session from the refresh cookie. Resolves to the user, or null when there is no
 * session. Without the CSRF cookie there cannot be one: no request is made (a 401 would be a console
 * error on every visit of a logged-out user).
 */
export function refreshSession() {
  if (refreshing) return refreshing;
  const csrf = readCookie(CSRF_COOKIE);
  if (!csrf) {
    if (accessToken) setSession(null);
    return Promise.resolve(null);
  }
  refreshing = (async () => {
    try {
      const response = await withRefreshLock(() =>
        fetch("/api/v1/auth/session/refresh", {
          method: "POST",
          // Read again inside the lock: another tab may have rotated the cookies meanwhile.
          headers: { "X-CSRF-Token": readCookie(CSRF_COOKIE) || csrf, Accept: "application/json" },
          credentials: "same-origin",
        }),
      );
      const body = await parseBody(response);
      if (!response.ok || !body || !body.success) {
        setSession(null);
        return null;
      }
      setSession(body.data);
      return body.data.user;
    } catch {
      // The network is down: keep what we have, the caller shows the error.
      return null;
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

/**
 * Call the API. Options: method, query (object), json (body as JSON), form (FormData), raw (return the
 * Response itself, for files), envelope (return the whole envelope: lists), signal.
 */
export async function api(path, opts = {}, retried = false) {
  const { method = "GET", query, json, form, raw = false, envelope = false, signal } = opts;
  const headers = { Accept: raw ? "*/*" : "application/json" };
  if (accessToken) headers.Authorization = `Bearer ${accessToken}`;
  let body;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (form) {
    body = form;
  }
  let response;
  try {
    response = await fetch(buildUrl(path, query), { method, headers, body, signal, credentials: "same-origin" });
  } catch (err) {
    if (err && err.name === "AbortError") throw err;
    throw new ApiError(0, null);
  }
  if (response.status === 401 && !retried && accessToken && !path.startsWith("/api/v1/auth/session")) {
    const user = await refreshSession();
    if (user) return api(path, opts, true);
  }
  if (raw && response.ok) return response;
  const parsed = await parseBody(response);
  if (!response.ok || (parsed && parsed.success === false)) {
    if (response.status === 401 && !path.startsWith("/api/v1/auth/session")) setSession(null);
    throw new ApiError(response.status, parsed);
  }
  if (envelope) return parsed;
  return parsed ? parsed.data : null;
}

export async function login(username, password) {
  const data = await api("/api/v1/auth/session", { method: "POST", json: { username, password } });
  setSession(data);
  return data.user;
}

export async function logout() {
  const csrf = readCookie(CSRF_COOKIE);
  try {
    await fetch("/api/v1/auth/session/logout", {
      method: "POST",
      headers: csrf ? { "X-CSRF-Token": csrf } : {},
      credentials: "same-origin",
    });
  } finally {
    setSession(null);
  }
}

let sessionEndExpected = false;

/** The next end of every session is ours (a password change): no "session ended" notice for it. */
export function expectSessionEnd(expected = true) {
  sessionEndExpected = expected;
}

/**
 * The server ended every session of the account (password change, logout everywhere, account
 * disabled): a refresh can only fail now, so clear the cookies and the token at once, and tell the app
 * (event "docproc:session-ended") unless the page itself asked for it.
 */
export async function sessionEnded() {
  if (!accessToken) return;
  const announce = !sessionEndExpected;
  await logout();
  if (announce) window.dispatchEvent(new CustomEvent("docproc:session-ended"));
}

export function register({ username, email, password, full_name }) {
  return api("/api/v1/auth/register", { method: "POST", json: { username, email, password, full_name: full_name || null } });
}

// A multipart POST with XMLHttpRequest (fetch has no upload progress). onProgress(loaded, total).
// Resolves to the envelope's data; rejects with ApiError. Retries once after a refresh on 401.
function postForm(path, makeForm, onProgress, retried = false) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", path);
    xhr.responseType = "json";
    if (accessToken) xhr.setRequestHeader("Authorization", `Bearer ${accessToken}`);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.onprogress = (e) => {
      if (onProgress && e.lengthComputable) onProgress(e.loaded, e.total);
    };
    xhr.onerror = () => reject(new ApiError(0, null));
    xhr.onload = () => {
      const body = xhr.response;
      if (xhr.status === 401 && !retried) {
        refreshSession().then((user) => {
          if (user) postForm(path, makeForm, onProgress, true).then(resolve, reject);
          else reject(new ApiError(401, body));
        });
        return;
      }
      if (xhr.status >= 200 && xhr.status < 300 && body && body.success) resolve(body.data);
      else reject(new ApiError(xhr.status, body));
    };
    xhr.send(makeForm());
  });
}

/** Upload one file. Resolves to the new document. */
export function uploadFile(file, { password, onProgress } = {}) {
  return postForm(
    "/api/v1/documents/upload",
    () => {
      const form = new FormData();
      form.append("file", file, file.name);
      if (password) form.append("password", password);
      return form;
    },
    onProgress,
  );
}

/**
 * Upload many files as one batch (README "Batches"): `archive` (one ZIP) or `files`. Resolves to the
 * 202's data (batch_id, total, accepted, rejected, items); a batch with nothing accepted rejects with
 * BATCH_REJECTED, whose details.items give each file's code.
 */
export function uploadBatch({ files = [], archive = null }, { onProgress } = {}) {
  return postForm(
    "/api/v1/documents/batch",
    () => {
      const form = new FormData();
      if (archive) form.append("archive", archive, archive.name);
      else files.forEach((file) => form.append("files", file, file.name));
      return form;
    },
    onProgress,
  );
}

function filenameFrom(disposition, fallback) {
  if (!disposition) return fallback;
  const star = /filename\*\s*=\s*UTF-8''([^;]+)/i.exec(disposition);
  if (star) {
    try {
      return decodeURIComponent(star[1].trim());
    } catch {
      /* a malformed name: use the plain one */
    }
  }
  const plain = /filename\s*=\s*"?([^";]+)"?/i.exec(disposition);
  return plain ? plain[1] : fallback;
}

/** Save a response as a file: fetched with the bearer header, handed to the browser as a blob: link. */
export async function saveResponse(response, fallbackName) {
  const blob = await response.blob();
  const name = filenameFrom(response.headers.get("content-disposition"), fallbackName);
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  a.hidden = true;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  return name;
}

/** GET (or POST) a file with the bearer header and save it. */
export async function download(path, { fallbackName = "download", method = "GET", json, query } = {}) {
  const response = await api(path, { method, json, query, raw: true });
  return saveResponse(response, fallbackName);
}

/** An image fetched with the bearer header, as a blob: URL (revoke it when done). */
export async function imageUrl(path, query) {
  const response = await api(path, { query, raw: true });
  return URL.createObjectURL(await response.blob());
}
