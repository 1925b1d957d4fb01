// Following what runs in the background: an import (its progress and counts, then the error file) or a
// task (a report, an export: then the file it put in the filebox).

import * as api from "./api.js";
import { h, progress } from "./ui.js";

const ENDED = new Set(["completed", "failed"]);
const COUNTS = [
  ["rows", "rows read"],
  ["imported", "imported"],
  ["updated", "updated"],
  ["duplicates", "duplicates"],
  ["rejected", "rejected"],
];

export function importProgress(job, ctx, onEnd) {
  const bar = progress("Import progress");
  const counts = h("p", { class: "counts", dataset: { testid: "import-counts" } });
  const outcome = h("div", { class: "outcome", role: "status" });
  const element = h("div", { class: "job", dataset: { import: job.id } }, h("p", {}, `Importing ${job.filename || "the file"}`), bar, counts, outcome);
  const show = (current) => {
    bar.set(current.status === "pending" ? null : current.progress, `${current.progress}% · ${current.status}`);
    counts.replaceChildren(
      ...COUNTS.map(([name, words]) => h("span", { class: "count", dataset: { count: name } }, h("strong", {}, current[name].toLocaleString()), ` ${words}`)),
    );
  };
  show(job);
  api
    .follow(`/imports/${job.id}`, (current) => ENDED.has(current.status) || !ctx.alive(), show)
    .then(async (current) => {
      if (!ENDED.has(current.status)) return;
      element.classList.add(current.status);
      outcome.replaceChildren(
        h("p", {}, current.status === "completed" ? "The import is complete." : `The import failed: ${current.error}`),
      );
      if (current.errors_file) outcome.append(await fileLink(current.errors_file, "Download the rejected rows (CSV)"));
      if (onEnd) onEnd(current);
    })
    .catch((error) => outcome.replaceChildren(h("p", { class: "form-error" }, error.message)));
  return element;
}

export function taskProgress(task, what, ctx, onEnd) {
  const bar = progress(`${what} progress`);
  const outcome = h("div", { class: "outcome", role: "status" });
  const element = h("div", { class: "job" }, h("p", {}, what), bar, outcome);
  api
    .follow(`/tasks/${task.id}`, (current) => ENDED.has(current.status) || !ctx.alive(), (current) =>
      bar.set(current.progress === null || current.status === "pending" ? null : current.progress, current.status),
    )
    .then(async (current) => {
      if (!ENDED.has(current.status)) return;
      bar.set(100, current.status);
      if (current.status === "failed") outcome.replaceChildren(h("p", { class: "form-error" }, `It failed: ${current.error}`));
      else if (current.result && current.result.file) outcome.replaceChildren(await fileLink(current.result.file, "Download it"), " (also in the filebox)");
      else outcome.replaceChildren(h("p", {}, "Done."));
      if (onEnd) onEnd(current);
    })
    .catch((error) => outcome.replaceChildren(h("p", { class: "form-error" }, error.message)));
  return element;
}

export async function fileLink(fileId, words) {
  const entry = await api.file(fileId);
  return h("a", { href: entry.url, download: entry.name, class: "download" }, `${words}: ${entry.name}`);
}
