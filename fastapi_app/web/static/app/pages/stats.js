// Statistics: charts (Chart.js, vendored, global `Chart`) of documents per day by status and by type and
// of processing time, from GET /api/v1/documents/stats/timeseries; the numbers of /stats/summary; and a
// summary report of the documents selected on the list or of a date range, in every format
// (POST /api/v1/reports/summary?format=...). Every chart has its data as a table too.
import { html, useState, useEffect, useRef } from "../preact.js";
import { t, getLang, errorText, fmtNumber, fmtBytes, fmtDuration, fmtDate, locale } from "../i18n.js";
import { api, download } from "../api.js";
import { drawChart } from "../charts.js";
import { getSelection, saveSelection } from "../selection.js";
import { PageTitle, Loading, ErrorState, EmptyState, toast, useAsync } from "../components.js";

const PERIODS = [7, 30, 90, 365];
const STATUSES = ["pending", "processing", "completed", "failed"];
const TYPES = ["pdf", "excel", "image", "hwp"];
const FORMATS = ["pdf", "xlsx", "html", "md", "json"];
// AA-contrast colours that stay apart for colour-blind readers (Okabe–Ito based).
const STATUS_COLOURS = { pending: "#767f8c", processing: "#0072b2", completed: "#009e73", failed: "#d55e00" };
const TYPE_COLOURS = { pdf: "#cc3311", excel: "#117733", image: "#5b4ab8", hwp: "#0077bb" };

function browserZone() {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "Asia/Seoul";
  } catch {
    return "Asia/Seoul";
  }
}

function ChartCanvas({ config, label }) {
  const canvas = useRef(null);
  const [failed, setFailed] = useState(false);
  useEffect(() => drawChart(canvas, config, () => setFailed(true)), [config]);
  if (failed) return html`<p class="muted">${t("stats.chart_unavailable")}</p>`;
  return html`<div class="chart-box"><canvas ref=${canvas} role="img" aria-label=${label}></canvas></div>`;
}

function DataTable({ days, columns, caption }) {
  return html`<details>
    <summary>${t("stats.chart_table")}</summary>
    <div class="table-wrap" tabindex="0" role="region" aria-label=${caption}>
      <table>
        <caption class="sr-only">${caption}</caption>
        <thead><tr><th scope="col">${t("stats.date")}</th>${columns.map((c) => html`<th scope="col" class="num">${c.label}</th>`)}</tr></thead>
        <tbody>${days.map((d) => html`<tr><th scope="row">${fmtDate(d.date)}</th>${columns.map((c) => html`<td class="num">${c.value(d)}</td>`)}</tr>`)}</tbody>
      </table>
    </div>
  </details>`;
}

function barConfig(labels, datasets, yTitle) {
  return {
    type: "bar",
    data: { labels, datasets },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      locale: locale(),
      interaction: { mode: "index", intersect: false },
      scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: yTitle } } },
      plugins: { legend: { position: "bottom" } },
    },
  };
}

function Charts({ series }) {
  const days = series.days || [];
  const lang = getLang();
  const labels = days.map((d) => shortDate(d.date));
  const configs = useMemoByKey(`${lang}:${JSON.stringify(days)}`, () => ({
    status: barConfig(
      labels,
      STATUSES.map((s) => ({ label: t(`status.${s}`), data: days.map((d) => (d.by_status || {})[s] || 0), backgroundColor: STATUS_COLOURS[s] })),
      t("stats.count_axis"),
    ),
    type: barConfig(
      labels,
      typesOf(days).map((k) => ({ label: t(`type.${k}`) === `type.${k}` ? k : t(`type.${k}`), data: days.map((d) => (d.by_type || {})[k] || 0), backgroundColor: TYPE_COLOURS[k] || "#444b55" })),
      t("stats.count_axis"),
    ),
    time: {
      type: "line",
      data: {
        labels,
        datasets: [
          { label: t("stats.avg"), data: days.map((d) => d.processing_ms_avg), borderColor: "#0072b2", backgroundColor: "#0072b2", spanGaps: true },
          { label: t("stats.p50"), data: days.map((d) => d.processing_ms_p50), borderColor: "#d55e00", backgroundColor: "#d55e00", borderDash: [6, 4], spanGaps: true },
        ],
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        locale: locale(),
        scales: { y: { beginAtZero: true, title: { display: true, text: t("stats.ms_axis") } } },
        plugins: { legend: { position: "bottom" } },
      },
    },
  }));
  return html`
    <section class="card" aria-labelledby="chart-status-title">
      <h2 id="chart-status-title">${t("stats.by_status_chart")}</h2>
      <${ChartCanvas} config=${configs.status} label=${t("stats.by_status_chart")} />
      <${DataTable} days=${days} caption=${t("stats.by_status_chart")}
        columns=${STATUSES.map((s) => ({ label: t(`status.${s}`), value: (d) => fmtNumber((d.by_status || {})[s] || 0) }))} />
    </section>
    <section class="card" aria-labelledby="chart-type-title">
      <h2 id="chart-type-title">${t("stats.by_type_chart")}</h2>
      <${ChartCanvas} config=${configs.type} label=${t("stats.by_type_chart")} />
      <${DataTable} days=${days} caption=${t("stats.by_type_chart")}
        columns=${typesOf(days).map((k) => ({ label: t(`type.${k}`), value: (d) => fmtNumber((d.by_type || {})[k] || 0) }))} />
    </section>
    <section class="card" aria-labelledby="chart-time-title">
      <h2 id="chart-time-title">${t("stats.processing_chart")}</h2>
      <${ChartCanvas} config=${configs.time} label=${t("stats.processing_chart")} />
      <${DataTable} days=${days} caption=${t("stats.processing_chart")}
        columns=${[
          { label: t("stats.avg"), value: (d) => fmtDuration(d.processing_ms_avg) },
          { label: t("stats.p50"), value: (d) => fmtDuration(d.processing_ms_p50) },
        ]} />
    </section>`;
}

function shortDate(iso) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso || "");
  if (!m) return iso;
  return new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3])).toLocaleDateString(locale(), { month: "numeric", day: "numeric" });
}

function typesOf(days) {
  const seen = new Set(TYPES);
  for (const d of days) for (const k of Object.keys(d.by_type || {})) seen.add(k);
  return [...seen];
}

// One object per key (Chart configs must keep their identity while the data is the same).
function useMemoByKey(key, make) {
  const ref = useRef({ key: null, value: null });
  if (ref.current.key !== key) ref.current = { key, value: make() };
  return ref.current.value;
}

function SummaryNumbers({ summary }) {
  const s = summary;
  return html`<section aria-labelledby="summary-title">
    <h2 id="summary-title">${t("stats.summary")}</h2>
    <dl class="stat-cards">
      <div><dt>${t("stats.total_documents")}</dt><dd>${fmtNumber(s.total_documents)}</dd></div>
      ${STATUSES.map((k) => html`<div><dt>${t(`status.${k}`)}</dt><dd>${fmtNumber((s.by_status || {})[k] || 0)}</dd></div>`)}
      <div><dt>${t("stats.total_size")}</dt><dd>${fmtBytes(s.total_size_bytes)}</dd></div>
      <div><dt>${t("stats.avg_processing")}</dt><dd>${fmtDuration(s.processing_ms && s.processing_ms.average)}</dd></div>
      <div><dt>${t("stats.success_rate")}</dt><dd>${s.success_rate === null || s.success_rate === undefined ? "–" : `${fmtNumber(s.success_rate * 100, { maximumFractionDigits: 1 })}%`}</dd></div>
      <div><dt>${t("stats.last_24h")}</dt><dd>${fmtNumber((s.last_24h || {}).uploaded || 0)}</dd></div>
    </dl>
    <h3>${t("stats.by_type")}</h3>
    <dl class="stat-cards">
      ${Object.entries(s.by_type || {}).map(([k, v]) => html`<div><dt>${t(`type.${k}`)}</dt><dd>${fmtNumber(v)}</dd></div>`)}
    </dl>
  </section>`;
}

function SummaryReport() {
  const [selection, setSelection] = useState(getSelection);
  const ids = Object.keys(selection);
  const [mode, setMode] = useState(ids.length ? "selection" : "range");
  const [form, setForm] = useState({ date_from: "", date_to: "", status: "", file_type: "", format: "pdf" });
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const set = (name) => (e) => setForm({ ...form, [name]: e.currentTarget.value });

  const submit = async (e) => {
    e.preventDefault();
    setError(null);
    const body =
      mode === "selection"
        ? { document_ids: ids }
        : {
            filter: {
              date_from: form.date_from ? new Date(`${form.date_from}T00:00:00`).toISOString() : null,
              date_to: form.date_to ? new Date(`${form.date_to}T23:59:59.999`).toISOString() : null,
              status: form.status || null,
              file_type: form.file_type || null,
            },
          };
    setBusy(true);
    try {
      const name = await download("/api/v1/reports/summary", { method: "POST", json: body, query: { format: form.format }, fallbackName: `summary.${form.format}` });
      toast(t("doc.download_started", { name }), "success");
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const clear = () => {
    setSelection({});
    saveSelection({});
    setMode("range");
  };

  return html`<section class="card" id="summary-report" aria-labelledby="report-title">
    <h2 id="report-title">${t("stats.report_title")}</h2>
    <p>${t("stats.report_intro")}</p>
    <form onSubmit=${submit}>
      ${error ? html`<p class="form-error" role="alert">${errorText(error)}</p>` : null}
      <fieldset class="field">
        <legend class="label">${t("stats.report_source")}</legend>
        <div class="row">
          <input type="radio" id="mode-selection" name="report-mode" value="selection" checked=${mode === "selection"} disabled=${!ids.length} onChange=${() => setMode("selection")} />
          <label for="mode-selection">${t("stats.report_use_selection")} (${t("stats.report_selected", { n: ids.length })})</label>
        </div>
        <div class="row">
          <input type="radio" id="mode-range" name="report-mode" value="range" checked=${mode === "range"} onChange=${() => setMode("range")} />
          <label for="mode-range">${t("stats.report_use_range")}</label>
        </div>
      </fieldset>
      ${mode === "selection"
        ? html`${ids.length
            ? html`<ul class="selection-list">${ids.slice(0, 20).map((id) => html`<li key=${id}><a href=${`/documents/${id}`}>${selection[id]}</a></li>`)}</ul>
                ${ids.length > 20 ? html`<p class="hint">… +${ids.length - 20}</p>` : null}
                <p><button type="button" class="btn btn-small" onClick=${clear}>${t("docs.clear_selection")}</button></p>`
            : html`<p class="muted">${t("stats.no_selection")}</p>`}`
        : html`<div class="filters">
            <div class="field">
              <label for="r-from">${t("docs.date_from")}</label>
              <input id="r-from" type="date" value=${form.date_from} onInput=${set("date_from")} />
            </div>
            <div class="field">
              <label for="r-to">${t("docs.date_to")}</label>
              <input id="r-to" type="date" value=${form.date_to} onInput=${set("date_to")} />
            </div>
            <div class="field">
              <label for="r-status">${t("docs.status")}</label>
              <select id="r-status" value=${form.status} onChange=${set("status")}>
                <option value="">${t("common.all")}</option>
                ${STATUSES.map((s) => html`<option value=${s}>${t(`status.${s}`)}</option>`)}
              </select>
            </div>
            <div class="field">
              <label for="r-type">${t("docs.file_type")}</label>
              <select id="r-type" value=${form.file_type} onChange=${set("file_type")}>
                <option value="">${t("common.all")}</option>
                ${TYPES.map((s) => html`<option value=${s}>${t(`type.${s}`)}</option>`)}
              </select>
            </div>
          </div>`}
      <div class="row report-submit">
        <div class="field">
          <label for="r-format">${t("stats.report_format")}</label>
          <select id="r-format" value=${form.format} onChange=${set("format")}>
            ${FORMATS.map((f) => html`<option value=${f}>${t(`format.${f}`)}</option>`)}
          </select>
        </div>
        <button type="submit" class="btn btn-primary" disabled=${busy || (mode === "selection" && !ids.length)}>
          ${busy ? t("stats.report_downloading") : t("stats.report_download")}
        </button>
      </div>
    </form>
  </section>`;
}

export default function Page() {
  const [days, setDays] = useState(30);
  const tz = browserZone();
  const series = useAsync(() => api("/api/v1/documents/stats/timeseries", { query: { days, tz } }), [days, tz]);
  const summary = useAsync(() => api("/api/v1/documents/stats/summary"), []);

  useEffect(() => {
    if (window.location.hash === "#summary-report") {
      const el = document.getElementById("summary-report");
      if (el) el.scrollIntoView();
    }
  }, []);

  const empty = summary.data && summary.data.total_documents === 0;
  return html`<div>
    <${PageTitle}>${t("stats.title")}<//>
    ${summary.error ? html`<${ErrorState} error=${summary.error} onRetry=${summary.reload} />` : !summary.data ? html`<${Loading} />` : html`<${SummaryNumbers} summary=${summary.data} />`}
    ${empty
      ? html`<${EmptyState} icon="chart" title=${t("stats.no_data_title")} text=${t("stats.no_data_text")}>
          <a class="btn btn-primary" href="/upload">${t("docs.empty_upload")}</a>
        <//>`
      : html`<div class="row">
            <div class="field">
              <label for="stats-days">${t("stats.period")}</label>
              <select id="stats-days" value=${String(days)} onChange=${(e) => setDays(Number(e.currentTarget.value))}>
                ${PERIODS.map((n) => html`<option value=${String(n)}>${t("stats.days", { n })}</option>`)}
              </select>
            </div>
          </div>
          ${series.error ? html`<${ErrorState} error=${series.error} onRetry=${series.reload} />` : !series.data ? html`<${Loading} />` : html`<${Charts} series=${series.data} />`}`}
    <${SummaryReport} />
  </div>`;
}
