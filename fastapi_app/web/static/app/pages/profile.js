// Profile: email and full name (PUT /api/v1/users/profile), and the password change (current + new),
// after which the API has ended every session: we forget ours and send the user to log in. The upload
// quotas' use beside their limits comes from GET /api/v1/users/me (a null limit = unlimited).
import { html, useState } from "../preact.js";
import { t, errorText, fmtBytes, fmtDateTime, fmtNumber } from "../i18n.js";
import { api, setUser, logout, expectSessionEnd } from "../api.js";
import { PageTitle, toast, useAsync } from "../components.js";

function QuotaLine({ id, label, usage, format }) {
  const { used, limit } = usage;
  const text = limit === null
    ? t("profile.quota_unlimited", { used: format(used) })
    : t("profile.quota_used_of", { used: format(used), limit: format(limit) });
  return html`<dt id=${id}>${label}</dt>
    <dd>
      ${text}
      ${limit === null ? null : html`<progress aria-labelledby=${id} max=${limit} value=${Math.min(used, limit)}></progress>`}
    </dd>`;
}

function QuotaCard() {
  const me = useAsync(() => api("/api/v1/users/me"), []);
  const quota = me.data && me.data.quota;
  if (!quota) return null;
  return html`<section class="card" aria-labelledby="quota-title" data-testid="quota">
    <h2 id="quota-title">${t("profile.quota_title")}</h2>
    <dl class="facts">
      <${QuotaLine} id="quota-documents" label=${t("profile.quota_documents_today")} usage=${quota.documents_today} format=${fmtNumber} />
      <${QuotaLine} id="quota-storage" label=${t("profile.quota_storage")} usage=${quota.storage_bytes} format=${fmtBytes} />
    </dl>
    ${quota.documents_today.limit === null ? null : html`<p class="hint">${t("profile.quota_resets", { tz: quota.timezone })}</p>`}
  </section>`;
}

function DetailsForm({ user }) {
  const [email, setEmail] = useState(user.email || "");
  const [fullName, setFullName] = useState(user.full_name || "");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);

  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const updated = await api("/api/v1/users/profile", { method: "PUT", json: { email: email.trim(), full_name: fullName.trim() } });
      setUser(updated);
      toast(t("profile.saved"), "success");
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return html`<form class="card" onSubmit=${submit} aria-labelledby="profile-edit-title">
    <h2 id="profile-edit-title">${t("profile.edit")}</h2>
    ${error ? html`<p class="form-error" role="alert">${errorText(error)}</p>` : null}
    <div class="field">
      <label for="profile-email">${t("auth.email")}</label>
      <input id="profile-email" type="email" autocomplete="email" required value=${email} onInput=${(e) => setEmail(e.currentTarget.value)} />
    </div>
    <div class="field">
      <label for="profile-full-name">${t("auth.full_name")}</label>
      <input id="profile-full-name" type="text" autocomplete="name" value=${fullName} onInput=${(e) => setFullName(e.currentTarget.value)} />
    </div>
    <button type="submit" class="btn btn-primary" disabled=${busy}>${busy ? t("profile.saving") : t("common.save")}</button>
  </form>`;
}

function PasswordForm({ navigate, username }) {
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [confirm, setConfirm] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const [problem, setProblem] = useState(null);

  const submit = async (e) => {
    e.preventDefault();
    setError(null);
    if (next.length < 8) return setProblem(t("auth.password_too_short"));
    if (next !== confirm) return setProblem(t("auth.password_mismatch"));
    setProblem(null);
    setBusy(true);
    // The WebSocket hears of the ended sessions too: this page says so itself.
    expectSessionEnd(true);
    try {
      await api("/api/v1/users/profile", { method: "PUT", json: { current_password: current, new_password: next } });
      // Every session ended with the change, this one too: clear its cookies (refused from now on) and
      // forget the token.
      await logout();
      navigate("/login?notice=password_changed_login", { replace: true });
    } catch (err) {
      setError(err);
      setBusy(false);
    } finally {
      expectSessionEnd(false);
    }
  };

  return html`<form class="card" onSubmit=${submit} aria-labelledby="password-title" novalidate>
    <h2 id="password-title">${t("profile.password_title")}</h2>
    <p class="hint" id="password-note">${t("profile.password_note")}</p>
    ${error ? html`<p class="form-error" role="alert">${errorText(error)}</p>` : null}
    ${problem ? html`<p class="form-error" role="alert">${problem}</p>` : null}
    <input type="text" name="username" autocomplete="username" value=${username} hidden readonly />
    <div class="field">
      <label for="password-current">${t("profile.current_password")}</label>
      <input id="password-current" type="password" autocomplete="current-password" required value=${current} onInput=${(e) => setCurrent(e.currentTarget.value)} />
    </div>
    <div class="field">
      <label for="password-new">${t("profile.new_password")}</label>
      <input id="password-new" type="password" autocomplete="new-password" required minlength="8" aria-describedby="password-rule"
        value=${next} onInput=${(e) => setNext(e.currentTarget.value)} />
      <span class="hint" id="password-rule">${t("auth.password_rule")}</span>
    </div>
    <div class="field">
      <label for="password-confirm">${t("profile.new_password_confirm")}</label>
      <input id="password-confirm" type="password" autocomplete="new-password" required value=${confirm} onInput=${(e) => setConfirm(e.currentTarget.value)} />
    </div>
    <button type="submit" class="btn btn-primary" disabled=${busy || !current || !next || !confirm} aria-describedby="password-note">
      ${t("profile.password_button")}
    </button>
  </form>`;
}

export default function Page({ user, navigate }) {
  return html`<div>
    <${PageTitle}>${t("profile.title")}<//>
    <section class="card" aria-labelledby="account-title">
      <h2 id="account-title">${t("profile.account")}</h2>
      <dl class="facts">
        <dt>${t("auth.username")}</dt><dd>${user.username}</dd>
        <dt>${t("auth.email")}</dt><dd>${user.email}</dd>
        <dt>${t("auth.full_name")}</dt><dd>${user.full_name || "–"}</dd>
        <dt>${t("profile.role")}</dt><dd>${user.is_superuser ? t("profile.role_admin") : t("profile.role_user")}</dd>
        <dt>${t("profile.member_since")}</dt><dd>${fmtDateTime(user.created_at)}</dd>
      </dl>
    </section>
    <${QuotaCard} />
    <div class="grid-2">
      <${DetailsForm} user=${user} />
      <${PasswordForm} navigate=${navigate} username=${user.username} />
    </div>
  </div>`;
}
