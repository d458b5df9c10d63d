// Sessions and organization custom roles driven by the official Stytch Node SDK (npm `stytch`,
// pinned in package.json) against a running Tenantry server: setOrgPolicy/getOrgPolicy,
// sessions.exchange between a person's organizations (and refused into a stranger's),
// sessions.get, and sessions.revoke with and without a member-session header.
//
// Env: TENANTRY_URL, PROJECT_ID, SECRET.  Usage: node tests/node/sessions_flow.mjs

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import stytch from "stytch";
import { startFlow, REDIRECT_URL, begin, client, waitForDiscoveryToken, expectStytchError, assertOk } from "./harness.mjs";

startFlow("sessions flow");

async function login(email, count) {
  await client.magicLinks.email.discovery.send({ email_address: email, discovery_redirect_url: REDIRECT_URL });
  const token = await waitForDiscoveryToken(email, count);
  const authed = await client.magicLinks.discovery.authenticate({ discovery_magic_links_token: token });
  return authed.intermediate_session_token;
}

async function createOrg(email, count, slug) {
  const ist = await login(email, count);
  const created = await client.discovery.organizations.create({
    intermediate_session_token: ist,
    organization_name: slug,
    organization_slug: slug,
  });
  assert.equal(created.member_authenticated, true);
  return created;
}

function orgClaim(jwt) {
  const payload = JSON.parse(Buffer.from(jwt.split(".")[1], "base64url").toString());
  return payload["https://stytch.com/organization"];
}

async function main() {
  const suffix = randomBytes(4).toString("hex");
  const founder = `contact@clinic-${suffix}.example.com`;
  const stranger = `owner@lab-${suffix}.example.com`;

  begin("setup: one person, two organizations; a stranger with a third");
  const clinic = await createOrg(founder, 1, `clinic-${suffix}`);
  const annex = await createOrg(founder, 2, `annex-${suffix}`);
  const lab = await createOrg(stranger, 1, `lab-${suffix}`);

  begin("rbac.organizations.setOrgPolicy / getOrgPolicy");
  const role = {
    role_id: "charge-nurse",
    description: "Runs a ward shift.",
    permissions: [{ resource_id: "patients", actions: ["read"] }],
  };
  const set = await client.rbac.organizations.setOrgPolicy({
    organization_id: clinic.organization.organization_id,
    org_policy: { roles: [role] },
  });
  assertOk(set, "setOrgPolicy");
  assert.deepEqual(set.org_policy.roles, [role]);
  const got = await client.rbac.organizations.getOrgPolicy({ organization_id: clinic.organization.organization_id });
  assert.deepEqual(got.org_policy.roles, [role]);

  begin("sessions.exchange into the person's other organization");
  const switched = await client.sessions.exchange({
    organization_id: annex.organization.organization_id,
    session_token: clinic.session_token,
  });
  assertOk(switched, "sessions.exchange");
  assert.equal(switched.member_authenticated, true);
  assert.equal(switched.organization.organization_id, annex.organization.organization_id);
  assert.notEqual(switched.session_token, clinic.session_token);
  assert.equal(orgClaim(switched.session_jwt).organization_id, annex.organization.organization_id);

  begin("sessions.exchange into a stranger's organization is refused");
  const refused = await expectStytchError(
    () => client.sessions.exchange({ organization_id: lab.organization.organization_id, session_token: clinic.session_token }),
    "exchange into lab",
  );
  assert.equal(refused.error_type, "member_does_not_exist_in_organization");

  begin("sessions.get lists the member's live sessions");
  const listed = await client.sessions.get({
    organization_id: annex.organization.organization_id,
    member_id: annex.member_id,
  });
  assertOk(listed, "sessions.get");
  assert.deepEqual(
    listed.member_sessions.map((s) => s.member_session_id).sort(),
    [annex.member_session.member_session_id, switched.member_session.member_session_id].sort(),
  );

  begin("sessions.revoke across organizations with a member-session header is refused");
  await expectStytchError(
    () => client.sessions.revoke({ member_id: clinic.member_id }, { authorization: { session_token: lab.session_token } }),
    "revoke as lab owner",
  );
  const still = await client.sessions.authenticate({ session_token: clinic.session_token });
  assertOk(still, "clinic session still alive");

  begin("sessions.revoke own session with a member-session header, then authenticate -> 404");
  const revoked = await client.sessions.revoke(
    { session_token: switched.session_token },
    { authorization: { session_token: switched.session_token } },
  );
  assertOk(revoked, "sessions.revoke");
  const gone = await expectStytchError(
    () => client.sessions.authenticate({ session_token: switched.session_token }),
    "authenticate revoked",
  );
  assert.equal(gone.status_code, 404);
  assert.equal(gone.error_type, "session_not_found");

  begin("sessions.revoke by member_id");
  assertOk(await client.sessions.revoke({ member_id: clinic.member_id }), "revoke member");
  const gone2 = await expectStytchError(
    () => client.sessions.authenticate({ session_token: clinic.session_token }),
    "authenticate after member revoke",
  );
  assert.equal(gone2.error_type, "session_not_found");

  console.log("OK: Node SDK sessions flow passed");
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(`FAIL at step "${step}": ${err?.stack || err}`);
    process.exit(1);
  },
);
