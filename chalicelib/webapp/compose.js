// Compose a deployment: its lists, message and switches, with a live counter priced by the API itself
// (`POST /messages/quote`), then the quote against the balance, then submitting it for approval.

import * as api from "./api.js";
import { checkbox, field, form, h, input, notify, select, values } from "./ui.js";

const DISPATCH = [
  [1, "SMS"],
  [2, "Email"],
  [3, "SMS and email"],
];

export async function render([deploymentId], ctx) {
  const [lists, company, draft] = await Promise.all([
    api.all("/contact-lists"),
    ctx.reloadCompany(),
    deploymentId ? api.get(`/deployments/${deploymentId}`) : null,
  ]);
  if (draft && draft.status_name !== "draft" && draft.status_name !== "pending_approval") {
    return h("section", {}, h("h1", {}, draft.title), h("p", {}, `This deployment is ${draft.status_name}; only drafts and pending ones can be edited.`), h("a", { href: `#/deployments/${draft.id}` }, "Watch it"));
  }
  const d = draft || { title: "", message: "", contact_lists: [], marketing: true, optout: true, gsm_substitute: false, dispatch: 1 };
  const message = h("textarea", { rows: 5, required: true, maxlength: 1600 }, d.message);
  const marketing = checkbox(d.marketing);
  const optout = checkbox(d.optout);
  const substitute = checkbox(d.gsm_substitute);
  const counter = h("div", { class: "counter", "aria-live": "polite", dataset: { testid: "counter" } });
  const quotePlace = h("div", { class: "quote", "aria-live": "polite" });
  const listChoices = h(
    "fieldset",
    { class: "field choices", dataset: { field: "contact_lists" } },
    h("legend", {}, "Send to these contact lists"),
    lists.length
      ? lists.map((list) => h("label", { class: "check" }, h("input", { type: "checkbox", name: "contact_lists", value: list.id, checked: d.contact_lists.includes(list.id) }), ` ${list.title} (${list.contact_count.toLocaleString()})`))
      : h("p", {}, "No contact lists yet: ", h("a", { href: "#/lists" }, "import one first"), "."),
    h("p", { class: "field-error", dataset: { errorFor: "contact_lists" } }),
  );
  const subject = field("Email subject", "subject", input({ value: d.subject || "", maxlength: 200 }));
  const dispatch = select(DISPATCH, d.dispatch);
  const showSubject = () => (subject.hidden = dispatch.value === "1");
  dispatch.addEventListener("change", showSubject);
  showSubject();
  let saved = draft;
  const composeForm = form(
    [
      field("Title", "title", input({ value: d.title, required: true, maxlength: 200 })),
      listChoices,
      field("Send by", "dispatch", dispatch),
      subject,
      field("Message", "message", message, "Placeholders such as {{first_name}} or {{fields.city}} are filled in for each person."),
      counter,
      field("Marketing (honours opt-outs and the permitted hours)", "marketing", marketing),
      field(`Add the opt-out line ("${company.optout_text}")`, "optout", optout),
      field("Replace punctuation outside GSM-7 with look-alikes (GSM substitution)", "gsm_substitute", substitute),
      field("Send at (empty: as soon as it is approved)", "send_date", input({ type: "datetime-local", value: localInput(d.send_date) }), "In this browser's time zone."),
    ],
    async (element) => {
      const body = fromForm(element);
      saved = saved ? await api.patch(`/deployments/${saved.id}`, body) : await api.post("/deployments", body);
      window.history.replaceState(null, "", `#/compose/${saved.id}`);
      notify("The draft is saved.");
      await showQuote(quotePlace, saved, company, ctx);
    },
    draft ? "Save and quote" : "Save the draft and quote",
    { "aria-label": "Compose a deployment" },
  );
  let timer;
  const recount = () => {
    window.clearTimeout(timer);
    timer = window.setTimeout(() => count(counter, message.value, optout.checked, substitute.checked), 250);
  };
  [message, optout, substitute].forEach((control) => control.addEventListener("input", recount));
  count(counter, message.value, optout.checked, substitute.checked);
  if (draft) showQuote(quotePlace, draft, company, ctx);
  return h("section", { class: "compose" }, h("h1", {}, draft ? `Edit: ${draft.title}` : "Compose a deployment"), composeForm, quotePlace);
}

function fromForm(element) {
  const typed = values(element);
  const chosen = [...element.querySelectorAll('input[name="contact_lists"]:checked')].map((box) => Number(box.value));
  const body = {
    title: typed.title,
    message: typed.message,
    contact_lists: chosen,
    dispatch: Number(typed.dispatch),
    marketing: typed.marketing,
    optout: typed.optout,
    gsm_substitute: typed.gsm_substitute,
    send_date: typed.send_date ? new Date(typed.send_date).toISOString() : null,
  };
  if (body.dispatch !== 1) body.subject = typed.subject;
  return body;
}

function localInput(moment) {
  if (!moment) return "";
  const date = new Date(moment);
  return new Date(date.getTime() - date.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
}

// The live counter: the API's own count of the text as written (the opt-out line included), each
// character that forces UCS-2 marked, and the price both as written and with GSM substitution.
async function count(counter, text, withOptout, substituting) {
  if (!text) {
    counter.replaceChildren(h("p", {}, "Type the message to see its length, segments and price."));
    return;
  }
  let quote;
  try {
    quote = await api.post("/messages/quote", { message: text, marketing: withOptout });
  } catch (error) {
    counter.replaceChildren(h("p", { class: "form-error" }, error.message));
    return;
  }
  const unit = quote.encoding === "GSM-7" ? "septets" : "UTF-16 units";
  const facts = h(
    "p",
    { class: "facts-line" },
    h("span", { dataset: { testid: "encoding" } }, quote.encoding),
    ` · ${quote.characters} ${unit} · `,
    h("span", { dataset: { testid: "segments" } }, `${quote.segments} segment${quote.segments === 1 ? "" : "s"}`),
    ` of up to ${quote.per_segment}`,
  );
  const prices = h(
    "p",
    { class: "prices" },
    h("span", { dataset: { testid: "price" } }, `${quote.credits} credit${quote.credits === 1 ? "" : "s"} per person as written`),
    "; ",
    h("span", { dataset: { testid: "price-substituted" } }, `${quote.credits_if_substituted} with GSM substitution`),
    substituting ? " (substitution is on: this price applies)" : "",
  );
  counter.replaceChildren(facts, prices);
  if (quote.encoding !== "GSM-7") {
    counter.append(
      h("p", { class: "warning", role: "alert", dataset: { testid: "ucs2-warning" } }, `UCS-2: ${quote.non_gsm_chars.map(describe).join(", ")} ${quote.non_gsm_chars.length === 1 ? "is" : "are"} outside GSM-7, so each segment holds ${quote.per_segment} instead of 153–160 (marked below).`),
      marked(text, quote.non_gsm),
    );
  }
}

// "’ (U+2019)": the character and its code point, since look-alikes are the usual culprits.
function describe(character) {
  const point = character.codePointAt(0).toString(16).toUpperCase().padStart(4, "0");
  return `${character} (U+${point})`;
}

function marked(text, nonGsm) {
  const positions = new Set(nonGsm.map((item) => item.position));
  const characters = Array.from(text);
  return h(
    "p",
    { class: "marked", "aria-label": "The message with each character that forces UCS-2 marked" },
    characters.map((character, position) => (positions.has(position) ? h("mark", { title: "forces UCS-2" }, character) : character)),
  );
}

async function showQuote(place, deployment, company, ctx) {
  place.replaceChildren(h("p", {}, "Quoting…"));
  let current = deployment;
  while (current.quote_status === "pending" && ctx.alive()) {
    await new Promise((resolve) => window.setTimeout(resolve, 1000));
    current = await api.get(`/deployments/${deployment.id}`);
  }
  const quote = await api.get(`/deployments/${deployment.id}/quote`);
  const short = quote.credits > company.credits;
  const submit = h("button", { type: "button", disabled: !quote.recipients }, "Submit for approval");
  const error = h("p", { class: "form-error", role: "alert" });
  submit.addEventListener("click", async () => {
    submit.disabled = true;
    try {
      await api.post(`/deployments/${deployment.id}/submit`);
      notify("Submitted: an approver can approve it now.");
      window.location.hash = `#/deployments/${deployment.id}`;
    } catch (problem) {
      error.textContent = problem.message;
      submit.disabled = false;
    }
  });
  place.replaceChildren(
    h("h2", {}, "Quote"),
    h("p", { class: "sum", dataset: { testid: "quote" } }, sum(quote)),
    h(
      "ul",
      {},
      h("li", {}, `${quote.segments_total.toLocaleString()} SMS segments, ${quote.emails.toLocaleString()} emails, encoding ${quote.encoding}`),
      h("li", {}, `${quote.credits_if_substituted.toLocaleString()} credits with GSM substitution`),
      h("li", {}, `${quote.opted_out.toLocaleString()} opted out and ${quote.unreachable.toLocaleString()} unreachable (free)`),
      h("li", { class: quote.sender ? "" : "warning", dataset: { testid: "sender" } }, fromWhom(quote)),
      h("li", { class: short ? "warning" : "" }, `Balance: ${company.credits.toLocaleString()} credits${short ? `: ${(quote.credits - company.credits).toLocaleString()} short, so approval will be refused until the company has more` : ""}`),
    ),
    current.status_name === "draft" ? submit : h("p", {}, `It is ${current.status_name}.`),
    error,
  );
}

// "200 recipients × 2 segments = 400 credits" (an average when personal values change the length).
const SENDER_SOURCES = { deployment: "this deployment's sender", company: "the company's sender ID" };

function fromWhom(quote) {
  if (!quote.sender) return "Sent from the gateway's default number: the company has no sender ID (set one in Company to choose).";
  return `Sent from ${quote.sender} (${SENDER_SOURCES[quote.sender_source]})`;
}

function sum(quote) {
  const sms = quote.recipients - quote.emails;
  if (!sms) return `${quote.recipients.toLocaleString()} emails = ${quote.credits.toLocaleString()} credits`;
  const each = quote.segments_total / sms;
  const segments = Number.isInteger(each) ? `${each}` : `${each.toFixed(2)} (on average)`;
  const emails = quote.emails ? ` + ${quote.emails.toLocaleString()} emails` : "";
  return `${sms.toLocaleString()} recipients × ${segments} segments${emails} = ${quote.credits.toLocaleString()} credits`;
}
