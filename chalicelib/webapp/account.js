// Signing in, choosing a password from an invite or reset link, and the person's own account.

import * as api from "./api.js";
import { field, form, h, input, notify, values, when } from "./ui.js";

export async function signIn(_, ctx) {
  const email = input({ type: "email", autocomplete: "username", required: true });
  const password = input({ type: "password", autocomplete: "current-password", required: true });
  const company = input({ inputmode: "numeric" });
  const companyField = field("Company id", "company", company, "You belong to several companies: say which.");
  companyField.hidden = true;
  const signInForm = form(
    [field("Email", "email", email), field("Password", "password", password), companyField],
    async (element) => {
      const typed = values(element);
      const body = { email: typed.email, password: typed.password };
      if (typed.company) body.company = Number(typed.company);
      try {
        await ctx.signedIn(await api.post("/sessions", body));
      } catch (error) {
        if (error.code === "company_required") companyField.hidden = false;
        throw error;
      }
    },
    "Sign in",
    { class: "narrow", "aria-label": "Sign in" },
  );
  return h(
    "section",
    { class: "card narrow" },
    h("h1", {}, "Sign in to Colony"),
    signInForm,
    h("p", {}, h("a", { href: "#/forgot" }, "Forgot your password?")),
  );
}

export async function forgot() {
  const email = input({ type: "email", autocomplete: "username", required: true });
  const done = h("p", { role: "status" });
  const resetForm = form(
    [field("Email", "email", email)],
    async (element) => {
      const answer = await api.post("/password-resets", values(element));
      done.textContent = answer.detail;
    },
    "Send a reset link",
    { "aria-label": "Reset password" },
  );
  return h(
    "section",
    { class: "card narrow" },
    h("h1", {}, "Reset your password"),
    resetForm,
    done,
    h("p", {}, h("a", { href: "#/signin" }, "Back to signing in")),
  );
}

export async function choosePassword([token], ctx) {
  const password = input({ type: "password", autocomplete: "new-password", required: true });
  const chooseForm = form(
    [field("New password", "password", password, "At least 12 characters, and not a common password.")],
    async (element) => {
      const session = await api.post("/passwords", { token, password: values(element).password });
      notify("Your password is set; you are signed in.");
      await ctx.signedIn(session);
    },
    "Set the password",
    { "aria-label": "Choose a password" },
  );
  return h("section", { class: "card narrow" }, h("h1", {}, "Choose your password"), chooseForm);
}

export async function settings(_, ctx) {
  const session = await api.get("/sessions/current");
  const current = input({ type: "password", autocomplete: "current-password" });
  const next = input({ type: "password", autocomplete: "new-password" });
  const changeForm = form(
    [
      field("Current password", "current_password", current),
      field("New password", "password", next, "At least 12 characters; every other session of yours ends."),
    ],
    async (element) => {
      const answer = await api.put(`/users/${ctx.user.id}/password`, values(element));
      api.setToken(answer.token);
      element.reset();
      notify("Password changed.");
    },
    "Change the password",
    { "aria-label": "Change password" },
  );
  return h(
    "section",
    {},
    h("h1", {}, "Your account"),
    h(
      "dl",
      { class: "facts" },
      h("dt", {}, "Email"),
      h("dd", {}, session.user.email),
      h("dt", {}, "Role"),
      h("dd", {}, session.user.role),
      h("dt", {}, "Company"),
      h("dd", {}, `${ctx.company.name} (${ctx.company.id})`),
      h("dt", {}, "Session ends"),
      h("dd", {}, `${when(session.expires)} at the latest, or after ${session.idle_timeout / 3600} hours idle`),
    ),
    h("h2", {}, "Change your password"),
    changeForm,
  );
}
