// What every Node SDK flow script shares: a watchdog, step logging, the official client pointed
// at TENANTRY_URL, the dev mailbox, and StytchError expectations.
//
// Env: TENANTRY_URL (e.g. http://127.0.0.1:8123), PROJECT_ID, SECRET, FLOW_TIMEOUT_MS (optional).

import assert from "node:assert/strict";
import stytch from "stytch";

export const OVERALL_TIMEOUT_MS = Number(process.env.FLOW_TIMEOUT_MS || 60_000);
export const REQUEST_TIMEOUT_MS = 10_000;
export const MAIL_TIMEOUT_MS = 15_000;
export const REDIRECT_URL = "http://localhost:3000/authenticate";

let step = "setup";

// Exits non-zero if the flow named `name` has not finished within OVERALL_TIMEOUT_MS.
export function startFlow(name) {
  const watchdog = setTimeout(() => {
    console.error(`FAIL: ${name} did not finish within ${OVERALL_TIMEOUT_MS} ms (last step: ${step})`);
    process.exit(3);
  }, OVERALL_TIMEOUT_MS);
  watchdog.unref();
}

export function begin(name) {
  step = name;
  console.log(`- ${name}`);
}

function requireEnv(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`FAIL: environment variable ${name} is required`);
    process.exit(2);
  }
  return value;
}

export const baseUrl = requireEnv("TENANTRY_URL").replace(/\/+$/, "");
export const projectId = requireEnv("PROJECT_ID");
export const secret = requireEnv("SECRET");

// `env` (not custom_base_url, which insists on https) is how the SDK is pointed at a local server.
export const client = new stytch.B2BClient({
  project_id: projectId,
  secret,
  env: baseUrl,
  timeout: REQUEST_TIMEOUT_MS,
});

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export async function mailbox(to) {
  const url = `${baseUrl}/dev/mailbox/api/messages?to=${encodeURIComponent(to)}`;
  const resp = await fetch(url, {
    headers: { Authorization: `Basic ${Buffer.from(`${projectId}:${secret}`).toString("base64")}` },
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const text = await resp.text();
  assert.equal(resp.status, 200, `GET ${url} answered ${resp.status}: ${text}`);
  const messages = JSON.parse(text);
  assert.ok(Array.isArray(messages), `dev mailbox did not return a JSON array: ${JSON.stringify(messages)}`);
  return messages;
}

// Waits until `to` has at least `count` messages; returns them, newest first.
export async function waitForMail(to, count = 1) {
  const deadline = Date.now() + MAIL_TIMEOUT_MS;
  let messages = [];
  while (Date.now() < deadline) {
    messages = await mailbox(to);
    if (messages.length >= count) break;
    await sleep(100);
  }
  assert.ok(
    messages.length >= count,
    `expected ${count} message(s) for ${to} within ${MAIL_TIMEOUT_MS} ms, mailbox has ${messages.length}`,
  );
  return messages;
}

// The token of the newest mail's first link, which must be of `tokenType`.
export async function waitForLinkToken(to, count, tokenType) {
  const [newest] = await waitForMail(to, count);
  assert.equal(newest.to, to, "newest message is addressed to someone else");
  assert.ok(Array.isArray(newest.links) && newest.links.length > 0, `mail has no links: ${JSON.stringify(newest)}`);
  const link = new URL(newest.links[0]);
  // Mail links open Tenantry's scanner-safe Continue page, which forwards to REDIRECT_URL on a click.
  assert.equal(`${link.origin}${link.pathname}`, `${baseUrl}/links/continue`, `unexpected link ${newest.links[0]}`);
  assert.equal(link.searchParams.get("stytch_token_type"), tokenType);
  const token = link.searchParams.get("token");
  assert.ok(token, `link carries no token: ${newest.links[0]}`);
  return token;
}

// Waits until `to` has at least `count` messages and returns the discovery token of the newest one.
export function waitForDiscoveryToken(to, count = 1) {
  return waitForLinkToken(to, count, "discovery");
}

// Runs `fn`, which must reject with a StytchError; returns it.
export async function expectStytchError(fn, what) {
  try {
    const resp = await fn();
    assert.fail(`${what}: expected a StytchError, got success ${JSON.stringify(resp)}`);
  } catch (err) {
    if (err instanceof assert.AssertionError) throw err;
    assert.ok(err instanceof stytch.StytchError, `${what}: expected StytchError, got ${err?.stack || err}`);
    return err;
  }
}

export function assertOk(resp, what) {
  assert.equal(resp.status_code, 200, `${what}: status_code ${resp.status_code}`);
  assert.equal(typeof resp.request_id, "string", `${what}: request_id missing`);
  assert.ok(resp.request_id.length > 0, `${what}: request_id empty`);
}
