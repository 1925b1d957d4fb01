// The app's frame: who is signed in, the screens they may open, and the hash routes between them.

import * as api from "./api.js";
import * as account from "./account.js";
import * as company from "./company.js";
import * as compose from "./compose.js";
import * as deployments from "./deployments.js";
import * as files from "./files.js";
import * as lists from "./lists.js";
import * as optouts from "./optouts.js";
import * as queries from "./queries.js";
import * as stats from "./stats.js";
import { button, clear, failure, h } from "./ui.js";

const ANYONE = ["member", "approver", "admin"];
const APPROVERS = ["approver", "admin"];
const ADMINS = ["admin"];

// [pattern, screen, roles (null: signed out), title in the menu]
const ROUTES = [
  [/^#\/signin$/, account.signIn, null],
  [/^#\/forgot$/, account.forgot, null],
  [/^#\/password\/([A-Za-z0-9_.-]+)$/, account.choosePassword, null],
  [/^#\/lists$/, lists.index, ANYONE, "Lists"],
  [/^#\/lists\/(\d+)$/, lists.detail, ANYONE],
  [/^#\/queries$/, queries.index, ANYONE, "Queries"],
  [/^#\/compose$/, compose.render, ANYONE, "Compose"],
  [/^#\/compose\/(\d+)$/, compose.render, ANYONE],
  [/^#\/deployments$/, deployments.index, ANYONE, "Deployments"],
  [/^#\/deployments\/(\d+)$/, deployments.watch, ANYONE],
  [/^#\/approve$/, deployments.approvals, APPROVERS, "Approve"],
  [/^#\/stats$/, stats.render, ANYONE, "Stats"],
  [/^#\/stats\/(\d+)$/, stats.render, ANYONE],
  [/^#\/optouts$/, optouts.render, ANYONE, "Opt-outs"],
  [/^#\/filebox$/, files.render, ANYONE, "Filebox"],
  [/^#\/company$/, company.render, ADMINS, "Company"],
  [/^#\/account$/, account.settings, ANYONE],
];

const context = { user: null, company: null, visit: 0 };

// The screen being shown: a poll started by an earlier screen stops once this changes.
context.alive = (visit) => visit === context.visit;
context.reloadCompany = async () => {
  context.company = await api.get("/company");
  return context.company;
};
context.signedIn = async (session) => {
  api.setToken(session.token);
  context.user = session.user;
  await context.reloadCompany();
  window.location.hash = "#/lists";
};
context.signOut = async () => {
  try {
    await api.remove("/sessions/current");
  } catch {
    // the session is already over; the app forgets it all the same
  }
  api.setToken(null);
  context.user = null;
  context.company = null;
  window.location.hash = "#/signin";
};

api.onSignedOut(() => {
  context.user = null;
  context.company = null;
  if (!window.location.hash.startsWith("#/password/")) window.location.hash = "#/signin";
});

async function restore() {
  if (!api.token()) return;
  try {
    const session = await api.get("/sessions/current");
    context.user = session.user;
    await context.reloadCompany();
  } catch {
    api.setToken(null);
  }
}

// The test-mode switch: the app reloads the company (the test data's own) and the screen in that mode.
async function switchMode(event) {
  api.setTestMode(event.target.checked);
  try {
    await context.reloadCompany();
  } finally {
    route();
  }
}

function modeSwitch() {
  const control = h("input", { type: "checkbox", id: "test-mode", checked: api.testMode(), onchange: switchMode });
  return h("span", { class: "mode" }, control, h("label", { for: "test-mode" }, "Test mode"));
}

function drawFrame() {
  const nav = document.getElementById("nav");
  const who = document.getElementById("who");
  document.getElementById("test-banner").hidden = !(context.user && api.testMode());
  if (!context.user) {
    nav.hidden = true;
    clear(who);
    return;
  }
  const here = window.location.hash.split("/").slice(0, 2).join("/");
  const links = ROUTES.filter(([, , roles, title]) => title && roles.includes(context.user.role)).map(
    ([pattern, , , title]) => {
      const target = pattern.source.replace(/^\^/, "").replace(/\$$/, "").replace(/\\\//g, "/");
      return h("a", { href: target, "aria-current": target === here ? "page" : null }, title);
    },
  );
  clear(nav, h("ul", {}, links.map((link) => h("li", {}, link))));
  nav.hidden = false;
  clear(
    who,
    modeSwitch(),
    h("a", { href: "#/account", class: "me" }, `${context.user.email} (${context.user.role})`),
    button("Sign out", context.signOut, { class: "link" }),
  );
}

async function route() {
  context.visit += 1;
  const visit = context.visit;
  const hash = window.location.hash || "#/lists";
  const main = document.getElementById("main");
  const found = ROUTES.find(([pattern]) => pattern.test(hash));
  if (!found) {
    drawFrame();
    clear(main, h("div", { class: "failure", role: "alert" }, h("h2", {}, "Not found"), h("p", {}, "The app has no such screen.")));
    return;
  }
  const [pattern, screen, roles] = found;
  if (roles && !context.user) {
    window.location.hash = "#/signin";
    return;
  }
  if (!roles && context.user && !hash.startsWith("#/password/")) {
    window.location.hash = "#/lists";
    return;
  }
  drawFrame();
  if (roles && !roles.includes(context.user.role)) {
    clear(main, h("div", { class: "failure", role: "alert" }, h("h2", {}, "Not allowed"), h("p", {}, `This screen is for the roles ${roles.join(" or ")}; your role is ${context.user.role}.`)));
    return;
  }
  clear(main, h("p", { class: "loading" }, "Loading…"));
  try {
    const view = await screen(pattern.exec(hash).slice(1), { ...context, alive: () => context.alive(visit) });
    if (context.alive(visit)) clear(main, view);
  } catch (error) {
    if (context.alive(visit)) clear(main, failure(error));
  }
  if (context.alive(visit)) {
    const heading = main.querySelector("h1, h2");
    document.title = heading ? `${heading.textContent} · Colony` : "Colony";
    main.focus({ preventScroll: true });
  }
}

window.addEventListener("hashchange", route);
restore().then(route);
