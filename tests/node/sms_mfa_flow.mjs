// SMS OTP as the second factor, driven by the official Stytch Node SDK (npm `stytch`, pinned in
// package.json) against a running Tenantry server: a clinic requires MFA of everyone, a nurse's
// email login stops at member_authenticated false, the nurse enrols a phone with
// otps.sms.send, reads the code from the dev SMS outbox, and otps.sms.authenticate returns a
// session whose factors (and locally verified JWT) name the email and the SMS. Then: a wrong
// code, an invalid number, and deleteMFAPhoneNumber.
//
// Env: TENANTRY_URL, PROJECT_ID, SECRET.  Usage: node tests/node/sms_mfa_flow.mjs

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import {
  startFlow,
  REDIRECT_URL,
  REQUEST_TIMEOUT_MS,
  MAIL_TIMEOUT_MS,
  baseUrl,
  begin,
  client,
  sleep,
  waitForDiscoveryToken,
  expectStytchError,
  assertOk,
} from "./harness.mjs";

startFlow("SMS MFA flow");

const PHONE = "+12015550188";

async function texts(to) {
  const url = `${baseUrl}/dev/sms/api/messages?to=${encodeURIComponent(to)}`;
  const resp = await fetch(url, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  assert.equal(resp.status, 200, `GET ${url} answered ${resp.status}`);
  return resp.json();
}

// The code of the newest text to `to`, once at least `count` texts arrived.
async function waitForCode(to, count) {
  const deadline = Date.now() + MAIL_TIMEOUT_MS;
  let found = [];
  while (Date.now() < deadline) {
    found = await texts(to);
    if (found.length >= count) break;
    await sleep(100);
  }
  assert.ok(found.length >= count, `expected ${count} text(s) to ${to}, the dev SMS outbox has ${found.length}`);
  assert.equal(found[0].codes.length, 1, `text without exactly one code: ${JSON.stringify(found[0])}`);
  return found[0].codes[0];
}

async function discoveryIst(email, count) {
  await client.magicLinks.email.discovery.send({ email_address: email, discovery_redirect_url: REDIRECT_URL });
  const token = await waitForDiscoveryToken(email, count);
  const authed = await client.magicLinks.discovery.authenticate({ discovery_magic_links_token: token });
  return authed.intermediate_session_token;
}

function jwtFactors(jwt) {
  const payload = JSON.parse(Buffer.from(jwt.split(".")[1], "base64url").toString());
  return payload["https://stytch.com/session"].authentication_factors.map((f) => f.type).sort();
}

async function main() {
  const suffix = randomBytes(4).toString("hex");
  const domain = `clinic-${suffix}.example.com`;
  const admin = `admin@${domain}`;
  const nurse = `nurse@${domain}`;

  begin("setup: the clinic requires MFA of everyone");
  const created = await client.discovery.organizations.create({
    intermediate_session_token: await discoveryIst(admin, 1),
    organization_name: "SMS Clinic",
    organization_slug: `sms-clinic-${suffix}`,
    email_allowed_domains: [domain],
    email_jit_provisioning: "RESTRICTED",
  });
  const orgId = created.organization.organization_id;
  const updated = await client.organizations.update({ organization_id: orgId, mfa_policy: "REQUIRED_FOR_ALL" });
  assert.equal(updated.organization.mfa_policy, "REQUIRED_FOR_ALL");

  begin("the nurse's email login stops at MFA");
  const stopped = await client.discovery.intermediateSessions.exchange({
    intermediate_session_token: await discoveryIst(nurse, 1),
    organization_id: orgId,
  });
  assert.equal(stopped.member_authenticated, false);
  assert.equal(stopped.session_token, "");
  assert.ok(stopped.intermediate_session_token);
  assert.ok(stopped.mfa_required, "mfa_required missing");
  const memberId = stopped.member.member_id;
  const ist = stopped.intermediate_session_token;

  begin("otps.sms.send refuses an invalid number");
  const invalid = await expectStytchError(
    () => client.otps.sms.send({ organization_id: orgId, member_id: memberId, mfa_phone_number: "555-0188", intermediate_session_token: ist }),
    "invalid phone",
  );
  assert.equal(invalid.error_type, "invalid_phone_number");
  assert.equal(invalid.status_code, 400);

  begin("otps.sms.send enrols the phone; a wrong code is refused");
  const sent = await client.otps.sms.send({
    organization_id: orgId,
    member_id: memberId,
    mfa_phone_number: PHONE,
    intermediate_session_token: ist,
    locale: "es",
  });
  assertOk(sent, "otps.sms.send");
  assert.equal(sent.member.mfa_phone_number, PHONE);
  const code = await waitForCode(PHONE, 1);
  const [newest] = await texts(PHONE);
  assert.match(newest.body, /código de verificación/, "the text is in the requested locale");
  const wrong = String((Number(code) + 1) % 1_000_000).padStart(6, "0");
  const refused = await expectStytchError(
    () => client.otps.sms.authenticate({ organization_id: orgId, member_id: memberId, code: wrong, intermediate_session_token: ist }),
    "wrong code",
  );
  assert.equal(refused.error_type, "otp_code_not_found");

  begin("otps.sms.authenticate completes MFA: a session with both factors");
  const done = await client.otps.sms.authenticate({
    organization_id: orgId,
    member_id: memberId,
    code,
    intermediate_session_token: ist,
    session_duration_minutes: 60,
  });
  assertOk(done, "otps.sms.authenticate");
  assert.ok(done.session_token && done.session_jwt);
  const types = done.member_session.authentication_factors.map((f) => f.type).sort();
  assert.deepEqual(types, ["magic_link", "otp"]);
  const smsFactor = done.member_session.authentication_factors.find((f) => f.type === "otp");
  assert.equal(smsFactor.delivery_method, "sms");
  assert.equal(smsFactor.phone_number_factor.phone_number, PHONE);
  assert.equal(done.member.mfa_phone_number_verified, true);
  assert.deepEqual(jwtFactors(done.session_jwt), ["magic_link", "otp"]);
  const local = await client.sessions.authenticateJwtLocal({ session_jwt: done.session_jwt });
  assert.equal(local.member_id, memberId);
  assert.deepEqual(local.authentication_factors.map((f) => f.type).sort(), ["magic_link", "otp"]);
  const again = await expectStytchError(
    () => client.otps.sms.authenticate({ organization_id: orgId, member_id: memberId, code, session_token: done.session_token }),
    "reused code",
  );
  assert.equal(again.error_type, "unable_to_auth_otp_code");

  begin("organizations.members.deleteMFAPhoneNumber");
  const deleted = await client.organizations.members.deleteMFAPhoneNumber({ organization_id: orgId, member_id: memberId });
  assertOk(deleted, "deleteMFAPhoneNumber");
  assert.equal(deleted.member.mfa_phone_number, "");
  assert.equal(deleted.member.mfa_phone_number_verified, false);

  console.log("OK: Node SDK SMS MFA flow passed");
}

main().catch((err) => {
  console.error(`FAIL: ${err?.stack || err}`);
  process.exit(1);
});
