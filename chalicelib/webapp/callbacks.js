// Delivery callbacks, for admins: the URL Colony POSTs events to, its signing secret (shown once, when
// it is made or renewed) and the recent attempts, each of which can be sent again.

import * as api from "./api.js";
import { button, clear, field, form, h, input, notify, showError, table, values, when } from "./ui.js";

export async function section(company) {
  const attempts = company.callback_url ? (await api.get("/callbacks", { page_size: 20 })).results : [];
  const shown = h("div", { role: "status" });
  const reveal = (secret) =>
    clear(
      shown,
      h("p", {}, "The signing secret, shown this once: copy it now."),
      h("p", {}, h("input", { type: "text", readonly: true, value: secret, class: "secret", "aria-label": "The callback secret" })),
    );
  const settings = form(
    [
      field(
        "Callback URL",
        "callback_url",
        input({ type: "url", value: company.callback_url ?? "", maxlength: 2000, placeholder: "https://example.com/colony-events" }),
        "Each status change, reply and opt-out is POSTed here, signed with the secret. Empty turns callbacks off.",
      ),
    ],
    async (element) => {
      const typed = values(element).callback_url || null;
      const saved = await api.patch("/company", { callback_url: typed });
      Object.assign(company, saved);
      if (saved.callback_secret) reveal(saved.callback_secret);
      notify(typed ? "Callbacks go to this URL." : "Callbacks are off.");
    },
    "Save the callback URL",
    { class: "inline", "aria-label": "Callback URL" },
  );
  const renew = button("New secret", async () => {
    if (!window.confirm("Make a new secret? The old one still signs beside it for 24 hours.")) return;
    try {
      reveal((await api.post("/company/callback-secret")).callback_secret);
    } catch (error) {
      showError(settings, error);
    }
  });
  const again = (attempt) =>
    button("Send again", async () => {
      try {
        await api.post(`/callbacks/${attempt.id}/retry`);
        notify("Sent again.");
      } catch (error) {
        notify(error.message, "error");
      }
    });
  const answer = (attempt) => {
    const last = attempt.attempts[attempt.attempts.length - 1];
    return last ? String(last.status_code ?? last.error) : "not tried yet";
  };
  const columns = [
    ["Event", (a) => a.type],
    ["To", (a) => a.payload.data.msisdn || a.payload.data.email || ""],
    ["Status", (a) => a.status],
    ["Last answer", answer],
    ["Tries", (a) => String(a.attempts.length)],
    ["At", (a) => when(a.date_created)],
    ["", again],
  ];
  return h(
    "div",
    {},
    settings,
    company.callback_url ? renew : "",
    shown,
    company.callback_url ? table("Recent callbacks", columns, attempts, "No callbacks yet.") : "",
  );
}
