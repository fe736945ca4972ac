// One batch (README "Batches"): its totals and documents by status, moving live with the WebSocket's
// batch.progress (read again after a reconnect, since events may have been missed meanwhile, and polled
// while disconnected); the refused files with their reasons; its documents (paged, each row live),
// each linking to its page; and the summary report of the batch in every format.
import { html, useState, useEffect, useRef } from "../preact.js";
import { t, errorText, fmtBytes, fmtDateTime, fmtNumber } from "../i18n.js";
import { api, download } from "../api.js";
import { onEvent, applyEvent, isConnected } from "../ws.js";
import { LiveStatus, PageTitle, ProgressBar, StatusBadge, DocProgress, Loading, ErrorState, NotFoundState, Pager, toast, useAsync } from "../components.js";

export const titleKey = "batch.title";

const FORMATS = ["json", "md", "html", "xlsx", "pdf"];
const STATUSES = ["pending", "processing", "completed", "failed"];
const PAGE_SIZE = 50;
const POLL_MS = 4000;

const finishedOf = (counts) => (counts.completed || 0) + (counts.failed || 0);
const totalOf = (counts) => Object.values(counts).reduce((sum, n) => sum + n, 0);

/** Totals: files sent, accepted, refused; documents by status; a progress bar; all live. */
function Progress({ batch, progress }) {
  const { counts, total, finished } = progress;
  return html`<section class="card" aria-labelledby="batch-progress-title">
    <div class="row">
      <h2 id="batch-progress-title">${t("batch.progress_title")}</h2>
      <span class="spacer"></span>
      <${LiveStatus} />
    </div>
    <dl class="stat-cards batch-totals">
      <div><dt>${t("batch.total_files")}</dt><dd>${fmtNumber(batch.total_files)}</dd></div>
      <div><dt>${t("batch.accepted")}</dt><dd>${fmtNumber(batch.accepted)}</dd></div>
      <div><dt>${t("batch.rejected")}</dt><dd>${fmtNumber(batch.rejected)}</dd></div>
    </dl>
    <h3>${t("batch.by_status")}</h3>
    <dl class="stat-cards batch-counts">
      ${STATUSES.map(
        (status) => html`<div key=${status}>
          <dt>${t(`status.${status}`)}</dt><dd>${fmtNumber(counts[status] || 0)}</dd>
        </div>`,
      )}
    </dl>
    ${total
      ? html`<${ProgressBar} id="batch-progress" value=${finished} max=${total} label=${t("batch.progress_label", { finished, total })} />`
      : null}
    ${total && finished === total ? html`<p class="hint">${t("batch.all_finished")}</p>` : null}
  </section>`;
}

function Refused({ items }) {
  return html`<section class="card" aria-labelledby="batch-refused-title">
    <h2 id="batch-refused-title">${t("batch.refused_title")}</h2>
    ${items.length === 0
      ? html`<p class="muted">${t("batch.refused_none")}</p>`
      : html`<div class="table-wrap" tabindex="0" role="region" aria-label=${`${t("batch.refused_title")} (${t("common.table")})`}><table class="doc-table refused-table">
          <thead><tr>
            <th scope="col">${t("batch.col_file")}</th><th scope="col">${t("batch.col_reason")}</th>
            <th scope="col" class="col-optional">${t("common.error_code")}</th>
          </tr></thead>
          <tbody>${items.map(
            (item) => html`<tr key=${item.index}>
              <th scope="row" class="file-name">${item.filename}</th>
              <td class="upload-error">${errorText(item.error_code)}</td>
              <td class="col-optional"><code>${item.error_code}</code></td>
            </tr>`,
          )}</tbody>
        </table></div>`}
  </section>`;
}

function Documents({ batch, docs, page, onPage }) {
  return html`<section class="card" aria-labelledby="batch-docs-title">
    <div class="row">
      <h2 id="batch-docs-title">${t("batch.documents_title")}</h2>
      <span class="spacer"></span>
      <span class="muted">${t("common.total_count", { n: batch.total_documents })}</span>
    </div>
    ${docs.length === 0
      ? html`<p class="muted">${t("batch.documents_none")}</p>`
      : html`<div class="table-wrap">
          <table class="doc-table">
            <caption class="sr-only">${t("batch.documents_title")}</caption>
            <thead><tr>
              <th scope="col">${t("docs.col_name")}</th>
              <th scope="col" class="col-optional">${t("docs.col_type")}</th>
              <th scope="col" class="num col-optional">${t("docs.col_size")}</th>
              <th scope="col">${t("docs.col_status")}</th>
            </tr></thead>
            <tbody>${docs.map(
              (doc) => html`<tr key=${doc.id}>
                <td>
                  <a class="file-name" href=${`/documents/${doc.id}`}>${doc.original_filename}</a>
                  <${DocProgress} doc=${doc} />
                  ${doc.status === "failed" ? html`<p class="upload-error">${errorText(doc.error_code)}</p>` : null}
                </td>
                <td class="col-optional">${t(`type.${doc.file_type}`)}</td>
                <td class="num col-optional">${fmtBytes(doc.size_bytes)}</td>
                <td><${StatusBadge} status=${doc.status} /></td>
              </tr>`,
            )}</tbody>
          </table>
        </div>
        <${Pager} page=${page} totalPages=${batch.total_pages} onPage=${onPage} label=${t("batch.documents_pages")} />`}
  </section>`;
}

function Downloads({ id, finished }) {
  const [busy, setBusy] = useState(false);
  const get = async (format) => {
    setBusy(true);
    try {
      const name = await download(`/api/v1/batches/${id}/report`, { query: { format }, fallbackName: `batch.${format}` });
      toast(t("doc.download_started", { name }), "success");
    } catch (err) {
      toast(errorText(err), "error");
    } finally {
      setBusy(false);
    }
  };
  return html`<section class="card" aria-labelledby="batch-downloads-title">
    <h2 id="batch-downloads-title">${t("batch.report_title")}</h2>
    <p class="hint">${finished ? t("batch.report_hint") : t("batch.report_hint_running")}</p>
    <div class="actions">
      ${FORMATS.map(
        (f) => html`<button type="button" class="btn" disabled=${busy} onClick=${() => get(f)}>${t("batch.download_report", { format: t(`format.${f}`) })}</button>`,
      )}
    </div>
  </section>`;
}

export default function Page({ params, query, navigate }) {
  const id = params.id;
  const page = Math.max(1, parseInt(query.get("page") || "1", 10) || 1);
  const live = useRef(null); // the last batch.progress since the batch was last read
  const batchState = useAsync(() => {
    live.current = null;
    return api(`/api/v1/batches/${encodeURIComponent(id)}`, { query: { page, page_size: PAGE_SIZE } });
  }, [id, page]);
  const batch = batchState.data;
  const [docs, setDocs] = useState([]);
  const [progress, setProgress] = useState(null);
  const [announcement, setAnnouncement] = useState("");
  const docsRef = useRef(docs);
  docsRef.current = docs;
  const progressRef = useRef(progress);
  progressRef.current = progress;
  const lastProgressAt = useRef(0);
  const fallbackTimer = useRef(null);

  // Each read of the batch resets the rows and the counts. A batch.progress that came while it was being
  // read may be newer than what was read: the one with more finished documents wins (they only finish).
  useEffect(() => {
    if (!batch) return;
    setDocs(batch.documents);
    const read = { counts: batch.counts, total: totalOf(batch.counts), finished: finishedOf(batch.counts) };
    const event = live.current;
    setProgress(event && event.finished > read.finished ? event : read);
  }, [batch]);

  const reload = batchState.reload;
  useEffect(
    () =>
      onEvent((event) => {
        if (event.type === "snapshot") {
          // A (re)connection: batch messages sent while disconnected are lost, read the batch again.
          if (progressRef.current) reload();
          return;
        }
        if (event.type === "batch.progress" || event.type === "batch.completed") {
          if (event.batch_id !== id) return;
          const next = { counts: event.counts, total: event.total, finished: event.finished };
          live.current = next;
          lastProgressAt.current = Date.now();
          setProgress(next);
          if (event.type === "batch.completed") {
            setAnnouncement(t("batch.announce_done", { completed: event.counts.completed || 0, failed: event.counts.failed || 0 }));
            // The final state (finish time, every row's outcome) from the server.
            reload();
          } else {
            setAnnouncement(t("batch.announce_progress", { finished: event.finished, total: event.total }));
          }
          return;
        }
        if (!event.document_id || !docsRef.current.some((d) => d.id === event.document_id)) return;
        setDocs((list) => list.map((d) => (d.id === event.document_id ? applyEvent(d, event) : d)));
        if (event.type === "document_completed" || event.type === "document_failed") {
          // Without Redis the service sends no batch messages: when none follows a row's outcome, read
          // the batch again for its counts.
          const seen = Date.now();
          clearTimeout(fallbackTimer.current);
          fallbackTimer.current = setTimeout(() => {
            if (lastProgressAt.current < seen) reload();
          }, 1500);
        }
      }),
    [id, reload],
  );
  useEffect(() => () => clearTimeout(fallbackTimer.current), []);

  // Without the WebSocket (reconnecting), poll an unfinished batch so its counts still move.
  useEffect(() => {
    const timer = setInterval(() => {
      const now = progressRef.current;
      if (isConnected() || !now || (now.total && now.finished === now.total)) return;
      reload();
    }, POLL_MS);
    return () => clearInterval(timer);
  }, [reload]);

  if (batchState.error) {
    if (batchState.error.status === 404 || batchState.error.status === 422) {
      return html`<div><${PageTitle}>${t("common.not_found_title")}<//><${NotFoundState} text=${t("error.BATCH_NOT_FOUND")} /></div>`;
    }
    return html`<div><${PageTitle}>${t("batch.title")}<//><${ErrorState} error=${batchState.error} onRetry=${reload} /></div>`;
  }
  if (!batch || !progress) return html`<div><${PageTitle}>${t("batch.title")}<//><${Loading} /></div>`;

  const finished = progress.total > 0 && progress.finished === progress.total;
  return html`<div>
    <p><a href="/upload">← ${t("batch.back")}</a></p>
    <${PageTitle}>${t("batch.title")}<//>
    <p class="muted">
      ${t(batch.source === "zip" ? "batch.source_zip" : "batch.source_files")} · ${t("batch.uploaded_at", { when: fmtDateTime(batch.created_at) })}
      ${batch.completed_at ? html` · ${t("batch.completed_at", { when: fmtDateTime(batch.completed_at) })}` : null}
    </p>
    <div class="sr-only" role="status" aria-live="polite">${announcement}</div>
    <${Progress} batch=${batch} progress=${progress} />
    <${Refused} items=${batch.rejected_items} />
    <${Documents} batch=${batch} docs=${docs} page=${page} onPage=${(p) => navigate(`/batches/${id}${p > 1 ? `?page=${p}` : ""}`)} />
    <${Downloads} id=${id} finished=${finished} />
  </div>`;
}
