// Opt-outs: search, add, lift (admins, with the reason kept), and import or export as CSV.

import * as api from "./api.js";
import { importProgress, taskProgress } from "./jobs.js";
import { button, checkbox, clear, dropZone, field, form, h, input, notify, select, table, values, when } from "./ui.js";

export async function render(_, ctx) {
  const isAdmin = ctx.user.role === "admin";
  const place = h("div", {});
  const originator = input({ type: "search", placeholder: "27815854565 or an address" });
  const onlyActive = checkbox(false);
  const load = async () => {
    const rows = await api.all("/optouts", { originator: originator.value.trim(), active: onlyActive.checked ? "true" : undefined }, 500);
    clear(
      place,
      table(
        "Opt-outs, with those lifted kept as history",
        [
          ["Who", (o) => o.originator],
          ["Channel", (o) => o.channel],
          ["Sender", (o) => o.sender || "every sender"],
          ["Reason", (o) => o.reason || "—"],
          ["Opted out", (o) => when(o.date_opted_out)],
          ["Lifted", (o) => (o.date_overwritten ? `${when(o.date_overwritten)} by user ${o.overwritten_by}${o.overwrite_reason ? `: ${o.overwrite_reason}` : ""}` : "—")],
          ["", (o) => (isAdmin && !o.date_overwritten ? lift(o, load) : "")],
        ],
        rows,
        "No opt-outs match.",
      ),
    );
  };
  const searchForm = form(
    [field("Number or address", "originator", originator), field("Only those in force", "active", onlyActive)],
    load,
    "Search",
    { class: "inline", role: "search", "aria-label": "Search opt-outs" },
  );
  await load();
  return h(
    "section",
    {},
    h("h1", {}, "Opt-outs"),
    searchForm,
    place,
    h("h2", {}, "Add an opt-out"),
    addForm(load),
    h("h2", {}, "Import or export"),
    importer(ctx, load),
    exporter(ctx),
  );
}

function lift(optout, reload) {
  const reason = input({ maxlength: 500, "aria-label": `Why the opt-out of ${optout.originator} is lifted` });
  return form(
    [reason],
    async () => {
      if (!window.confirm(`Lift the opt-out of ${optout.originator}? They will receive marketing again.`)) return;
      await api.post(`/optouts/${optout.id}/overwrite`, { reason: reason.value || undefined });
      notify("The opt-out is lifted; its record stays.");
      await reload();
    },
    "Lift",
    { class: "inline compact", "aria-label": `Lift the opt-out of ${optout.originator}` },
  );
}

function addForm(reload) {
  const channel = select([["sms", "SMS (a number)"], ["email", "Email (an address)"]], "sms");
  return form(
    [
      field("Number or address", "originator", input({ required: true, maxlength: 320 })),
      field("Channel", "channel", channel),
      field("Only for this sender (empty: every sender)", "sender", input({ maxlength: 20 })),
      field("Reason", "reason", input({ maxlength: 500 })),
    ],
    async (element) => {
      const typed = values(element);
      const body = { originator: typed.originator, channel: typed.channel, reason: typed.reason || undefined };
      if (typed.sender) body.sender = typed.sender;
      await api.post("/optouts", body);
      element.reset();
      notify("Opted out.");
      await reload();
    },
    "Add",
    { "aria-label": "Add an opt-out" },
  );
}

function importer(ctx, reload) {
  let chosen = null;
  const zone = dropZone("choose a file", (file) => (chosen = file));
  const place = h("div", {});
  const element = form(
    [zone, h("p", { class: "field-error", dataset: { errorFor: "file" } })],
    async () => {
      if (!chosen) throw new api.ApiError(400, { error: { message: "Choose a CSV file first.", fields: { file: ["choose a CSV file"] } } });
      const job = await api.upload("/optouts/import", "optouts", chosen, {});
      place.prepend(importProgress(job, ctx, reload));
    },
    "Import opt-outs",
    { "aria-label": "Import opt-outs" },
  );
  return h("div", {}, element, place);
}

function exporter(ctx) {
  const place = h("div", {});
  return h(
    "div",
    {},
    button("Export those in force to the filebox", async () => {
      const task = await api.post("/optouts/export");
      place.replaceChildren(taskProgress(task, "Exporting opt-outs", ctx));
    }),
    place,
  );
}
