// One document: the original (page previews / the picture), the headline, key values with where each
// was found, entities, tables, sheet summaries, OCR confidence, warnings, the processing timeline,
// webhook deliveries; downloads of the original and every report format; reprocess; delete.
// The headline, tables, sheets and OCR summary come from the latest report (fastapi_app/reports/model.py);
// key values, entities and per-page OCR confidence from the extraction (/extracted-data).
import { html, useState, useEffect, useRef } from "../preact.js";
import { t, has, errorText, warningText, stageText, statusText, fmtBytes, fmtDateTime, fmtDate, fmtNumber, fmtDuration } from "../i18n.js";
import { api, download, imageUrl } from "../api.js";
import { onEvent, applyEvent } from "../ws.js";
import { PageTitle, StatusBadge, DocProgress, Loading, ErrorState, NotFoundState, confirmDialog, toast, useAsync } from "../components.js";

const FORMATS = ["json", "md", "html", "xlsx", "pdf"];
const PREVIEW_BATCH = 5;
const TABLE_ROWS = 50;

function money(m) {
  if (!m) return null;
  if (m.amount === null || m.amount === undefined) return m.text || null;
  const num = fmtNumber(m.amount, { maximumFractionDigits: 2 });
  return m.currency ? `${num} ${m.currency}` : num;
}

function cell(value) {
  if (value === null || value === undefined) return "";
  if (typeof value === "number") return fmtNumber(value, { maximumFractionDigits: 4 });
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

function whereText(item) {
  const parts = [];
  if (item.source) parts.push(has(`doc.source.${item.source}`) ? t(`doc.source.${item.source}`) : item.source);
  if (item.page) parts.push(t("doc.preview_page", { n: item.page }));
  if (item.sheet) parts.push(`${t("doc.where_sheet")} ${item.sheet}`);
  if (item.cell) parts.push(`${t("doc.where_cell")} ${item.cell}`);
  return parts.join(" · ") || item.where || "–";
}

/* ---------- the original ---------- */

function Previews({ doc }) {
  const info = useAsync(() => api(`/api/v1/documents/${doc.id}/pages`), [doc.id]);
  const [shown, setShown] = useState(PREVIEW_BATCH);
  const [urls, setUrls] = useState({});
  const [failed, setFailed] = useState({});
  const urlsRef = useRef({});

  const count = info.data && info.data.previewable ? info.data.page_count : 0;
  useEffect(() => {
    let alive = true;
    for (let n = 1; n <= Math.min(count, shown); n += 1) {
      if (urlsRef.current[n] || failed[n]) continue;
      urlsRef.current[n] = "loading";
      imageUrl(`/api/v1/documents/${doc.id}/pages/${n}/preview`, { width: 1000 }).then(
        (url) => {
          urlsRef.current[n] = url;
          if (alive) setUrls({ ...urlsRef.current });
          else URL.revokeObjectURL(url);
        },
        () => alive && setFailed((f) => ({ ...f, [n]: true })),
      );
    }
    return () => {
      alive = false;
    };
  }, [count, shown]);
  useEffect(
    () => () => {
      for (const url of Object.values(urlsRef.current)) if (url && url !== "loading") URL.revokeObjectURL(url);
    },
    [],
  );

  if (info.loading) return html`<${Loading} />`;
  if (info.error || !count) return html`<p class="muted">${t("doc.preview_unavailable")}</p>`;
  const pages = [];
  for (let n = 1; n <= Math.min(count, shown); n += 1) pages.push(n);
  const isImage = doc.file_type === "image";
  return html`<div class="previews">
    ${pages.map(
      (n) => html`<figure key=${n}>
        ${urls[n] && urls[n] !== "loading"
          ? html`<img src=${urls[n]} alt=${isImage ? t("doc.image_alt", { name: doc.original_filename }) : t("doc.preview_alt", { n, name: doc.original_filename })} />`
          : failed[n]
            ? html`<p class="muted">${t("doc.preview_unavailable")}</p>`
            : html`<${Loading} />`}
        ${isImage ? null : html`<figcaption>${t("doc.preview_page", { n })} / ${count}</figcaption>`}
      </figure>`,
    )}
    ${count > shown
      ? html`<button type="button" class="btn" onClick=${() => setShown(shown + PREVIEW_BATCH)}>
          ${t("doc.more_pages", { n: Math.min(PREVIEW_BATCH, count - shown) })}
        </button>`
      : null}
  </div>`;
}

/* ---------- sections ---------- */

function Headline({ report }) {
  const h = (report && report.headline) || {};
  const items = [
    ["doc.h_number", h.document_number],
    ["doc.h_date", h.document_date ? fmtDate(h.document_date) : null],
    ["doc.h_counterparty", h.counterparty],
    ["doc.h_total", money(h.total)],
    ["doc.h_due", h.due_date ? fmtDate(h.due_date) : null],
  ];
  if (h.business_number) items.push(["doc.h_business_number", h.business_number]);
  return html`<section class="card" aria-labelledby="headline-title">
    <h2 id="headline-title">${t("doc.headline")}</h2>
    <dl class="headline">
      ${items.map(([key, value]) => html`<div><dt>${t(key)}</dt><dd>${value || html`<span class="muted">${t("common.unknown")}</span>`}</dd></div>`)}
    </dl>
    ${h.check
      ? html`<div class="alert alert-warning" role="note"><strong>${t("doc.h_check")}</strong> ${h.check}</div>`
      : null}
  </section>`;
}

function KeyValues({ extraction, report }) {
  const rows = (extraction && extraction.key_values) || [];
  const fallback = (report && report.key_values) || [];
  const list = rows.length ? rows : fallback;
  return html`<section class="card" aria-labelledby="kv-title">
    <h2 id="kv-title">${t("doc.key_values")}</h2>
    ${list.length === 0
      ? html`<p class="muted">${t("doc.nothing_found")}</p>`
      : html`<div class="table-wrap" tabindex="0" role="region" aria-label=${`${t("doc.key_values")} (${t("common.table")})`}><table>
          <thead><tr><th scope="col">${t("doc.kv_key")}</th><th scope="col">${t("doc.kv_value")}</th><th scope="col">${t("doc.kv_where")}</th></tr></thead>
          <tbody>${list.map(
            (kv, i) => html`<tr key=${i}>
              <th scope="row">${kv.key}</th>
              <td>${kv.value}${kv.normalized !== null && kv.normalized !== undefined && String(kv.normalized) !== kv.value ? html`<br /><span class="muted">${cell(kv.normalized)}${kv.currency ? ` ${kv.currency}` : ""}</span>` : null}</td>
              <td>${whereText(kv)}</td>
            </tr>`,
          )}</tbody>
        </table></div>`}
  </section>`;
}

function Entities({ extraction }) {
  const list = (extraction && extraction.entities) || [];
  return html`<section class="card" aria-labelledby="entities-title">
    <h2 id="entities-title">${t("doc.entities")}</h2>
    ${list.length === 0
      ? html`<p class="muted">${t("doc.nothing_found")}</p>`
      : html`<div class="table-wrap" tabindex="0" role="region" aria-label=${`${t("doc.entities")} (${t("common.table")})`}><table>
          <thead><tr>
            <th scope="col">${t("doc.entity_type")}</th><th scope="col">${t("doc.entity_text")}</th>
            <th scope="col">${t("doc.entity_value")}</th><th scope="col">${t("doc.kv_where")}</th>
          </tr></thead>
          <tbody>${list.map(
            (e, i) => html`<tr key=${i}>
              <td>${t(`doc.entity.${e.type}`)}</td>
              <td>${e.text}</td>
              <td>${e.masked ? t("doc.masked") : cell(e.value)}${e.currency ? ` ${e.currency}` : ""}${e.valid === true ? ` (${t("doc.bn_valid")})` : e.valid === false ? ` (${t("doc.bn_invalid")})` : ""}</td>
              <td>${whereText(e)}</td>
            </tr>`,
          )}</tbody>
        </table></div>`}
  </section>`;
}

function Tables({ report }) {
  const tables = (report && report.tables) || [];
  if (!tables.length) return null;
  return html`<section class="card" aria-labelledby="tables-title">
    <h2 id="tables-title">${t("doc.tables")}</h2>
    ${tables.map((table, i) => {
      const rows = table.rows.slice(0, TABLE_ROWS);
      const width = Math.max(table.header.length, ...rows.map((r) => r.length), 0);
      const header = table.header.length ? table.header : Array.from({ length: width }, (_, c) => String.fromCharCode(65 + (c % 26)));
      return html`<div key=${i}>
        <div class="table-wrap" tabindex="0" role="region" aria-label=${table.title || `${t("doc.tables")} ${i + 1}`}>
        <table class="data">
          <caption>${table.title || `${t("doc.tables")} ${i + 1}`}</caption>
          <thead><tr>${header.map((h, c) => html`<th scope="col" key=${c}>${cell(h)}</th>`)}</tr></thead>
          <tbody>${rows.map((row, r) => html`<tr key=${r}>${row.map((v, c) => html`<td key=${c} class=${typeof v === "number" ? "num" : undefined}>${cell(v)}</td>`)}</tr>`)}</tbody>
        </table>
        </div>
        ${(table.total_rows || table.rows.length) > rows.length
          ? html`<p class="hint">${t("doc.table_rows", { n: fmtNumber(table.total_rows || table.rows.length), shown: fmtNumber(rows.length) })}</p>`
          : null}
      </div>`;
    })}
  </section>`;
}

function Sheets({ report }) {
  const sheets = (report && report.sheets) || [];
  if (!sheets.length) return null;
  return html`<section class="card" aria-labelledby="sheets-title">
    <h2 id="sheets-title">${t("doc.sheets")}</h2>
    ${sheets.map(
      (sheet, i) => html`<div key=${i}>
        <h3>${sheet.name}</h3>
        <dl class="facts">
          <dt>${t("doc.sheet_visibility")}</dt><dd>${t(`doc.visibility.${sheet.visibility}`)}</dd>
          <dt>${t("doc.sheet_dimensions")}</dt><dd>${sheet.dimensions || "–"} (${t("doc.sheet_rows_cols", { rows: fmtNumber(sheet.rows), cols: fmtNumber(sheet.columns) })})</dd>
        </dl>
        ${sheet.numeric_columns && sheet.numeric_columns.length
          ? html`<div class="table-wrap" tabindex="0" role="region" aria-label=${`${sheet.name}: ${t("doc.sheets")}`}><table class="data">
              <caption class="sr-only">${sheet.name}: ${t("doc.sheets")}</caption>
              <thead><tr>
                <th scope="col">${t("doc.col_column")}</th><th scope="col" class="num">${t("doc.col_count")}</th>
                <th scope="col" class="num">${t("doc.col_sum")}</th><th scope="col" class="num">${t("doc.col_min")}</th>
                <th scope="col" class="num">${t("doc.col_max")}</th><th scope="col" class="num">${t("doc.col_mean")}</th>
              </tr></thead>
              <tbody>${sheet.numeric_columns.map(
                (c) => html`<tr>
                  <th scope="row">${c.header ? `${cell(c.header)} (${c.column})` : c.column}</th>
                  <td class="num">${fmtNumber(c.count)}</td><td class="num">${fmtNumber(c.sum)}</td>
                  <td class="num">${fmtNumber(c.min)}</td><td class="num">${fmtNumber(c.max)}</td>
                  <td class="num">${fmtNumber(c.mean, { maximumFractionDigits: 2 })}</td>
                </tr>`,
              )}</tbody>
            </table></div>`
          : null}
      </div>`,
    )}
  </section>`;
}

function Ocr({ report, extraction }) {
  const ocr = report && report.ocr;
  const pages = [];
  if (extraction && extraction.pdf) for (const p of extraction.pdf.pages || []) if (p.ocr) pages.push([p.number, p.ocr.confidence]);
  if (extraction && extraction.image && extraction.image.ocr) pages.push([1, extraction.image.ocr.confidence]);
  return html`<section class="card" aria-labelledby="ocr-title">
    <h2 id="ocr-title">${t("doc.ocr")}</h2>
    ${ocr
      ? html`<dl class="facts">
          <dt>${t("doc.ocr_pages")}</dt><dd>${fmtNumber(ocr.pages)}</dd>
          <dt>${t("doc.ocr_confidence")}</dt><dd>${ocr.mean_confidence === null || ocr.mean_confidence === undefined ? "–" : `${fmtNumber(ocr.mean_confidence, { maximumFractionDigits: 1 })}%`}</dd>
          <dt>${t("doc.ocr_languages")}</dt><dd>${ocr.languages || "–"}</dd>
          <dt>${t("doc.ocr_duration")}</dt><dd>${fmtDuration(ocr.duration_ms)}</dd>
        </dl>
        ${pages.length > 1
          ? html`<ul>${pages.map(([n, conf]) => html`<li>${t("doc.ocr_page_conf", { n })}: ${conf === null || conf === undefined ? "–" : `${fmtNumber(conf, { maximumFractionDigits: 1 })}%`}</li>`)}</ul>`
          : null}`
      : html`<p class="muted">${t("doc.no_ocr")}</p>`}
  </section>`;
}

function Warnings({ report, doc }) {
  const list = [...(doc.upload_warnings || []), ...((report && report.warnings) || [])];
  return html`<section class="card" aria-labelledby="warnings-title">
    <h2 id="warnings-title">${t("doc.warnings")}</h2>
    ${list.length === 0
      ? html`<p class="muted">${t("doc.no_warnings")}</p>`
      : html`<ul>${list.map(
          (w, i) => html`<li key=${i}>
            <strong>${warningText(w.code, w.message)}</strong>
            <span class="muted"> (<code>${w.code}</code>)</span>
            ${w.message ? html`<br /><span class="hint" lang="en">${w.message}</span>` : null}
          </li>`,
        )}</ul>`}
    ${doc.duplicate_of_id
      ? html`<p>${t("doc.duplicate_of")}: <a href=${`/documents/${doc.duplicate_of_id}`}>${doc.duplicate_of_id}</a></p>`
      : null}
  </section>`;
}

function Timeline({ events }) {
  return html`<section class="card" aria-labelledby="timeline-title">
    <h2 id="timeline-title">${t("doc.timeline")}</h2>
    ${events.error
      ? html`<${ErrorState} error=${events.error} onRetry=${events.reload} />`
      : !events.data
        ? html`<${Loading} />`
        : events.data.length === 0
          ? html`<p class="muted">${t("doc.timeline_empty")}</p>`
          : html`<ol class="timeline">${events.data.map(
              (e) => html`<li key=${e.event_id} class=${e.status}>
                <strong>${stageText(e.stage)}</strong> · ${statusText(e.status)} · ${e.progress}%
                ${e.current_page && e.total_pages ? html` · ${t("upload.page_of", { current: e.current_page, total: e.total_pages })}` : null}
                ${e.current_sheet && e.total_sheets ? html` · ${t("upload.sheet_of", { current: e.current_sheet, total: e.total_sheets })}` : null}
                <br /><span class="muted">${fmtDateTime(e.timestamp)} · ${t("doc.run", { n: e.run })}</span>
                ${e.error_code ? html`<br /><span class="upload-error">${errorText(e.error_code)}</span>` : null}
              </li>`,
            )}</ol>`}
  </section>`;
}

function Webhooks({ webhooks }) {
  return html`<section class="card" aria-labelledby="webhooks-title">
    <h2 id="webhooks-title">${t("doc.webhooks")}</h2>
    ${webhooks.error
      ? html`<${ErrorState} error=${webhooks.error} onRetry=${webhooks.reload} />`
      : !webhooks.data
        ? html`<${Loading} />`
        : webhooks.data.length === 0
          ? html`<p class="muted">${t("doc.webhooks_empty")}</p>`
          : html`<div class="table-wrap" tabindex="0" role="region" aria-label=${`${t("doc.webhooks")} (${t("common.table")})`}><table>
              <thead><tr>
                <th scope="col">${t("doc.wh_event")}</th><th scope="col">${t("doc.wh_url")}</th>
                <th scope="col">${t("doc.wh_status")}</th><th scope="col" class="num">${t("doc.wh_attempts")}</th>
                <th scope="col">${t("doc.wh_last")}</th>
              </tr></thead>
              <tbody>${webhooks.data.map(
                (d) => html`<tr key=${d.id}>
                  <td>${t(`doc.event.${d.event_type}`)}<br /><span class="muted">${fmtDateTime(d.created_at)}</span></td>
                  <td><code>${d.url}</code></td>
                  <td>${t(`doc.wh_state.${d.state}`)}</td>
                  <td class="num">${d.attempt_count}</td>
                  <td>${d.last_status_code ? `HTTP ${d.last_status_code}` : ""}${d.last_error ? html`<br /><span class="muted">${d.last_error}</span>` : ""}</td>
                </tr>`,
              )}</tbody>
            </table></div>`}
  </section>`;
}

/* ---------- the page ---------- */

export default function Page({ params, navigate }) {
  const id = params.id;
  const docState = useAsync(() => api(`/api/v1/documents/${encodeURIComponent(id)}`), [id]);
  const doc = docState.data;
  const docRef = useRef(doc);
  docRef.current = doc;
  const finished = doc && (doc.status === "completed" || doc.status === "failed");
  const runKey = doc ? `${doc.current_run}:${finished ? doc.status : "running"}` : "";
  const [reportId, setReportId] = useState(null);
  const [busy, setBusy] = useState(false);

  const reports = useAsync(() => (doc && finished ? api(`/api/v1/documents/${id}/reports`) : Promise.resolve([])), [id, runKey]);
  const chosen = (reports.data || []).find((r) => r.id === reportId) || (reports.data || [])[0];
  const report = useAsync(() => (chosen ? api(`/api/v1/documents/${id}/reports/${chosen.id}`) : Promise.resolve(null)), [chosen && chosen.id]);
  const extraction = useAsync(
    () => (doc && doc.status === "completed" ? api(`/api/v1/documents/${id}/extracted-data`).then((d) => d.result) : Promise.resolve(null)),
    [id, runKey],
  );
  const events = useAsync(() => (doc ? api(`/api/v1/documents/${id}/events`) : Promise.resolve([])), [id, runKey]);
  const webhooks = useAsync(() => (doc ? api(`/api/v1/documents/${id}/webhooks`) : Promise.resolve([])), [id, runKey]);

  // Live: this document's events move its status and progress; the timeline grows.
  useEffect(
    () =>
      onEvent((event) => {
        if (event.type === "snapshot") {
          const fresh = (event.documents || []).find((d) => d.id === id);
          const now = docRef.current;
          if (fresh) docState.setData((d) => (d ? { ...d, ...fresh } : d));
          // Unfinished here but not in the snapshot: it finished while we were disconnected.
          else if (now && (now.status === "pending" || now.status === "processing")) docState.reload();
          return;
        }
        if (event.document_id !== id) return;
        docState.setData((d) => (d ? applyEvent(d, event) : d));
        events.setData((list) => (list && !list.some((e) => e.event_id === event.event_id) ? [...list, event] : list));
      }),
    [id],
  );

  if (docState.error) {
    if (docState.error.status === 404 || docState.error.status === 422) {
      return html`<div><${PageTitle}>${t("common.not_found_title")}<//><${NotFoundState} text=${t("error.DOCUMENT_NOT_FOUND")} /></div>`;
    }
    return html`<div><${PageTitle}>${t("doc.title")}<//><${ErrorState} error=${docState.error} onRetry=${docState.reload} /></div>`;
  }
  if (!doc) return html`<div><${PageTitle}>${t("doc.title")}<//><${Loading} /></div>`;

  const content = report.data && report.data.content;
  const busyDoc = doc.status === "pending" || doc.status === "processing";

  const run = async (fn) => {
    setBusy(true);
    try {
      await fn();
    } catch (err) {
      toast(errorText(err), "error");
    } finally {
      setBusy(false);
    }
  };
  const downloadOriginal = () =>
    run(async () => {
      const name = await download(`/api/v1/documents/${id}/download`, { fallbackName: doc.original_filename });
      toast(t("doc.download_started", { name }), "success");
    });
  const downloadReport = (format) =>
    run(async () => {
      const name = await download(`/api/v1/documents/${id}/reports/${chosen.id}/download`, { query: { format }, fallbackName: `report.${format}` });
      toast(t("doc.download_started", { name }), "success");
    });
  const reprocess = () =>
    run(async () => {
      const updated = await api(`/api/v1/documents/${id}/reprocess`, { method: "POST" });
      docState.setData((d) => ({ ...d, ...updated }));
      toast(t("doc.reprocess_started"), "success");
    });
  const remove = async () => {
    const yes = await confirmDialog({
      title: t("doc.delete_title"),
      message: t("doc.delete_text", { name: doc.original_filename }),
      confirmLabel: t("doc.delete"),
      danger: true,
    });
    if (!yes) return;
    run(async () => {
      await api(`/api/v1/documents/${id}`, { method: "DELETE" });
      toast(t("doc.deleted"), "success");
      navigate("/documents", { replace: true });
    });
  };

  return html`<div>
    <p><a href="/documents">← ${t("doc.back")}</a></p>
    <${PageTitle}>${doc.original_filename}<//>
    <div class="row">
      <${StatusBadge} status=${doc.status} />
      <span class="muted">${t(`type.${doc.file_type}`)} · ${fmtBytes(doc.size_bytes)} · ${fmtDateTime(doc.created_at)}</span>
    </div>
    <div class="actions" role="group" aria-label=${t("doc.actions")}>
      <button type="button" class="btn" onClick=${downloadOriginal} disabled=${busy}>${t("doc.download_original")}</button>
      <button type="button" class="btn" onClick=${reprocess} disabled=${busy || busyDoc}>${t("doc.reprocess")}</button>
      <button type="button" class="btn btn-danger" onClick=${remove} disabled=${busy}>${t("doc.delete")}</button>
    </div>

    ${doc.status === "failed"
      ? html`<section class="alert alert-error" role="alert" aria-labelledby="failed-title">
          <h2 id="failed-title">${t("doc.failed_title")}</h2>
          <p><strong>${errorText(doc.error_code)}</strong></p>
          <p class="muted">${t("common.error_code")}: <code>${doc.error_code || "–"}</code></p>
          ${doc.error_message ? html`<p>${t("doc.failed_detail")}: <span lang="en">${doc.error_message}</span></p>` : null}
          <p>${t("doc.failed_hint")}</p>
        </section>`
      : null}
    ${busyDoc
      ? html`<section class="card" aria-labelledby="processing-title">
          <h2 id="processing-title">${t("doc.processing_title")}</h2>
          <${DocProgress} doc=${doc} />
        </section>`
      : null}

    ${doc.status === "completed" ? html`<${Headline} report=${content} />` : null}

    <div class="grid-2">
      <section class="card" aria-labelledby="original-title">
        <h2 id="original-title">${t("doc.original")}</h2>
        <${Previews} doc=${doc} />
      </section>
      <section class="card" aria-labelledby="facts-title">
        <h2 id="facts-title">${t("doc.facts")}</h2>
        <dl class="facts">
          <dt>${t("doc.f_type")}</dt><dd>${t(`type.${doc.file_type}`)}</dd>
          <dt>${t("doc.f_mime")}</dt><dd>${doc.mime_type}</dd>
          <dt>${t("doc.f_size")}</dt><dd>${fmtBytes(doc.size_bytes)}</dd>
          <dt>${t("doc.f_uploaded")}</dt><dd>${fmtDateTime(doc.created_at)}</dd>
          <dt>${t("doc.f_completed")}</dt><dd>${fmtDateTime(doc.completed_at)}</dd>
          <dt>${t("doc.f_processing_time")}</dt><dd>${fmtDuration(doc.processing_ms)}</dd>
          ${content && content.document.page_count ? html`<dt>${t("doc.f_pages")}</dt><dd>${fmtNumber(content.document.page_count)}</dd>` : null}
          ${content && content.document.sheet_count ? html`<dt>${t("doc.f_sheets")}</dt><dd>${fmtNumber(content.document.sheet_count)}</dd>` : null}
          ${content && content.document.image_size ? html`<dt>${t("doc.f_image_size")}</dt><dd>${content.document.image_size}</dd>` : null}
          ${content && content.document.language ? html`<dt>${t("doc.f_language")}</dt><dd>${has(`doc.lang.${content.document.language}`) ? t(`doc.lang.${content.document.language}`) : content.document.language}</dd>` : null}
          <dt>${t("doc.f_runs")}</dt><dd>${doc.current_run}</dd>
          <dt>${t("doc.f_sha256")}</dt><dd><code>${doc.sha256}</code></dd>
        </dl>
      </section>
    </div>

    ${doc.status === "completed"
      ? html`
          ${report.error ? html`<${ErrorState} error=${report.error} onRetry=${report.reload} />` : null}
          ${extraction.error ? html`<${ErrorState} error=${extraction.error} onRetry=${extraction.reload} />` : null}
          ${report.loading || extraction.loading
            ? html`<${Loading} />`
            : html`
                <${KeyValues} extraction=${extraction.data} report=${content} />
                <${Entities} extraction=${extraction.data} />
                <${Tables} report=${content} />
                <${Sheets} report=${content} />
                <${Ocr} report=${content} extraction=${extraction.data} />
              `}
        `
      : null}
    <${Warnings} report=${content} doc=${doc} />
    ${content && content.text_excerpt
      ? html`<section class="card" aria-labelledby="excerpt-title">
          <h2 id="excerpt-title">${t("doc.text_excerpt")}</h2>
          <pre class="text-excerpt" tabindex="0" aria-labelledby="excerpt-title">${content.text_excerpt}</pre>
        </section>`
      : null}

    <section class="card" aria-labelledby="downloads-title">
      <h2 id="downloads-title">${t("doc.downloads")}</h2>
      ${reports.data && reports.data.length
        ? html`${reports.data.length > 1
              ? html`<div class="field">
                  <label for="report-version">${t("doc.report_version")}</label>
                  <select id="report-version" value=${chosen.id} onChange=${(e) => setReportId(e.currentTarget.value)}>
                    ${reports.data.map((r) => html`<option value=${r.id}>v${r.version} · ${fmtDateTime(r.created_at)}</option>`)}
                  </select>
                </div>`
              : null}
            <div class="actions">
              ${(chosen.formats || FORMATS).map(
                (f) => html`<button type="button" class="btn" disabled=${busy} onClick=${() => downloadReport(f)}>${t("doc.download_report", { format: t(`format.${f}`) })}</button>`,
              )}
            </div>`
        : html`<p class="muted">${t("doc.no_report")}</p>`}
    </section>

    <div class="grid-2">
      <${Timeline} events=${events} />
      <${Webhooks} webhooks=${webhooks} />
    </div>
  </div>`;
}
