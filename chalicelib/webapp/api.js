// The one way the app talks to Colony: the public API, with the person's session as a bearer token.
// The token lives in this tab's sessionStorage (no cookies, so no CSRF); a 401 ends the session.

const ROOT = new URL("../", window.location.href);
const TOKEN = "colony.session";
const MODE = "colony.mode"; // "test" while this tab's test-mode switch is on (each tab its own, as its screen says)
const listeners = new Set();

export class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || `The request failed (${status}).`);
    this.status = status;
    this.code = error.code || "unknown";
    this.fields = error.fields || {};
  }
}

export function token() {
  return window.sessionStorage.getItem(TOKEN);
}

export function setToken(value) {
  if (value) window.sessionStorage.setItem(TOKEN, value);
  else window.sessionStorage.removeItem(TOKEN);
}

// Test mode: every request then says `Colony-Mode: test`, so the session sees and changes test data only.
export function testMode() {
  return window.sessionStorage.getItem(MODE) === "test";
}

export function setTestMode(on) {
  if (on) window.sessionStorage.setItem(MODE, "test");
  else window.sessionStorage.removeItem(MODE);
}

export function onSignedOut(listener) {
  listeners.add(listener);
}

export function url(path, query) {
  const address = new URL(path.replace(/^\//, ""), ROOT);
  for (const [name, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== "") address.searchParams.set(name, value);
  }
  return address;
}

// `body`: an object (sent as JSON), a FormData (multipart) or nothing.
export async function call(method, path, body, query) {
  const headers = { Accept: "application/json" };
  const session = token();
  if (session) headers.Authorization = `Bearer ${session}`;
  if (session && testMode()) headers["Colony-Mode"] = "test";
  let payload;
  if (body instanceof FormData) payload = body;
  else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  let answer;
  try {
    answer = await fetch(url(path, query), { method, headers, body: payload });
  } catch {
    throw new ApiError(0, { error: { message: "Colony cannot be reached; check the connection and try again." } });
  }
  const text = await answer.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!answer.ok) {
    if (answer.status === 401 && session) {
      setToken(null);
      listeners.forEach((listener) => listener());
    }
    throw new ApiError(answer.status, data);
  }
  return data;
}

export const get = (path, query) => call("GET", path, undefined, query);
export const post = (path, body) => call("POST", path, body === undefined ? {} : body);
export const patch = (path, body) => call("PATCH", path, body);
export const put = (path, body) => call("PUT", path, body);
export const remove = (path) => call("DELETE", path);

// Every item of a paginated list, following `next` (for the small lists a screen shows whole).
export async function all(path, query, most = 2000) {
  const items = [];
  let cursor;
  do {
    const page = await get(path, { ...query, page_size: 500, cursor });
    items.push(...page.results);
    cursor = page.next;
  } while (cursor && items.length < most);
  return items;
}

// Poll `path` every `interval` ms until `done(answer)`; `each(answer)` sees every answer.
export async function follow(path, done, each, interval = 1000) {
  for (;;) {
    const answer = await get(path);
    each(answer);
    if (done(answer)) return answer;
    await new Promise((resolve) => window.setTimeout(resolve, interval));
  }
}

// A finished task's or import's errors file, or a report: the filebox entry with its download link.
export const file = (id) => get(`/filebox/${id}`);

// Upload a CSV: through the request for a small file, straight to S3 with a presigned form for a large
// one (the upload starts the import). Returns the import job, or the deployment with its `import`.
export const DIRECT_UPLOAD_LIMIT = 900 * 1024;

export async function upload(path, uploadKind, fileToSend, fields) {
  if (!uploadKind || fileToSend.size <= DIRECT_UPLOAD_LIMIT) {
    const form = new FormData();
    for (const [name, value] of Object.entries(fields)) if (value !== undefined && value !== "") form.set(name, value);
    form.set("file", fileToSend, fileToSend.name);
    return call("POST", path, form);
  }
  const presigned = await post("/uploads", { kind: uploadKind, filename: fileToSend.name, ...fields });
  const form = new FormData();
  for (const [name, value] of Object.entries(presigned.fields)) form.set(name, value);
  form.set("file", fileToSend, fileToSend.name);
  try {
    await fetch(presigned.url, { method: "POST", body: form, mode: "no-cors" });
  } catch {
    throw new ApiError(0, { error: { message: "The upload to storage failed; try again." } });
  }
  return presigned.import;
}
