// Log in: POST /api/v1/auth/session (the refresh token comes back as an httpOnly cookie).
import { html, useState } from "../preact.js";
import { t, errorText } from "../i18n.js";
import { login } from "../api.js";
import { PageTitle } from "../components.js";

const NOTICES = ["signup_done", "password_changed_login", "session_ended"];

export default function Page({ query }) {
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  // A message handed over by the page that sent us here (password changed, session ended, signed up).
  const notice = NOTICES.includes(query.get("notice")) ? query.get("notice") : null;

  const submit = async (e) => {
    e.preventDefault();
    setError(null);
    setBusy(true);
    try {
      // On success the router sees the user and leaves for ?next= or /documents.
      await login(username.trim(), password);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };

  return html`<div class="narrow">
    <${PageTitle}>${t("auth.login_title")}<//>
    ${notice ? html`<p class="form-notice" role="status">${t(`auth.${notice}`)}</p>` : null}
    <form class="card" onSubmit=${submit} novalidate>
      ${error ? html`<p class="form-error" role="alert" id="login-error">${errorText(error)}</p>` : null}
      <div class="field">
        <label for="login-username">${t("auth.username_or_email")}</label>
        <input id="login-username" name="username" type="text" autocomplete="username" required
          value=${username} onInput=${(e) => setUsername(e.currentTarget.value)}
          aria-describedby=${error ? "login-error" : undefined} />
      </div>
      <div class="field">
        <label for="login-password">${t("auth.password")}</label>
        <input id="login-password" name="password" type="password" autocomplete="current-password" required
          value=${password} onInput=${(e) => setPassword(e.currentTarget.value)} />
      </div>
      <button type="submit" class="btn btn-primary" disabled=${busy || !username || !password}>
        ${busy ? t("auth.logging_in") : t("auth.login_button")}
      </button>
    </form>
    <p>${t("auth.no_account")} <a href="/signup">${t("nav.signup")}</a></p>
  </div>`;
}
