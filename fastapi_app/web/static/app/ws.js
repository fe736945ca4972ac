// Live processing events over WebSocket /api/v1/ws?token=... (README "Live progress").
// One connection per tab while logged in; pages subscribe with onEvent(fn). Reconnects with backoff;
// close code 4401 (token expired) or 1008 (token refused) first renews the access token.

import { getToken, onAuthChange, refreshSession, sessionEnded } from "./api.js";

const listeners = new Set();
const statusListeners = new Set();
let socket = null;
let retryTimer = null;
let attempt = 0;
let wanted = false;
let pingTimer = null;

/**
 * fn(event) for every message: snapshot (on every (re)connection), document_processing,
 * document_completed, document_failed, batch.progress and batch.completed.
 */
export function onEvent(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** fn(connected: boolean) when the connection opens or drops. */
export function onStatus(fn) {
  statusListeners.add(fn);
  return () => statusListeners.delete(fn);
}

export function isConnected() {
  return !!socket && socket.readyState === WebSocket.OPEN;
}

function emitStatus(connected) {
  for (const fn of statusListeners) fn(connected);
}

function scheduleReconnect() {
  if (!wanted || retryTimer) return;
  // 1 s, 2 s, 4 s ... up to 30 s, with jitter so tabs do not reconnect in step.
  const delay = Math.min(30_000, 1000 * 2 ** attempt) * (0.75 + Math.random() * 0.5);
  attempt += 1;
  retryTimer = setTimeout(() => {
    retryTimer = null;
    open();
  }, delay);
}

function open() {
  const token = getToken();
  if (!wanted || !token || socket) return;
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(`${proto}//${location.host}/api/v1/ws?token=${encodeURIComponent(token)}`);
  socket = ws;
  ws.onopen = () => {
    attempt = 0;
    emitStatus(true);
    clearInterval(pingTimer);
    pingTimer = setInterval(() => {
      if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: "ping" }));
    }, 25_000);
  };
  ws.onmessage = (msg) => {
    let event;
    try {
      event = JSON.parse(msg.data);
    } catch {
      return;
    }
    if (event.type === "pong") return;
    for (const fn of listeners) fn(event);
  };
  ws.onclose = (e) => {
    clearInterval(pingTimer);
    if (socket === ws) socket = null;
    emitStatus(false);
    if (!wanted) return;
    if (e.code === 4401 && e.reason !== "token expired") {
      // The account's sessions ended (4401 with the reason, e.g. "password changed"): no refresh can work.
      sessionEnded();
      return;
    }
    if (e.code === 4401 || e.code === 1008) {
      // The token expired or was refused. Already renewed (the timer in api.js): reconnect with the new
      // one at once; otherwise renew it first (or stop if the session is over).
      if (getToken() && getToken() !== token) {
        open();
        return;
      }
      refreshSession().then((user) => {
        if (user) open();
      });
      return;
    }
    scheduleReconnect();
  };
}

function stop() {
  wanted = false;
  clearTimeout(retryTimer);
  retryTimer = null;
  clearInterval(pingTimer);
  if (socket) {
    const ws = socket;
    socket = null;
    ws.close(1000);
  }
}

/** Follow the session: connected while logged in, closed when logged out; a new token reconnects. */
export function startLive() {
  let lastToken = null;
  const sync = () => {
    const token = getToken();
    if (!token) {
      lastToken = null;
      stop();
      return;
    }
    if (token !== lastToken) {
      lastToken = token;
      // A socket on an old token keeps working until it expires; only open one if none is open.
      wanted = true;
      attempt = 0;
      open();
    }
  };
  onAuthChange(sync);
  sync();
}

/** A document (as the API returns it) with a live event's fields applied. */
export function applyEvent(doc, event) {
  if (!doc || !event || String(event.document_id) !== String(doc.id)) return doc;
  const next = { ...doc };
  for (const key of ["status", "stage", "progress", "error_code", "current_page", "total_pages", "current_sheet", "total_sheets", "processing_ms"]) {
    if (event[key] !== undefined) next[key] = event[key];
  }
  if (event.type === "document_failed" && event.message) next.error_message = event.message;
  if (event.type === "document_completed") next.completed_at = event.timestamp;
  // Page/sheet counters belong to the extraction stage only. A heartbeat ("heartbeat": true, not stored)
  // repeats the stage while a long step runs; a page part's leaves the counters out, and they stay.
  if (!event.heartbeat && event.current_page === undefined && event.current_sheet === undefined) {
    delete next.current_page;
    delete next.current_sheet;
  }
  return next;
}

/** Documents by id from a snapshot event. */
export function snapshotDocs(event) {
  const out = {};
  for (const doc of event.documents || []) out[doc.id] = doc;
  return out;
}
