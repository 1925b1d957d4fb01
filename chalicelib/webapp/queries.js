// Saved queries: filters over contact fields that define lists; a query the parser refuses is shown
// with a mark at the position the API names.

import * as api from "./api.js";
import { button, field, form, h, input, notify, table, values } from "./ui.js";

const EXAMPLE = 'first_name = "Ann" AND fields.city ~ "Cape" AND NOT list = 12';

export async function index() {
  const saved = await api.all("/saved-queries");
  return h(
    "section",
    {},
    h("h1", {}, "Saved queries"),
    h("p", {}, "A saved query picks contacts by their fields; a list can be defined by one and refreshed from it."),
    table(
      "Saved queries",
      [
        ["Title", (q) => q.title],
        ["Query", (q) => h("code", {}, q.query)],
        ["", (q) => editor(q)],
      ],
      saved,
      "No saved queries yet.",
    ),
    h("h2", {}, "New saved query"),
    editor(null),
  );
}

function editor(saved) {
  const text = h("textarea", { rows: 2, required: true, spellcheck: "false" }, saved ? saved.query : "");
  const marker = h("pre", { class: "query-marker", hidden: true, "aria-live": "polite" });
  const title = input({ value: saved ? saved.title : "", required: true, maxlength: 200 });
  const element = form(
    [
      field("Title", "title", title),
      field("Query", "query", text, saved ? null : `For example: ${EXAMPLE}`),
      marker,
    ],
    async (current) => {
      marker.hidden = true;
      try {
        if (saved) await api.patch(`/saved-queries/${saved.id}`, values(current));
        else await api.post("/saved-queries", values(current));
      } catch (error) {
        mark(marker, text.value, error.fields && [].concat(error.fields.query || [])[0]);
        throw error;
      }
      notify("Saved.");
      window.dispatchEvent(new HashChangeEvent("hashchange"));
    },
    saved ? "Save" : "Create",
    { "aria-label": saved ? `Edit ${saved.title}` : "New saved query", class: saved ? "compact" : "" },
  );
  if (saved) {
    element.querySelector(".actions").append(
      button("Delete", async () => {
        await api.remove(`/saved-queries/${saved.id}`);
        window.dispatchEvent(new HashChangeEvent("hashchange"));
      }, { class: "danger" }),
    );
  }
  return element;
}

// "at position 14: expected a value" → the query with a caret under its 14th character.
function mark(marker, query, reason) {
  const found = /at position (\d+)/.exec(reason || "");
  if (!found) return;
  const position = Number(found[1]);
  marker.textContent = `${query}\n${" ".repeat(Math.max(0, position - 1))}^ ${reason}`;
  marker.hidden = false;
}
