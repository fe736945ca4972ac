// Upload: many files by drag and drop or the (keyboard-usable) file input, an optional PDF password,
// each file sent with XMLHttpRequest for its upload progress, then the document's processing followed
// live over the WebSocket (stage in words, page x of y, %), with no reload.
// Or one batch (README "Batches"): a ZIP, or the chosen files, in one request; its page (/batches/{id})
// follows it from there.
import { html, useState, useEffect, useRef } from "../preact.js";
import { t, errorText, fmtBytes, statusText } from "../i18n.js";
import { uploadFile, uploadBatch, api } from "../api.js";
import { onEvent, applyEvent, isConnected } from "../ws.js";
import { LiveStatus, PageTitle, ProgressBar, StatusBadge, DocProgress, EmptyState, Icon, toast } from "../components.js";

const PARALLEL = 3;
const ACCEPT = ".pdf,.hwp,.hwpx,.xlsx,.xlsm,.xls,.ods,.csv,.png,.jpg,.jpeg,.tif,.tiff,.webp,.bmp,.gif";
let nextKey = 0;

const isZip = (file) => /\.zip$/i.test(file.name);

function BatchUpload({ navigate }) {
  const [files, setFiles] = useState([]);
  const [sending, setSending] = useState(null); // {loaded, total} while the request is on its way
  const [error, setError] = useState(null);
  const [dragging, setDragging] = useState(false);
  const mounted = useRef(true);
  useEffect(() => () => (mounted.current = false), []);
  const archive = files.length === 1 && isZip(files[0]) ? files[0] : null;

  const choose = (fileList) => {
    const chosen = Array.from(fileList || []);
    if (!chosen.length) return;
    setFiles(chosen);
    setError(null);
  };

  const submit = (e) => {
    e.preventDefault();
    if (!files.length || sending) return;
    const size = files.reduce((sum, f) => sum + f.size, 0);
    setSending({ loaded: 0, total: size });
    setError(null);
    uploadBatch(archive ? { archive } : { files }, { onProgress: (loaded, total) => setSending({ loaded, total }) }).then(
      (data) => {
        toast(t("batch.created", { accepted: data.accepted, rejected: data.rejected }), "success");
        // Not when the user has gone to another page meanwhile: the batch is on its way all the same.
        if (mounted.current) navigate(`/batches/${data.batch_id}`);
      },
      (err) => {
        if (!mounted.current) return toast(`${t("upload.upload_failed")}: ${errorText(err)}`, "error");
        setSending(null);
        setError(err);
      },
    );
  };

  // BATCH_REJECTED names each file's reason.
  const refused = (error && error.details && error.details.items) || [];
  const pct = sending && sending.total ? Math.round((100 * sending.loaded) / sending.total) : 0;
  return html`<section class="card" aria-labelledby="batch-upload-title">
    <h2 id="batch-upload-title">${t("upload.batch_title")}</h2>
    <p>${t("upload.batch_intro")}</p>
    <form class=${dragging ? "batch-form dragging" : "batch-form"} onSubmit=${submit}
      onDragEnter=${(e) => (e.preventDefault(), setDragging(true))}
      onDragOver=${(e) => (e.preventDefault(), setDragging(true))}
      onDragLeave=${(e) => {
        if (!e.currentTarget.contains(e.relatedTarget)) setDragging(false);
      }}
      onDrop=${(e) => {
        e.preventDefault();
        setDragging(false);
        choose(e.dataTransfer && e.dataTransfer.files);
      }}>
      <div class="field">
        <label for="batch-input">${t("upload.batch_choose_label")}</label>
        <input id="batch-input" type="file" multiple accept=${`.zip,${ACCEPT}`} aria-describedby="batch-input-hint"
          disabled=${!!sending} onChange=${(e) => choose(e.currentTarget.files)} />
        <span class="hint" id="batch-input-hint">${t("upload.batch_hint")}</span>
      </div>
      ${files.length
        ? html`<p>${archive
            ? t("upload.batch_zip_chosen", { name: archive.name, size: fmtBytes(archive.size) })
            : t("upload.batch_files_chosen", { n: files.length, size: fmtBytes(files.reduce((sum, f) => sum + f.size, 0)) })}</p>`
        : null}
      <button type="submit" class="btn btn-primary" disabled=${!files.length || !!sending}>${t("upload.batch_start")}</button>
      ${sending ? html`<${ProgressBar} value=${sending.loaded} max=${sending.total || 1} label=${t("upload.batch_uploading", { pct })} />` : null}
      ${error
        ? html`<div class="alert alert-error" role="alert">
            <p><strong>${errorText(error)}</strong></p>
            ${refused.length
              ? html`<ul>${refused.map((item) => html`<li key=${item.index}>${item.filename}: ${errorText(item.error_code)}</li>`)}</ul>`
              : null}
          </div>`
        : null}
    </form>
  </section>`;
}

export default function Page({ navigate }) {
  const [items, setItems] = useState([]);
  const [password, setPassword] = useState("");
  const [dragging, setDragging] = useState(false);
  const [announcement, setAnnouncement] = useState("");
  const lastEvent = useRef({}); // document id -> latest event (it may arrive before the upload's answer)
  const active = useRef(0);
  const itemsRef = useRef(items);
  itemsRef.current = items;

  const update = (key, change) =>
    setItems((list) => list.map((item) => (item.key === key ? { ...item, ...(typeof change === "function" ? change(item) : change) } : item)));

  // Live processing events for the documents of this page.
  useEffect(
    () =>
      onEvent((event) => {
        if (event.type === "snapshot") {
          const fresh = Object.fromEntries((event.documents || []).map((d) => [d.id, d]));
          for (const item of itemsRef.current) {
            if (!item.doc) continue;
            if (fresh[item.doc.id]) update(item.key, (it) => ({ doc: { ...it.doc, ...fresh[item.doc.id] } }));
            else if (item.doc.status === "pending" || item.doc.status === "processing") {
              // Finished while we were disconnected: read it again.
              api(`/api/v1/documents/${item.doc.id}`).then(
                (doc) => update(item.key, (it) => ({ doc: { ...it.doc, ...doc } })),
                () => {}, // offline again: the 4 s poll below reads it later
              );
            }
          }
          return;
        }
        if (!event.document_id) return;
        lastEvent.current[event.document_id] = event;
        setItems((list) => list.map((item) => (item.doc && item.doc.id === event.document_id ? { ...item, doc: applyEvent(item.doc, event) } : item)));
        if (event.type === "document_completed" || event.type === "document_failed") {
          const item = itemsRef.current.find((i) => i.doc && i.doc.id === event.document_id);
          if (item) setAnnouncement(`${item.file.name}: ${statusText(event.status)}`);
        }
      }),
    [],
  );

  // Without the WebSocket (reconnecting), poll the unfinished documents so progress still moves.
  useEffect(() => {
    const timer = setInterval(async () => {
      if (isConnected()) return;
      for (const item of itemsRef.current) {
        if (!item.doc || item.doc.status === "completed" || item.doc.status === "failed") continue;
        try {
          const doc = await api(`/api/v1/documents/${item.doc.id}`);
          update(item.key, (it) => ({ doc: { ...it.doc, ...doc } }));
        } catch {
          /* the next round tries again */
        }
      }
    }, 4000);
    return () => clearInterval(timer);
  }, []);

  const pump = () => {
    while (active.current < PARALLEL) {
      const next = itemsRef.current.find((item) => item.state === "queued");
      if (!next) return;
      active.current += 1;
      itemsRef.current = itemsRef.current.map((item) => (item.key === next.key ? { ...item, state: "uploading" } : item));
      update(next.key, { state: "uploading" });
      uploadFile(next.file, {
        password: next.password,
        onProgress: (loaded, total) => update(next.key, { loaded, total }),
      })
        .then(
          (doc) => {
            const seen = lastEvent.current[doc.id];
            update(next.key, (it) => ({ state: "uploaded", loaded: it.total || next.file.size, doc: seen ? applyEvent(doc, seen) : doc }));
          },
          (error) => {
            update(next.key, { state: "error", error });
            setAnnouncement(`${next.file.name}: ${t("upload.upload_failed")} – ${errorText(error)}`);
          },
        )
        .finally(() => {
          active.current -= 1;
          pump();
        });
    }
  };

  const addFiles = (fileList) => {
    const files = Array.from(fileList || []);
    if (!files.length) return;
    const added = files.map((file) => ({ key: ++nextKey, file, password, state: "queued", loaded: 0, total: file.size, doc: null, error: null }));
    itemsRef.current = [...itemsRef.current, ...added];
    setItems(itemsRef.current);
    setAnnouncement(t("upload.added", { n: files.length }));
    pump();
  };

  const onDrop = (e) => {
    e.preventDefault();
    setDragging(false);
    addFiles(e.dataTransfer && e.dataTransfer.files);
  };

  const clearFinished = () => setItems((list) => list.filter((item) => item.state === "queued" || item.state === "uploading"));

  return html`<div>
    <${PageTitle}>${t("upload.title")}<//>
    <p>${t("upload.intro")}</p>
    <form class="card" onSubmit=${(e) => e.preventDefault()}>
      <div class="field">
        <label for="upload-password">${t("upload.password")} ${t("auth.optional")}</label>
        <input id="upload-password" type="password" autocomplete="off" value=${password}
          aria-describedby="upload-password-hint" onInput=${(e) => setPassword(e.currentTarget.value)} />
        <span class="hint" id="upload-password-hint">${t("upload.password_hint")}</span>
      </div>
      <div class=${dragging ? "dropzone dragging" : "dropzone"}
        onDragEnter=${(e) => (e.preventDefault(), setDragging(true))}
        onDragOver=${(e) => (e.preventDefault(), setDragging(true))}
        onDragLeave=${(e) => {
          if (!e.currentTarget.contains(e.relatedTarget)) setDragging(false);
        }}
        onDrop=${onDrop}>
        <${Icon} name="upload" />
        <p><strong>${t("upload.drop_here")}</strong></p>
        <p>${t("upload.or")}</p>
        <div class="field file-field">
          <label for="upload-input">${t("upload.choose_label")}</label>
          <input id="upload-input" type="file" multiple accept=${ACCEPT}
            onChange=${(e) => {
              addFiles(e.currentTarget.files);
              e.currentTarget.value = "";
            }} />
        </div>
      </div>
    </form>
    <${BatchUpload} navigate=${navigate} />
    <div class="sr-only" role="status" aria-live="polite">${announcement}</div>
    <section aria-labelledby="uploads-title">
      <div class="row">
        <h2 id="uploads-title">${t("upload.files_title")}</h2>
        <${LiveStatus} />
        <span class="spacer"></span>
        ${items.some((i) => i.state === "uploaded" || i.state === "error")
          ? html`<button type="button" class="btn btn-small" onClick=${clearFinished}>${t("upload.clear")}</button>`
          : null}
      </div>
      ${items.length === 0
        ? html`<${EmptyState} icon="folder" title=${t("upload.no_files")} text=${t("upload.drop_here")} />`
        : html`<ul class="upload-list">${items.map((item) => html`<${UploadItem} key=${item.key} item=${item} />`)}</ul>`}
    </section>
  </div>`;
}

function UploadItem({ item }) {
  const { file, state, loaded, total, doc, error } = item;
  const pct = total ? Math.round((100 * loaded) / total) : 0;
  return html`<li class="upload-item">
    <div class="row">
      <span class="upload-name">${file.name}</span>
      <span class="muted">${fmtBytes(file.size)}</span>
      <span class="spacer"></span>
      ${doc ? html`<${StatusBadge} status=${doc.status} />` : state === "error" ? html`<span class="badge badge-failed">${t("upload.upload_failed")}</span>` : null}
    </div>
    ${state === "queued" ? html`<p class="hint">${t("upload.waiting")}</p>` : null}
    ${state === "uploading"
      ? html`<${ProgressBar} value=${loaded} max=${total || 1} label=${`${t("upload.progress_label", { name: file.name })}: ${t("upload.uploading", { pct })}`} />`
      : null}
    ${state === "error" ? html`<p class="upload-error" role="alert">${errorText(error)}</p>` : null}
    ${doc
      ? html`<${DocProgress} doc=${doc} label=${t("upload.processing_label", { name: file.name })} />
          ${doc.status === "failed" ? html`<p class="upload-error">${errorText(doc.error_code)}</p>` : null}
          ${(doc.upload_warnings || []).some((w) => w.code === "DUPLICATE_UPLOAD") ? html`<p class="hint">${t("upload.duplicate")}</p>` : null}
          <p><a href=${`/documents/${doc.id}`}>${t("upload.open_document")}<span class="sr-only">: ${file.name}</span></a></p>`
      : null}
  </li>`;
}
