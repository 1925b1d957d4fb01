// The filebox: reports, exports and import error files, each with a short-lived download link.

import * as api from "./api.js";
import { h, table, when } from "./ui.js";

export async function render() {
  const entries = await api.all("/filebox", {}, 500);
  return h(
    "section",
    {},
    h("h1", {}, "Filebox"),
    h("p", {}, "Reports, exports and the rejected rows of imports. Each link works for 15 minutes: reload for fresh ones."),
    table(
      "Your files, newest first",
      [
        ["File", (f) => h("a", { href: f.url, download: f.name }, f.name)],
        ["Kind", (f) => f.kind],
        ["Size", (f) => `${f.size.toLocaleString()} bytes`],
        ["Made", (f) => when(f.date_created)],
      ],
      entries,
      "The filebox is empty.",
    ),
  );
}
