// Small DOM helpers shared by every screen: elements, forms whose errors sit next to their fields,
// tables, progress and notices. Text is always set as text, never as HTML.

import { ApiError } from "./api.js";

let counter = 0;

export function h(tag, attributes, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(element.dataset, value);
    else if (value === true) element.setAttribute(name, "");
    else element.setAttribute(name, value);
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function clear(element, ...children) {
  element.replaceChildren();
  append(element, children);
  return element;
}

export function uid(prefix) {
  counter += 1;
  return `${prefix}-${counter}`;
}

// A labelled control with the place its error is shown; `control` gets the id and name.
export function field(label, name, control, hint) {
  const id = uid(name);
  control.id = id;
  if (!control.name) control.name = name;
  const error = h("p", { class: "field-error", id: `${id}-error`, dataset: { errorFor: name } });
  const described = [hint ? `${id}-hint` : null, `${id}-error`].filter(Boolean).join(" ");
  control.setAttribute("aria-describedby", described);
  const isCheck = control.type === "checkbox";
  const caption = h("label", { for: id }, label);
  return h(
    "div",
    { class: isCheck ? "field check" : "field", dataset: { field: name } },
    isCheck ? [control, caption] : [caption, control],
    hint ? h("p", { class: "hint", id: `${id}-hint` }, hint) : null,
    error,
  );
}

export const input = (attributes) => h("input", { type: "text", ...attributes });
export const checkbox = (checked) => h("input", { type: "checkbox", checked: Boolean(checked) });

export function select(options, chosen, attributes) {
  return h(
    "select",
    attributes,
    options.map(([value, text]) => h("option", { value, selected: String(value) === String(chosen) }, text)),
  );
}

export function button(text, onclick, attributes) {
  return h("button", { type: "button", onclick, ...attributes }, text);
}

// A form that sends with `submit(form)`, shows progress while it runs, and on an API error puts each
// field's message beside that field and the rest above the buttons; what was typed stays.
export function form(children, submit, submitText, attributes) {
  const message = h("p", { class: "form-error", role: "alert" });
  const send = h("button", { type: "submit" }, submitText);
  const element = h("form", { novalidate: true, ...attributes }, children, message, h("div", { class: "actions" }, send));
  element.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(element);
    send.disabled = true;
    element.setAttribute("aria-busy", "true");
    try {
      await submit(element);
    } catch (error) {
      showError(element, error);
    } finally {
      send.disabled = false;
      element.removeAttribute("aria-busy");
    }
  });
  return element;
}

export function clearErrors(element) {
  element.querySelectorAll(".field-error, .form-error").forEach((node) => (node.textContent = ""));
  element.querySelectorAll("[aria-invalid]").forEach((node) => node.removeAttribute("aria-invalid"));
}

export function showError(element, error) {
  if (!(error instanceof ApiError)) throw error;
  const general = [error.message];
  for (const [name, reasons] of Object.entries(error.fields)) {
    const only = element.querySelectorAll(".field-error");
    const named = element.querySelector(`[data-error-for="${CSS.escape(name.split(/[.[]/)[0])}"]`);
    const place = named || (only.length === 1 ? only[0] : null);
    const text = `${name}: ${[].concat(reasons).join("; ")}`;
    if (place) {
      place.textContent = [].concat(reasons).join("; ");
      const control = place.parentElement.querySelector("input, select, textarea");
      if (control) control.setAttribute("aria-invalid", "true");
    } else general.push(text);
  }
  const message = element.querySelector(".form-error");
  if (message) message.textContent = general.join(" ");
  else notify(general.join(" "), "error");
}

export function values(element) {
  const found = {};
  for (const control of element.elements) {
    if (!control.name || control.type === "submit" || control.type === "file") continue;
    if (control.type === "checkbox") found[control.name] = control.checked;
    else if (control.multiple) found[control.name] = [...control.selectedOptions].map((o) => o.value);
    else found[control.name] = control.value;
  }
  return found;
}

export function table(caption, columns, rows, empty = "Nothing here yet.") {
  if (!rows.length) return h("p", { class: "empty" }, empty);
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      {},
      h("caption", {}, caption),
      h("thead", {}, h("tr", {}, columns.map(([title]) => h("th", { scope: "col" }, title)))),
      h("tbody", {}, rows.map((row) => h("tr", {}, columns.map(([, cell]) => h("td", {}, cell(row)))))),
    ),
  );
}

export function progress(label) {
  const bar = h("progress", { max: 100, "aria-label": label });
  const text = h("span", { class: "progress-text" });
  const element = h("div", { class: "progress" }, bar, text);
  element.set = (percent, words) => {
    if (percent === null) bar.removeAttribute("value");
    else bar.value = percent;
    text.textContent = words || "";
  };
  return element;
}

export function notify(text, kind = "info") {
  const toast = document.getElementById("toast");
  toast.className = `toast ${kind}`;
  toast.textContent = text;
  window.clearTimeout(notify.timer);
  notify.timer = window.setTimeout(() => (toast.textContent = ""), 8000);
}

// A screen-level failure (a 404 for another company's id, a 403): the API's own words.
export function failure(error) {
  if (!(error instanceof ApiError)) throw error;
  return h("div", { class: "failure", role: "alert" }, h("h2", {}, statusTitle(error.status)), h("p", {}, error.message));
}

function statusTitle(status) {
  return { 403: "Not allowed", 404: "Not found", 0: "Offline" }[status] || `Error ${status}`;
}

export function when(moment) {
  return moment ? new Date(moment).toLocaleString() : "—";
}

export function dropZone(label, onFile) {
  const picker = h("input", { type: "file", accept: ".csv,text/csv", class: "visually-hidden" });
  const id = uid("file");
  picker.id = id;
  const chosen = h("span", { class: "chosen" }, "No file chosen");
  const zone = h(
    "div",
    { class: "drop" },
    h("p", {}, "Drop a CSV file here, or "),
    h("label", { for: id, class: "pick" }, label),
    picker,
    chosen,
  );
  const take = (file) => {
    if (!file) return;
    chosen.textContent = `${file.name} (${file.size.toLocaleString()} bytes)`;
    onFile(file);
  };
  picker.addEventListener("change", () => take(picker.files[0]));
  zone.addEventListener("dragover", (event) => {
    event.preventDefault();
    zone.classList.add("over");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("over");
    take(event.dataTransfer.files[0]);
  });
  zone.picker = picker;
  return zone;
}
