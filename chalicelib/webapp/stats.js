// Stats by hour, day, month and year, for the company or one deployment: a chart of sent, unsent and
// opted out (SMS, and email when there is any), in the company's time zone, and the table beneath it.

import * as api from "./api.js";
import { clear, failure, field, h, input, select, table } from "./ui.js";

const PERIODS = [
  ["hourly", "By hour"],
  ["daily", "By day"],
  ["monthly", "By month"],
  ["yearly", "By year"],
];
const LABELS = {
  hourly: { year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" },
  daily: { year: "numeric", month: "2-digit", day: "2-digit" },
  monthly: { year: "numeric", month: "long" },
  yearly: { year: "numeric" },
};
const SERIES = [
  ["sms_sent_count", "SMS sent", "#1b6e3a"],
  ["sms_unsent_count", "SMS unsent", "#b3261e"],
  ["sms_optout_count", "SMS opted out", "#7a5c00"],
  ["email_sent_count", "Email sent", "#1d4f91"],
  ["email_unsent_count", "Email unsent", "#8e3b8e"],
  ["email_optout_count", "Email opted out", "#5b5b5b"],
];

export async function render([deploymentId], ctx) {
  const company = ctx.company;
  const deployment = deploymentId ? await api.get(`/deployments/${deploymentId}`) : null;
  const period = select(PERIODS, deploymentId ? "hourly" : "daily");
  const start = input({ type: "date" });
  const end = input({ type: "date" });
  const place = h("div", { class: "stats" });
  let chart = null;
  const load = async () => {
    const base = deployment ? `/deployments/${deployment.id}/stats/${period.value}` : `/stats/${period.value}`;
    const rows = await api.all(base, { start: start.value, end: end.value });
    rows.sort((a, b) => a.period_start.localeCompare(b.period_start));
    if (chart) chart.destroy();
    chart = null;
    clear(place);
    if (!rows.length) {
      place.append(h("p", { class: "empty" }, "No messages in this period yet."));
      return;
    }
    const shown = SERIES.filter(([name]) => name.startsWith("sms") || rows.some((row) => row[name]));
    const format = new Intl.DateTimeFormat(undefined, { ...LABELS[period.value], timeZone: company.timezone });
    const label = (row) => format.format(new Date(row.period_start));
    const totals = Object.fromEntries(shown.map(([name]) => [name, rows.reduce((sum, row) => sum + row[name], 0)]));
    const canvas = h("canvas", { role: "img", "aria-label": `Chart: ${shown.map(([name, words]) => `${words} ${totals[name]}`).join(", ")}` });
    place.append(
      h("p", { class: "totals", dataset: { testid: "stats-totals" } }, shown.map(([name, words]) => h("span", { dataset: { total: name } }, `${words}: `, h("strong", {}, totals[name].toLocaleString()))).flatMap((item) => [item, " "])),
      h("div", { class: "chart" }, canvas),
      table(
        `${deployment ? deployment.title : company.name}, ${period.selectedOptions[0].textContent.toLowerCase()} (${company.timezone})`,
        [["Period", label], ...shown.map(([name, words]) => [words, (row) => row[name].toLocaleString()]), ["Total", (row) => row.total.toLocaleString()]],
        rows,
      ),
    );
    chart = new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: rows.map(label),
        datasets: shown.map(([name, words, colour]) => ({ label: words, data: rows.map((row) => row[name]), backgroundColor: colour })),
      },
      options: {
        animation: false,
        maintainAspectRatio: false,
        scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } },
      },
    });
  };
  const reload = () => load().catch((error) => clear(place, failure(error)));
  [period, start, end].forEach((control) => control.addEventListener("change", reload));
  await load();
  return h(
    "section",
    {},
    deployment ? h("p", { class: "crumbs" }, h("a", { href: `#/deployments/${deployment.id}` }, deployment.title)) : null,
    h("h1", {}, deployment ? `Stats: ${deployment.title}` : `Stats: ${company.name}`),
    h("p", {}, `Times are in the company's time zone, ${company.timezone}.`, deployment ? "" : " ", deployment ? "" : h("a", { href: "#/deployments" }, "Pick a deployment for its own stats.")),
    h("div", { class: "filters" }, field("Period", "period", period), field("From", "start", start), field("Until", "end", end)),
    place,
  );
}
