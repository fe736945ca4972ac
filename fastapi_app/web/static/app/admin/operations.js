// /admin/operations: queue depth and the workers that answered (Celery inspect, Redis), the broker,
// throughput and failure rate per hour (chart.js, with the same figures as a table for screen
// readers), storage, totals, and links to Flower (when configured) and /metrics.

import { html, useEffect, useRef, useState } from "../preact.js";
import { t, fmtBytes, fmtDateTime, fmtNumber, locale, statusText } from "../i18n.js";
import { api } from "../api.js";
import { drawChart } from "../charts.js";
import { PageTitle, Loading, ErrorState, EmptyState, useAsync } from "../components.js";
import { AdminNav } from "./common.js";

export const titleKey = "admin.operations";

const WINDOWS = [24, 72, 168];
const REFRESH_MS = 30_000;

function percent(rate) {
  return rate === null || rate === undefined ? "–" : `${fmtNumber(rate * 100, { maximumFractionDigits: 1 })}%`;
}

function hourLabel(iso) {
  return new Date(iso).toLocaleString(locale(), { month: "numeric", day: "numeric", hour: "2-digit" });
}

function ThroughputChart({ hours }) {
  const canvas = useRef(null);
  useEffect(() => {
    const rates = hours.map((h) => (h.completed + h.failed ? (100 * h.failed) / (h.completed + h.failed) : null));
    return drawChart(canvas, {
      data: {
        labels: hours.map((h) => hourLabel(h.hour)),
        datasets: [
          { type: "bar", label: t("admin.ops_completed"), data: hours.map((h) => h.completed), backgroundColor: "#2e7d32", stack: "docs", yAxisID: "y" },
          { type: "bar", label: t("admin.ops_failed"), data: hours.map((h) => h.failed), backgroundColor: "#c62828", stack: "docs", yAxisID: "y" },
          { type: "line", label: t("admin.ops_failure_rate_pct"), data: rates, borderColor: "#1a56db", backgroundColor: "#1a56db", spanGaps: true, pointRadius: 2, yAxisID: "rate" },
        ],
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        interaction: { mode: "index", intersect: false },
        scales: {
          x: { stacked: true, ticks: { maxRotation: 0, autoSkip: true, maxTicksLimit: 8 } },
          y: { stacked: true, beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: t("admin.ops_documents_axis") } },
          rate: { position: "right", min: 0, max: 100, grid: { drawOnChartArea: false }, title: { display: true, text: "%" } },
        },
      },
    });
  }, [hours]);
  const totals = hours.reduce((acc, h) => ({ completed: acc.completed + h.completed, failed: acc.failed + h.failed }), { completed: 0, failed: 0 });
  return html`<div class="chart-box">
      <canvas ref=${canvas} role="img"
        aria-label=${t("admin.ops_chart_label", { hours: hours.length, completed: fmtNumber(totals.completed), failed: fmtNumber(totals.failed) })}></canvas>
    </div>
    <details>
      <summary>${t("admin.ops_chart_table")}</summary>
      <div class="table-wrap">
        <table>
          <thead><tr>
            <th scope="col">${t("admin.ops_hour")}</th>
            <th scope="col" class="num">${t("admin.ops_completed")}</th>
            <th scope="col" class="num">${t("admin.ops_failed")}</th>
          </tr></thead>
          <tbody>
            ${hours.filter((h) => h.completed || h.failed).map(
              (h) => html`<tr key=${h.hour}><td>${hourLabel(h.hour)}</td><td class="num">${fmtNumber(h.completed)}</td><td class="num">${fmtNumber(h.failed)}</td></tr>`,
            )}
          </tbody>
        </table>
      </div>
    </details>`;
}

function Workers({ workers }) {
  if (!workers.length)
    return html`<p class="alert alert-warning" role="status">${t("admin.ops_no_workers")}</p>`;
  return html`<div class="table-wrap">
    <table>
      <thead><tr>
        <th scope="col">${t("admin.ops_worker")}</th>
        <th scope="col" class="num">${t("admin.ops_active")}</th>
        <th scope="col" class="num">${t("admin.ops_processed")}</th>
        <th scope="col" class="num">${t("admin.ops_concurrency")}</th>
      </tr></thead>
      <tbody>
        ${workers.map(
          (w) => html`<tr key=${w.name}>
            <td><span class="badge badge-completed">${t("admin.ops_alive")}</span> <code class="admin-break">${w.name}</code></td>
            <td class="num">${fmtNumber(w.active)}</td>
            <td class="num">${fmtNumber(w.processed)}</td>
            <td class="num">${fmtNumber(w.concurrency)}</td>
          </tr>`,
        )}
      </tbody>
    </table>
  </div>`;
}

function Overview({ ops }) {
  const depth = ops.queues.reduce((sum, q) => (q.depth === null || q.depth === undefined ? sum : sum + q.depth), 0);
  const unknownDepth = ops.queues.length > 0 && ops.queues.every((q) => q.depth === null || q.depth === undefined);
  const inWindow = ops.throughput.reduce((acc, h) => ({ completed: acc.completed + h.completed, failed: acc.failed + h.failed }), { completed: 0, failed: 0 });
  const storage = ops.storage;
  return html`<dl class="stat-cards">
    <div><dt>${t("admin.ops_queue_depth")}</dt><dd>${unknownDepth ? "–" : fmtNumber(depth)}</dd></div>
    <div><dt>${t("admin.ops_workers_alive")}</dt><dd>${fmtNumber(ops.workers.length)}</dd></div>
    <div><dt>${t("admin.ops_completed_window", { hours: ops.throughput.length })}</dt><dd>${fmtNumber(inWindow.completed)}</dd></div>
    <div><dt>${t("admin.ops_failure_rate")}</dt><dd>${percent(ops.failure_rate)}</dd></div>
    <div><dt>${t("admin.ops_storage_used")}</dt><dd>${fmtBytes(storage.documents_bytes)}</dd></div>
    <div><dt>${t("admin.ops_disk_free")}</dt><dd>${fmtBytes(storage.disk_free_bytes)}</dd></div>
  </dl>`;
}

export default function Page({ path }) {
  const [hours, setHours] = useState(24);
  const ops = useAsync(() => api("/api/v1/admin/operations", { query: { hours } }), [hours]);
  // Figures that stay on screen go stale: fetch again every 30 s while the page is open.
  useEffect(() => {
    const timer = setInterval(() => {
      if (document.visibilityState === "visible") ops.reload();
    }, REFRESH_MS);
    return () => clearInterval(timer);
  }, [ops.reload]);

  let body;
  if (ops.error && !ops.data) body = html`<${ErrorState} error=${ops.error} onRetry=${ops.reload} />`;
  else if (!ops.data) body = html`<${Loading} />`;
  else {
    const data = ops.data;
    const storage = data.storage;
    body = html`<p class="muted" aria-live="polite">${t("admin.ops_generated", { at: fmtDateTime(data.generated_at) })}</p>
      <${Overview} ops=${data} />
      <section class="card" aria-labelledby="ops-throughput">
        <h2 id="ops-throughput">${t("admin.ops_throughput")}</h2>
        ${data.throughput.some((h) => h.completed || h.failed)
          ? html`<${ThroughputChart} hours=${data.throughput} />`
          : html`<${EmptyState} icon="chart" title=${t("admin.ops_no_activity_title")} text=${t("admin.ops_no_activity_text", { hours: data.throughput.length })} />`}
      </section>
      <div class="grid-2">
        <section class="card" aria-labelledby="ops-workers">
          <h2 id="ops-workers">${t("admin.ops_workers")}</h2>
          <${Workers} workers=${data.workers} />
        </section>
        <section class="card" aria-labelledby="ops-queues">
          <h2 id="ops-queues">${t("admin.ops_queues")}</h2>
          <dl class="facts">
            ${data.queues.map(
              (q) => html`<dt><code class="admin-break">${q.name}</code></dt><dd>${q.depth === null || q.depth === undefined ? t("admin.ops_depth_unknown") : t("admin.ops_waiting", { n: fmtNumber(q.depth) })}</dd>`,
            )}
            <dt>${t("admin.ops_broker")}</dt>
            <dd>
              <span class=${data.broker.reachable ? "badge badge-completed" : "badge badge-failed"}>
                ${data.broker.reachable ? t("admin.ops_reachable") : t("admin.ops_unreachable")}
              </span>
              ${" "}<code class="admin-break">${data.broker.url_redacted}</code>
            </dd>
          </dl>
        </section>
        <section class="card" aria-labelledby="ops-storage">
          <h2 id="ops-storage">${t("admin.ops_storage")}</h2>
          <dl class="facts">
            <dt>${t("admin.ops_originals")}</dt><dd>${t("admin.ops_files", { n: fmtNumber(storage.files), size: fmtBytes(storage.documents_bytes) })}</dd>
            ${storage.report_bytes !== null && storage.report_bytes !== undefined
              ? html`<dt>${t("admin.ops_reports")}</dt><dd>${fmtBytes(storage.report_bytes)}</dd>`
              : null}
            <dt>${t("admin.ops_disk")}</dt>
            <dd>${storage.disk_total_bytes ? t("admin.ops_disk_of", { free: fmtBytes(storage.disk_free_bytes), total: fmtBytes(storage.disk_total_bytes) }) : "–"}</dd>
          </dl>
        </section>
        <section class="card" aria-labelledby="ops-totals">
          <h2 id="ops-totals">${t("admin.ops_totals")}</h2>
          <dl class="facts">
            <dt>${t("admin.ops_users")}</dt><dd>${fmtNumber(data.totals.users)}</dd>
            <dt>${t("admin.ops_documents")}</dt><dd>${fmtNumber(data.totals.documents)}</dd>
            ${Object.entries(data.totals.by_status).map(([status, n]) => html`<dt>${statusText(status)}</dt><dd>${fmtNumber(n)}</dd>`)}
          </dl>
        </section>
      </div>
      <section class="card" aria-labelledby="ops-links">
        <h2 id="ops-links">${t("admin.ops_links")}</h2>
        <ul>
          ${data.links.flower
            ? html`<li><a href=${data.links.flower} target="_blank" rel="noopener noreferrer">${t("admin.ops_flower")}</a></li>`
            : html`<li class="muted">${t("admin.ops_flower_off")}</li>`}
          <li><a href=${data.links.metrics} target="_blank" rel="noopener">${t("admin.ops_metrics")}</a></li>
        </ul>
      </section>`;
  }

  return html`<${PageTitle}>${t("admin.operations")}<//>
    <${AdminNav} path=${path} />
    <div class="row">
      <label for="ops-window">${t("admin.ops_window")}</label>
      <select id="ops-window" value=${String(hours)} onChange=${(e) => setHours(Number(e.currentTarget.value))}>
        ${WINDOWS.map((h) => html`<option value=${String(h)}>${t("admin.ops_hours", { n: h })}</option>`)}
      </select>
      <span class="spacer"></span>
      <button type="button" class="btn btn-small" onClick=${ops.reload} disabled=${ops.loading}>${t("admin.refresh")}</button>
    </div>
    ${body}`;
}
