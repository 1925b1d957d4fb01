// The company, for admins: settings, the credits balance, users and their roles (with invite links),
// API keys (each shown once, when it is made) and delivery callbacks.

import * as api from "./api.js";
import * as callbacks from "./callbacks.js";
import { button, checkbox, clear, field, form, h, input, notify, select, showError, table, values, when } from "./ui.js";

const ROLES = [
  ["member", "member"],
  ["approver", "approver"],
  ["admin", "admin"],
];
const TEXTS = [
  ["name", "Name", 100],
  ["timezone", "Time zone", 64],
  ["default_region", "Default region (for numbers without a country code)", 2],
  ["sender_id", "Sender id", 15],
  ["optout_text", "Opt-out line", 100],
  ["stop_reply", "Reply to STOP", 160],
  ["start_reply", "Reply to START", 160],
  ["email_from", "Email from", 320],
  ["email_reply_to", "Email reply-to", 254],
];
const SWITCHES = [
  ["quiet_hours", "Marketing only in the permitted hours"],
  ["require_second_approver", "A second person approves each deployment"],
  ["keyword_replies", "Answer STOP and START"],
];
const NUMBERS = [
  ["send_rate", "SMS a second"],
  ["email_send_rate", "Emails a second"],
  ["email_credits", "Credits an email costs"],
];

export async function render(_, ctx) {
  const company = await ctx.reloadCompany();
  const [users, keys] = await Promise.all([api.all("/users"), api.all("/api-keys")]);
  return h(
    "section",
    {},
    h("h1", {}, `Company: ${company.name}`),
    h("p", { class: "balance", dataset: { testid: "balance" } }, `Credits: ${company.credits.toLocaleString()}`),
    h("p", { class: "hint" }, "Credits are bought from the operator of this Colony, who adds them to the balance."),
    h("h2", {}, "Settings"),
    settings(company, ctx),
    h("h2", {}, "Users"),
    usersTable(users, ctx),
    h("h3", {}, "Invite a user"),
    inviteForm(),
    h("h2", {}, "API keys"),
    keysTable(keys, users),
    h("h2", {}, "Delivery callbacks"),
    await callbacks.section(company),
  );
}

function settings(company, ctx) {
  const controls = [
    ...TEXTS.map(([name, label, most]) => field(label, name, input({ value: company[name] ?? "", maxlength: most }))),
    ...NUMBERS.map(([name, label]) => field(label, name, input({ type: "number", min: 1, value: company[name] }))),
    ...SWITCHES.map(([name, label]) => field(label, name, checkbox(company[name]))),
  ];
  return form(
    controls,
    async (element) => {
      const typed = values(element);
      const changed = {};
      for (const [name] of TEXTS) if ((typed[name] || null) !== (company[name] || null)) changed[name] = typed[name] || (name.startsWith("email") || name === "sender_id" ? null : "");
      for (const [name] of NUMBERS) if (Number(typed[name]) !== company[name]) changed[name] = Number(typed[name]);
      for (const [name] of SWITCHES) if (typed[name] !== company[name]) changed[name] = typed[name];
      if (!Object.keys(changed).length) return notify("Nothing changed.");
      Object.assign(company, await api.patch("/company", changed));
      await ctx.reloadCompany();
      notify("Settings saved.");
    },
    "Save the settings",
    { class: "grid", "aria-label": "Company settings" },
  );
}

function usersTable(users, ctx) {
  const result = h("div", { class: "invite-result", role: "status" });
  const role = (user) => {
    const choice = select(ROLES, user.role, { "aria-label": `Role of ${user.email}` });
    choice.addEventListener("change", async () => {
      try {
        await api.patch(`/users/${user.id}`, { role: choice.value });
        notify(`${user.email} is now ${choice.value}.`);
      } catch (error) {
        choice.value = user.role;
        notify(error.message, "error");
      }
    });
    return choice;
  };
  const actions = (user) =>
    user.id === ctx.user.id
      ? "you"
      : h(
          "span",
          { class: "row-actions" },
          button("New invite link", async () => showInvite(result, user, await api.post(`/users/${user.id}/invite`))),
          button("Remove", async () => {
            if (!window.confirm(`Remove ${user.email}? Their sessions and keys stop working.`)) return;
            try {
              await api.remove(`/users/${user.id}`);
              window.dispatchEvent(new HashChangeEvent("hashchange"));
            } catch (error) {
              notify(error.message, "error");
            }
          }, { class: "danger" }),
        );
  return h(
    "div",
    {},
    table("Users of the company", [["Email", (u) => u.email], ["Role", role], ["Since", (u) => when(u.date_created)], ["", actions]], users),
    result,
  );
}

function showInvite(place, user, invite) {
  clear(
    place,
    h("p", {}, `Invite link for ${user.email} (also emailed; valid until ${when(invite.invite_expires)}, once):`),
    h("p", {}, h("input", { type: "text", readonly: true, value: invite.invite_url, class: "secret", "aria-label": "Invite link" })),
  );
}

function inviteForm() {
  const result = h("div", { class: "invite-result", role: "status" });
  const element = form(
    [field("Email", "email", input({ type: "email", required: true })), field("Role", "role", select(ROLES, "member"))],
    async (current) => {
      const created = await api.post("/users", values(current));
      current.reset();
      showInvite(result, created, created);
      result.append(h("p", {}, "Their API key, shown this once:"), h("p", {}, h("input", { type: "text", readonly: true, value: created.api_key, class: "secret", "aria-label": "The new user's API key" })));
    },
    "Invite",
    { class: "inline", "aria-label": "Invite a user" },
  );
  return h("div", {}, element, result);
}

function keysTable(keys, users) {
  const emails = Object.fromEntries(users.map((u) => [u.id, u.email]));
  const shown = h("div", { role: "status" });
  const created = form(
    [field("Name of the new key", "name", input({ maxlength: 100 })), field("For", "user", select(users.map((u) => [u.id, u.email]), ""))],
    async (element) => {
      const typed = values(element);
      const key = await api.post("/api-keys", { name: typed.name || undefined, user: Number(typed.user) });
      clear(shown, h("p", {}, "The new key, shown this once: copy it now."), h("p", {}, h("input", { type: "text", readonly: true, value: key.api_key, class: "secret", "aria-label": "The new API key" })));
    },
    "Create a key",
    { class: "inline", "aria-label": "Create an API key" },
  );
  const revoke = (key) =>
    button("Revoke", async () => {
      if (!window.confirm(`Revoke the key ${key.name || key.id}? Whatever uses it stops working.`)) return;
      try {
        await api.remove(`/api-keys/${key.id}`);
        window.dispatchEvent(new HashChangeEvent("hashchange"));
      } catch (error) {
        showError(created, error);
      }
    }, { class: "danger" });
  return h(
    "div",
    {},
    table("API keys", [["Name", (k) => k.name || `key ${k.id}`], ["User", (k) => emails[k.user] || k.user], ["Made", (k) => when(k.date_created)], ["", revoke]], keys, "No API keys."),
    created,
    shown,
  );
}
