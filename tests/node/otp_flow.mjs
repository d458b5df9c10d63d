// Email OTP through the official Stytch Node SDK (npm `stytch`, pinned in package.json) against a
// running Tenantry server: a discovery code, an organization created from its IST, and a colleague
// signing up and then logging in to that organization with organization-scoped codes.
//
// Env: TENANTRY_URL, PROJECT_ID, SECRET (see harness.mjs).
// Usage: node tests/node/otp_flow.mjs   (exit 0 = every assertion held)

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import stytch from "stytch";
import { startFlow, begin, client, waitForMail, mailbox, expectStytchError, assertOk } from "./harness.mjs";

startFlow("email OTP flow");

// The six-digit code in the newest of `count` mails to `to`; an OTP mail carries no link.
async function waitForCode(to, count) {
  const [newest] = await waitForMail(to, count);
  assert.deepEqual(newest.links, [], `an OTP mail carries no link: ${JSON.stringify(newest.links)}`);
  const codes = [...newest.text.matchAll(/^(\d{6})\s*$/gm)].map((m) => m[1]);
  assert.equal(codes.length, 1, `expected one code in the mail:\n${newest.text}`);
  return codes[0];
}

async function nextCode(to, send) {
  const before = (await mailbox(to)).length;
  const sent = await send();
  assertOk(sent, "send");
  return { sent, code: await waitForCode(to, before + 1) };
}

async function main() {
  const suffix = randomBytes(4).toString("hex");
  const domain = `otp-${suffix}.example.com`;
  const founder = `founder@${domain}`;
  const colleague = `nurse@${domain}`;

  begin("otps.email.discovery.send + authenticate");
  const { code } = await nextCode(founder, () => client.otps.email.discovery.send({ email_address: founder }));
  const discovered = await client.otps.email.discovery.authenticate({ email_address: founder, code });
  assertOk(discovered, "discovery.authenticate");
  assert.equal(discovered.email_address, founder);
  assert.ok(discovered.intermediate_session_token, "no intermediate_session_token");
  assert.deepEqual(discovered.discovered_organizations, []);

  begin("a discovery code is single-use");
  const reused = await expectStytchError(
    () => client.otps.email.discovery.authenticate({ email_address: founder, code }),
    "re-using a spent discovery code",
  );
  assert.equal(reused.status_code, 401);
  assert.equal(reused.error_type, "unable_to_auth_otp_code");

  begin("discovery.organizations.create from the OTP's IST");
  const created = await client.discovery.organizations.create({
    intermediate_session_token: discovered.intermediate_session_token,
    organization_name: "OTP Clinic",
    organization_slug: `otp-clinic-${suffix}`,
    email_allowed_domains: [domain],
    email_jit_provisioning: "RESTRICTED",
  });
  assertOk(created, "organizations.create");
  assert.equal(created.member_authenticated, true);
  assert.deepEqual(
    created.member_session.authentication_factors.map((f) => [f.type, f.delivery_method]),
    [["email_otp", "email"]],
  );
  const orgId = created.organization.organization_id;

  begin("otps.email.loginOrSignup: a signup code for a new colleague");
  const signup = await nextCode(colleague, () =>
    client.otps.email.loginOrSignup({ organization_id: orgId, email_address: colleague }),
  );
  assert.equal(signup.sent.member_created, true);
  assert.equal(signup.sent.member.status, "pending");

  begin("otps.email.authenticate: a wrong code");
  const wrong = await expectStytchError(
    () =>
      client.otps.email.authenticate({
        organization_id: orgId,
        email_address: colleague,
        code: signup.code === "000000" ? "000001" : "000000",
      }),
    "a wrong code",
  );
  assert.equal(wrong.status_code, 404);
  assert.equal(wrong.error_type, "otp_code_not_found");

  begin("otps.email.authenticate: the right code");
  const joined = await client.otps.email.authenticate({
    organization_id: orgId,
    email_address: colleague,
    code: signup.code,
    session_duration_minutes: 60,
  });
  assertOk(joined, "otps.email.authenticate");
  assert.equal(joined.member_authenticated, true);
  assert.equal(joined.organization_id, orgId);
  assert.equal(joined.member.status, "active");
  assert.equal(joined.member.email_address_verified, true);
  assert.ok(joined.method_id.startsWith("member-email-"), `method_id ${joined.method_id}`);
  const session = await client.sessions.authenticate({ session_token: joined.session_token });
  assert.equal(session.member.member_id, joined.member_id);
  const local = await client.sessions.authenticateJwtLocal({ session_jwt: joined.session_jwt });
  assert.equal(local.member_id, joined.member_id);

  begin("otps.email.loginOrSignup + authenticate: a login code, organization named by slug");
  const login = await nextCode(colleague, () =>
    client.otps.email.loginOrSignup({ organization_id: created.organization.organization_slug, email_address: colleague }),
  );
  assert.equal(login.sent.member_created, false);
  const again = await client.otps.email.authenticate({
    organization_id: created.organization.organization_slug,
    email_address: colleague,
    code: login.code,
  });
  assert.equal(again.member_authenticated, true);
  assert.equal(again.member_id, joined.member_id);

  console.log("OK: Node SDK email OTP flow passed");
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err?.stack || String(err));
    if (err instanceof stytch.StytchError) {
      console.error(`StytchError status_code=${err.status_code} error_type=${err.error_type} message=${err.error_message}`);
    }
    process.exit(1);
  },
);
