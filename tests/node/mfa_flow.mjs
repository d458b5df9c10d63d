// A clinic requires MFA, driven by the official Stytch Node SDK (npm `stytch`, pinned in
// package.json) against a running Tenantry server: after the clinic switches mfa_policy to
// REQUIRED_FOR_ALL, the next discovery exchange returns member_authenticated: false; the contact
// enrols TOTP (codes computed here with node:crypto, RFC 6238) and gets a session whose JWT lists
// both factors; a colleague later recovers with a recovery code, which fails on reuse.
//
// Env: TENANTRY_URL, PROJECT_ID, SECRET.  Usage: node tests/node/mfa_flow.mjs

import assert from "node:assert/strict";
import { createHmac, randomBytes } from "node:crypto";
import { startFlow, REDIRECT_URL, begin, client, waitForDiscoveryToken, expectStytchError, assertOk } from "./harness.mjs";

startFlow("MFA flow");

// RFC 4648 base32, as authenticator apps read the secret.
function base32Decode(text) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const ch of text.replace(/=+$/, "").toUpperCase()) {
    const value = alphabet.indexOf(ch);
    assert.ok(value >= 0, `not base32: ${ch}`);
    bits += value.toString(2).padStart(5, "0");
  }
  const bytes = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(bytes);
}

// RFC 6238: HMAC-SHA1 over the 30-second step counter, dynamic truncation, 6 digits.
function totp(secret, at = Date.now()) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(at / 1000 / 30)));
  const mac = createHmac("sha1", base32Decode(secret)).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const value = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return value.toString().padStart(6, "0");
}

// Wait until the current 30-second step has a few seconds left, so the code is still current
// when the server checks it.
async function settle() {
  const left = 30_000 - (Date.now() % 30_000);
  if (left < 4_000) await new Promise((resolve) => setTimeout(resolve, left + 200));
}

function factorTypes(factors) {
  return factors.map((f) => f.type).sort();
}

function jwtFactorTypes(jwt) {
  const claims = JSON.parse(Buffer.from(jwt.split(".")[1], "base64url").toString());
  return factorTypes(claims["https://stytch.com/session"].authentication_factors);
}

const sent = {};
async function discoveryLogin(email) {
  await client.magicLinks.email.discovery.send({ email_address: email, discovery_redirect_url: REDIRECT_URL });
  sent[email] = (sent[email] || 0) + 1;
  const token = await waitForDiscoveryToken(email, sent[email]);
  return client.magicLinks.discovery.authenticate({ discovery_magic_links_token: token });
}

async function main() {
  const suffix = randomBytes(4).toString("hex");
  const domain = `clinic-${suffix}.example.com`;
  const contact = `contact@${domain}`;
  const nurse = `nurse@${domain}`;

  begin("the contact creates the clinic");
  const first = await discoveryLogin(contact);
  const created = await client.discovery.organizations.create({
    intermediate_session_token: first.intermediate_session_token,
    organization_name: "Clinic",
    organization_slug: `clinic-${suffix}`,
    email_allowed_domains: [domain],
    email_jit_provisioning: "RESTRICTED",
  });
  assert.equal(created.member_authenticated, true);
  const orgId = created.organization.organization_id;

  begin("the clinic switches mfa_policy to REQUIRED_FOR_ALL");
  const updated = await client.organizations.update({ organization_id: orgId, mfa_policy: "REQUIRED_FOR_ALL" });
  assertOk(updated, "organizations.update");
  assert.equal(updated.organization.mfa_policy, "REQUIRED_FOR_ALL");

  begin("the next discovery exchange stops at MFA");
  const again = await discoveryLogin(contact);
  assert.equal(again.discovered_organizations[0].member_authenticated, false);
  const held = await client.discovery.intermediateSessions.exchange({
    intermediate_session_token: again.intermediate_session_token,
    organization_id: orgId,
  });
  assertOk(held, "intermediateSessions.exchange");
  assert.equal(held.member_authenticated, false);
  assert.equal(held.session_token, "");
  assert.equal(held.session_jwt, "");
  assert.equal(held.intermediate_session_token, again.intermediate_session_token);
  assert.ok(held.mfa_required, "mfa_required missing");
  const memberId = held.member_id;

  begin("the contact enrols TOTP and authenticates a code");
  const enrolment = await client.totps.create({
    organization_id: orgId,
    member_id: memberId,
    intermediate_session_token: held.intermediate_session_token,
  });
  assertOk(enrolment, "totps.create");
  assert.ok(enrolment.qr_code.startsWith("data:image/png;base64,"));
  assert.equal(enrolment.recovery_codes.length, 10);
  await settle();
  const firstCode = totp(enrolment.secret);
  const done = await client.totps.authenticate({
    organization_id: orgId,
    member_id: memberId,
    code: firstCode,
    intermediate_session_token: held.intermediate_session_token,
  });
  assertOk(done, "totps.authenticate");
  assert.ok(done.session_token && done.session_jwt, "no session after TOTP");
  assert.deepEqual(factorTypes(done.member_session.authentication_factors), ["magic_link", "totp"]);
  assert.deepEqual(jwtFactorTypes(done.session_jwt), ["magic_link", "totp"]);
  const local = await client.sessions.authenticateJwtLocal({ session_jwt: done.session_jwt });
  assert.deepEqual(factorTypes(local.authentication_factors), ["magic_link", "totp"]);
  assert.equal(done.member.totp_registration_id, enrolment.totp_registration_id);

  begin("the same code is refused a second time");
  const replay = await expectStytchError(
    () =>
      client.totps.authenticate({
        organization_id: orgId,
        member_id: memberId,
        code: firstCode,
        session_token: done.session_token,
      }),
    "a TOTP code used twice",
  );
  assert.equal(replay.error_type, "totp_code_already_authenticated");

  begin("a colleague joins, enrols, and keeps the recovery codes");
  const nurseLogin = await discoveryLogin(nurse);
  const joined = await client.discovery.intermediateSessions.exchange({
    intermediate_session_token: nurseLogin.intermediate_session_token,
    organization_id: orgId,
  });
  assert.equal(joined.member_authenticated, false);
  const nurseId = joined.member_id;
  const nurseTotp = await client.totps.create({
    organization_id: orgId,
    member_id: nurseId,
    intermediate_session_token: joined.intermediate_session_token,
  });
  await settle();
  await client.totps.authenticate({
    organization_id: orgId,
    member_id: nurseId,
    code: totp(nurseTotp.secret),
    intermediate_session_token: joined.intermediate_session_token,
  });
  const codes = await client.recoveryCodes.get({ organization_id: orgId, member_id: nurseId });
  assert.deepEqual(codes.recovery_codes, nurseTotp.recovery_codes);

  begin("the colleague recovers with a recovery code");
  const lost = await discoveryLogin(nurse);
  const entered = await client.discovery.intermediateSessions.exchange({
    intermediate_session_token: lost.intermediate_session_token,
    organization_id: orgId,
  });
  assert.equal(entered.member_authenticated, false);
  assert.equal(entered.mfa_required.member_options.totp_registration_id, nurseTotp.totp_registration_id);
  const code = nurseTotp.recovery_codes[0];
  const recovered = await client.recoveryCodes.recover({
    organization_id: orgId,
    member_id: nurseId,
    recovery_code: code,
    intermediate_session_token: entered.intermediate_session_token,
  });
  assertOk(recovered, "recoveryCodes.recover");
  assert.equal(recovered.recovery_codes_remaining, 9);
  assert.deepEqual(jwtFactorTypes(recovered.session_jwt), ["magic_link", "recovery_codes"]);

  begin("the recovery code fails on reuse");
  const retry = await discoveryLogin(nurse);
  const blocked = await client.discovery.intermediateSessions.exchange({
    intermediate_session_token: retry.intermediate_session_token,
    organization_id: orgId,
  });
  const reused = await expectStytchError(
    () =>
      client.recoveryCodes.recover({
        organization_id: orgId,
        member_id: nurseId,
        recovery_code: code,
        intermediate_session_token: blocked.intermediate_session_token,
      }),
    "a recovery code used twice",
  );
  assert.equal(reused.status_code, 401);
  assert.equal(reused.error_type, "unable_to_authenticate_recovery_code");

  begin("rotate, then delete the colleague's TOTP");
  const rotated = await client.recoveryCodes.rotate({ organization_id: orgId, member_id: nurseId });
  assert.equal(rotated.recovery_codes.length, 10);
  const deleted = await client.organizations.members.deleteTOTP({ organization_id: orgId, member_id: nurseId });
  assert.equal(deleted.member.totp_registration_id, "");

  console.log("OK: Node SDK MFA flow passed");
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(`FAIL: ${err?.stack || err}`);
    if (err?.error_type) console.error(JSON.stringify(err));
    process.exit(1);
  },
);
