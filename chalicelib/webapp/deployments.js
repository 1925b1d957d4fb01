// Deployments: the list, the approver's queue, and watching one send (progress, pause, resume, cancel,
// its recipients by status, and a report into the filebox).

import * as api from "./api.js";
import { taskProgress } from "./jobs.js";
import { button, clear, failure, field, h, input, notify, progress, select, table, when } from "./ui.js";

const STATUSES = ["draft", "pending_approval", "approved", "sending", "sent", "failed", "cancelled", "paused"];
const LIVE = new Set(["approved", "sending", "paused"]);
const RECIPIENT_STATUSES = ["queued", "sent", "delivered", "failed", "opted_out", "unknown"];

const who = (userId, ctx) => (userId === null ? "—" : userId === ctx.user.id ? "you" : `user ${userId}`);

export async function index() {
  const place = h("div", {});
  const filter = select([["", "every status"], ...STATUSES.map((name, status) => [status, name.replace("_", " ")])], "");
  const load = async () => {
    const rows = await api.all("/deployments", { status: filter.value });
    clear(
      place,
      table(
        "The company's deployments",
        [
          ["Title", (d) => h("a", { href: d.status_name === "draft" ? `#/compose/${d.id}` : `#/deployments/${d.id}` }, d.title)],
          ["Status", (d) => h("span", { class: `status ${d.status_name}` }, d.status_name.replace("_", " "))],
          ["Recipients", (d) => d.total_contacts.toLocaleString()],
          ["Credits", (d) => d.total_credits.toLocaleString()],
          ["Sent", (d) => d.sent.toLocaleString()],
          ["Updated", (d) => when(d.date_updated)],
        ],
        rows,
        "No deployments here.",
      ),
    );
  };
  filter.addEventListener("change", () => load().catch((error) => clear(place, failure(error))));
  await load();
  return h(
    "section",
    {},
    h("h1", {}, "Deployments"),
    h("p", {}, h("a", { href: "#/compose", class: "button" }, "Compose a deployment")),
    field("Show", "status", filter),
    place,
  );
}

export async function approvals(_, ctx) {
  const [pending, company, lists] = await Promise.all([api.all("/deployments", { status: 1 }), ctx.reloadCompany(), api.all("/contact-lists")]);
  const titles = Object.fromEntries(lists.map((list) => [list.id, list.title]));
  const cards = await Promise.all(pending.map((d) => approvalCard(d, company, titles, ctx)));
  return h(
    "section",
    {},
    h("h1", {}, "Waiting for approval"),
    h("p", {}, `Balance: ${company.credits.toLocaleString()} credits.`, company.require_second_approver ? " The company requires a second person to approve: nobody approves their own deployment." : ""),
    cards.length ? h("div", { class: "cards" }, cards) : h("p", { class: "empty" }, "Nothing is waiting for approval."),
  );
}

function audience(d, titles) {
  if (!d.contact_lists.length) return "the people of its imported file";
  return d.contact_lists.map((id) => titles[id] || `list ${id}`).join(", ");
}

async function approvalCard(d, company, titles, ctx) {
  const quote = await api.get(`/deployments/${d.id}/quote`);
  const error = h("p", { class: "form-error", role: "alert" });
  const reason = input({ maxlength: 500 });
  const own = company.require_second_approver && d.created_by === ctx.user.id;
  const act = (path, body, words) => async () => {
    error.textContent = "";
    try {
      await api.post(`/deployments/${d.id}/${path}`, body && body());
      notify(words);
      window.location.hash = path === "approve" ? `#/deployments/${d.id}` : "#/approve";
      if (path !== "approve") window.dispatchEvent(new HashChangeEvent("hashchange"));
    } catch (problem) {
      error.textContent = problem.message;
    }
  };
  return h(
    "article",
    { class: "card", "aria-labelledby": `approve-${d.id}` },
    h("h2", { id: `approve-${d.id}` }, d.title),
    h("p", { class: "label" }, "The message as it will be sent (before personal values):"),
    h("blockquote", { class: "message" }, d.message, d.optout ? h("span", { class: "optout-line" }, `\n${company.optout_text}`) : ""),
    h(
      "ul",
      {},
      h("li", {}, `Audience: ${quote.recipients.toLocaleString()} messages to ${audience(d, titles)}; ${quote.opted_out.toLocaleString()} opted out are left out`),
      h("li", {}, `Cost: ${quote.credits.toLocaleString()} credits (${quote.encoding}); ${quote.credits_if_substituted.toLocaleString()} with GSM substitution`),
      h("li", {}, `${d.marketing ? "Marketing: permitted hours and opt-outs apply" : "Transactional"}; sends ${d.send_date ? `at ${when(d.send_date)}` : "once approved"}`),
      h("li", {}, `Created by ${who(d.created_by, ctx)}, last changed by ${who(d.updated_by, ctx)}`),
    ),
    own ? h("p", { class: "warning", dataset: { testid: "own-deployment" } }, "You created this deployment, and the company requires a second approver: another approver or admin must approve it.") : null,
    h(
      "div",
      { class: "actions" },
      button("Approve", act("approve", null, "Approved: it is sending."), { disabled: own, class: "primary" }),
    ),
    field("Reason for rejecting", "reason", reason),
    h("div", { class: "actions" }, button("Reject", act("reject", () => ({ reason: reason.value }), "Rejected: it is a draft again."), { class: "danger" })),
    error,
  );
}

export async function watch([deploymentId], ctx) {
  const first = await api.get(`/deployments/${deploymentId}`);
  const heading = h("h1", {}, first.title);
  const bar = progress("Sending progress");
  const counts = h("dl", { class: "counts", dataset: { testid: "progress-counts" } });
  const state = h("p", { class: "state", role: "status" });
  const legend = h("p", { class: "hint" }, "Delivered: of those sent, the ones the network confirmed. Unknown: claimed by a worker that stopped; maybe sent, never sent again.");
  const controls = h("div", { class: "actions" });
  const error = h("p", { class: "form-error", role: "alert" });
  const reportPlace = h("div", {});
  const recipientsPlace = h("div", {});
  const show = (d) => {
    const done = d.sent + d.failed + d.opted_out;
    const total = d.total_contacts;
    bar.set(total ? Math.round((100 * done) / total) : 0, `${done.toLocaleString()} of ${total.toLocaleString()}`);
    const queued = LIVE.has(d.status_name) ? Math.max(0, total - done) : 0;
    counts.replaceChildren(
      ...[
        ["queued", queued],
        ["sent", d.sent],
        ["delivered", d.delivered],
        ["failed", d.failed - d.unknown],
        ["unknown", d.unknown],
        ["opted out", d.opted_out],
        ["credits", d.total_credits],
      ].map(([name, value]) =>
        h("div", {}, h("dt", {}, name), h("dd", { dataset: { count: name } }, value.toLocaleString())),
      ),
    );
    const resumes = d.resumes_at ? `: outside the permitted hours, it goes on by itself at ${when(d.resumes_at)}` : "";
    state.replaceChildren(h("span", { class: `status ${d.status_name}`, dataset: { testid: "status" } }, d.status_name.replace("_", " ")), resumes, d.error ? ` · ${d.error}` : "");
    const act = (path) => button(path[0].toUpperCase() + path.slice(1), async () => {
      if (path === "cancel" && !window.confirm("Cancel this deployment? What has not been sent is refunded.")) return;
      error.textContent = "";
      try {
        show(await api.post(`/deployments/${d.id}/${path}`));
      } catch (problem) {
        error.textContent = problem.message;
      }
    }, { class: path === "cancel" ? "danger" : "" });
    clear(
      controls,
      d.status_name === "sending" ? act("pause") : null,
      d.status_name === "paused" ? act("resume") : null,
      ["pending_approval", "approved", "sending", "paused"].includes(d.status_name) ? act("cancel") : null,
      d.status_name === "draft" ? h("a", { href: `#/compose/${d.id}`, class: "button" }, "Edit the draft") : null,
      h("a", { href: `#/stats/${d.id}`, class: "button" }, "Its stats"),
    );
  };
  show(first);
  // While it may still change, follow it; its recipients are read again as they move on.
  const poll = async () => {
    let current = first;
    while (ctx.alive() && (LIVE.has(current.status_name) || current.status_name === "pending_approval")) {
      await new Promise((resolve) => window.setTimeout(resolve, 1500));
      if (!ctx.alive()) return;
      const previous = current;
      current = await api.get(`/deployments/${deploymentId}`);
      show(current);
      if (current.status_name !== previous.status_name || current.sent !== previous.sent) await loadRecipients();
    }
  };
  const report = button("Report to the filebox", async () => {
    const task = await api.post(`/deployments/${deploymentId}/report`);
    reportPlace.replaceChildren(taskProgress(task, "Writing the report", ctx));
  });
  const statusFilter = select([["", "every status"], ...RECIPIENT_STATUSES.map((s) => [s, s.replace("_", " ")])], "");
  let asked = 0; // only the latest read is shown: an earlier one that answers late is dropped
  const loadRecipients = async () => {
    const mine = ++asked;
    const page = await api.get(`/deployments/${deploymentId}/messages`, { status: statusFilter.value, page_size: 100 });
    if (mine !== asked) return;
    clear(
      recipientsPlace,
      table(
        "Recipients (the first 100)",
        [
          ["Channel", (r) => r.channel],
          ["To", (r) => r.msisdn || r.email],
          ["Status", (r) => h("span", { class: `status ${r.status}` }, r.status)],
          ["Segments", (r) => (r.segments === null ? "—" : r.segments)],
          ["Sent", (r) => when(r.date_sent)],
          ["Error", (r) => r.error || ""],
        ],
        page.results,
        "No recipient in this status.",
      ),
    );
  };
  statusFilter.addEventListener("change", () => loadRecipients().catch((problem) => (error.textContent = problem.message)));
  await loadRecipients();
  poll().catch((problem) => (error.textContent = problem.message));
  return h(
    "section",
    {},
    h("p", { class: "crumbs" }, h("a", { href: "#/deployments" }, "Deployments")),
    heading,
    h("blockquote", { class: "message" }, first.message),
    state,
    bar,
    counts,
    legend,
    controls,
    error,
    h("h2", {}, "Recipients"),
    field("Show", "status", statusFilter),
    recipientsPlace,
    h("h2", {}, "Report"),
    report,
    reportPlace,
  );
}

