// Sign up: POST /api/v1/auth/register, then log in. (An email that already has an account gets the same
// answer and nothing is created: the API does not reveal who has an account, so neither do we.)
import { html, useState } from "../preact.js";
import { t, errorText } from "../i18n.js";
import { register, login } from "../api.js";
import { PageTitle, toast } from "../components.js";

function fieldErrors(err) {
  // VALIDATION_ERROR lists {loc: ["body", field], msg}: show each next to its field.
  const out = {};
  for (const e of (err && err.details && err.details.errors) || []) {
    const field = e.loc && e.loc[e.loc.length - 1];
    if (field && !out[field]) out[field] = e.msg;
  }
  return out;
}

export default function Page({ navigate }) {
  const [form, setForm] = useState({ username: "", email: "", full_name: "", password: "", confirm: "" });
  const [errors, setErrors] = useState({});
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const set = (name) => (e) => setForm({ ...form, [name]: e.currentTarget.value });

  const validate = () => {
    const out = {};
    for (const name of ["username", "email", "password", "confirm"]) if (!form[name].trim()) out[name] = t("auth.required");
    if (form.password && form.password.length < 8) out.password = t("auth.password_too_short");
    if (form.confirm && form.password !== form.confirm) out.confirm = t("auth.password_mismatch");
    return out;
  };

  const submit = async (e) => {
    e.preventDefault();
    setError(null);
    const found = validate();
    setErrors(found);
    if (Object.keys(found).length) {
      const first = document.getElementById(`signup-${Object.keys(found)[0]}`);
      if (first) first.focus();
      return;
    }
    setBusy(true);
    try {
      await register({ username: form.username.trim(), email: form.email.trim(), password: form.password, full_name: form.full_name.trim() });
      try {
        await login(form.username.trim(), form.password);
        toast(t("auth.signup_welcome"), "success");
      } catch {
        // The email had an account already (nothing was created): the login page says what to do.
        navigate("/login?notice=signup_done");
      }
    } catch (err) {
      setError(err);
      setErrors(fieldErrors(err));
      setBusy(false);
    }
  };

  const field = (name, label, type, autocomplete, hint) => html`<div class="field">
    <label for=${`signup-${name}`}>${label}</label>
    <input id=${`signup-${name}`} name=${name} type=${type} autocomplete=${autocomplete}
      required=${name !== "full_name"} value=${form[name]} onInput=${set(name)}
      aria-invalid=${errors[name] ? "true" : undefined}
      aria-describedby=${[hint ? `signup-${name}-hint` : "", errors[name] ? `signup-${name}-error` : ""].join(" ").trim() || undefined} />
    ${hint ? html`<span class="hint" id=${`signup-${name}-hint`}>${hint}</span>` : null}
    ${errors[name] ? html`<span class="field-error" id=${`signup-${name}-error`}>${errors[name]}</span>` : null}
  </div>`;

  return html`<div class="narrow">
    <${PageTitle}>${t("auth.signup_title")}<//>
    <form class="card" onSubmit=${submit} novalidate>
      ${error ? html`<p class="form-error" role="alert">${errorText(error)}</p>` : null}
      ${field("username", t("auth.username"), "text", "username")}
      ${field("email", t("auth.email"), "email", "email")}
      ${field("full_name", `${t("auth.full_name")} ${t("auth.optional")}`, "text", "name")}
      ${field("password", t("auth.password"), "password", "new-password", t("auth.password_rule"))}
      ${field("confirm", t("auth.password_confirm"), "password", "new-password")}
      <button type="submit" class="btn btn-primary" disabled=${busy}>${busy ? t("auth.signing_up") : t("auth.signup_button")}</button>
    </form>
    <p>${t("auth.have_account")} <a href="/login">${t("nav.login")}</a></p>
  </div>`;
}
