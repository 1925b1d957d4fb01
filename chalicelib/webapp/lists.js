// Contact lists: create, rename, delete, import a CSV (dropped or picked), and a list's contacts.

import * as api from "./api.js";
import { importProgress, taskProgress } from "./jobs.js";
import { button, clear, dropZone, field, form, h, input, notify, showError, table, values, when } from "./ui.js";

export async function index(_, ctx) {
  const lists = await api.all("/contact-lists");
  const title = input({ required: true, maxlength: 200 });
  const createForm = form(
    [field("Title", "title", title)],
    async (element) => {
      const created = await api.post("/contact-lists", values(element));
      window.location.hash = `#/lists/${created.id}`;
    },
    "Create the list",
    { class: "inline", "aria-label": "New contact list" },
  );
  return h(
    "section",
    {},
    h("h1", {}, "Contact lists"),
    table(
      "The company's contact lists",
      [
        ["Title", (list) => h("a", { href: `#/lists/${list.id}` }, list.title)],
        ["Contacts", (list) => list.contact_count.toLocaleString()],
        ["Saved query", (list) => (list.saved_query ? `#${list.saved_query}` : "—")],
        ["Updated", (list) => when(list.date_updated)],
      ],
      lists,
      "No contact lists yet: create one, or import a CSV file.",
    ),
    h("h2", {}, "New list"),
    createForm,
    h("h2", {}, "Import a CSV file as a new list"),
    importer(ctx, null),
  );
}

// The import form: a title for a new list (or none, appending to `list`), and the file.
function importer(ctx, list) {
  let chosen = null;
  const zone = dropZone("choose a file", (file) => (chosen = file));
  const title = list ? null : field("Title of the new list", "title", input({ maxlength: 200 }));
  const place = h("div", { class: "jobs" });
  const importForm = form(
    [
      title,
      zone,
      h("p", { class: "hint" }, "A phone column, an email column or both; other columns become fields."),
      h("p", { class: "field-error", dataset: { errorFor: "file" } }),
    ],
    async (element) => {
      if (!chosen) {
        const missing = { error: { message: "Choose a CSV file first.", fields: { file: ["choose a CSV file"] } } };
        throw new api.ApiError(400, missing);
      }
      const path = list ? `/contact-lists/${list.id}/import` : "/contact-lists/import";
      const extra = list ? { contact_list: list.id } : { title: values(element).title };
      const job = await api.upload(path, "contacts", chosen, extra);
      place.prepend(
        importProgress(job, ctx, (done) => {
          if (!list && done.contact_list) {
            place.prepend(h("p", {}, h("a", { href: `#/lists/${done.contact_list}` }, "Open the new list")));
          }
        }),
      );
    },
    "Import",
    { "aria-label": list ? "Import into this list" : "Import a new list" },
  );
  return h("div", {}, importForm, place);
}

export async function detail([listId], ctx) {
  const list = await api.get(`/contact-lists/${listId}`);
  const heading = h("h1", {}, list.title);
  const renameForm = form(
    [field("Title", "title", input({ value: list.title, required: true, maxlength: 200 }))],
    async (element) => {
      const renamed = await api.patch(`/contact-lists/${list.id}`, values(element));
      heading.textContent = renamed.title;
      notify("Renamed.");
    },
    "Rename",
    { class: "inline", "aria-label": "Rename the list" },
  );
  const removal = button("Delete this list", async () => {
    if (!window.confirm(`Delete "${list.title}" and its ${list.contact_count} contacts?`)) return;
    try {
      await api.remove(`/contact-lists/${list.id}`);
      notify("The list is deleted.");
      window.location.hash = "#/lists";
    } catch (error) {
      showError(renameForm, error);
    }
  }, { class: "danger" });
  const refreshPlace = h("div", {});
  const refresh = list.saved_query
    ? button("Refresh from its saved query", async () => {
        const task = await api.post(`/contact-lists/${list.id}/refresh`);
        refreshPlace.replaceChildren(taskProgress(task, "Refreshing the list", ctx));
      })
    : null;
  return h(
    "section",
    {},
    h("p", { class: "crumbs" }, h("a", { href: "#/lists" }, "Contact lists")),
    heading,
    h("p", {}, `${list.contact_count.toLocaleString()} contacts · updated ${when(list.date_updated)}`),
    renameForm,
    h("div", { class: "actions" }, refresh, removal),
    refreshPlace,
    h("h2", {}, "Contacts"),
    await contacts(list),
    h("h2", {}, "Import a CSV file into this list"),
    importer(ctx, list),
  );
}

async function contacts(list) {
  const place = h("div", {});
  const shown = [undefined]; // the cursor of each page on the way to this one
  const search = input({ type: "search", placeholder: "27815854565 or Thandi" });
  const load = async () => {
    const term = search.value.trim();
    const byNumber = /^[+\d][\d\s()-]*$/.test(term);
    const query = {
      page_size: 50,
      cursor: shown[shown.length - 1],
      msisdn: byNumber ? term : undefined,
      name: term && !byNumber ? term : undefined,
    };
    const page = await api.get(`/contact-lists/${list.id}/contacts`, query);
    const previous = () => {
      shown.pop();
      return load();
    };
    const next = () => {
      shown.push(page.next);
      return load();
    };
    clear(
      place,
      table(
        `Contacts of ${list.title}`,
        [
          ["Number", (c) => c.msisdn || "—"],
          ["Name", (c) => [c.first_name, c.last_name].filter(Boolean).join(" ") || "—"],
          ["Email", (c) => c.email || "—"],
          ["Fields", (c) => Object.entries(c.fields).map(([k, v]) => `${k}: ${v}`).join(", ") || "—"],
        ],
        page.results,
        term ? "No contact matches on this page of the list." : "No contacts yet.",
      ),
      h(
        "div",
        { class: "actions" },
        shown.length > 1 ? button("Previous page", previous) : null,
        page.next ? button("Next page", next) : null,
      ),
    );
  };
  const searchForm = form(
    [field("Search by number or name", "search", search)],
    async () => {
      shown.length = 1;
      await load();
    },
    "Search",
    { class: "inline", role: "search", "aria-label": "Search contacts" },
  );
  await load();
  return h("div", {}, searchForm, place);
}
