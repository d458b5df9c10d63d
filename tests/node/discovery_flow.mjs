// The tutorial's clinic-onboarding flow (seed 000, steps 1-4), driven by the official Stytch
// Node SDK (npm `stytch`, pinned in package.json) against a running Tenantry server.
//
// Proves that the unmodified SDK can: send and authenticate a discovery magic link, create an
// organization from the intermediate session, authenticate the resulting session remotely and
// locally (JWKS + RS256 JWT, plus the RBAC policy endpoints), JIT-provision a colleague on the
// organization's allowed email domain via an intermediate-session exchange, and that the
// tutorial's step 4 run after step 3 fails the way Stytch fails (404
// intermediate_session_not_found) because organization creation consumed the IST.
//
// Env: TENANTRY_URL (e.g. http://127.0.0.1:8123), PROJECT_ID, SECRET.
// Usage: node tests/node/discovery_flow.mjs   (exit 0 = every assertion held)

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import stytch from "stytch";
import { startFlow, REDIRECT_URL, begin, client, waitForDiscoveryToken, expectStytchError, assertOk } from "./harness.mjs";

startFlow("discovery flow");

async function main() {
  const suffix = randomBytes(4).toString("hex");
  const domain = `clinic-${suffix}.example.com`;
  const founderEmail = `contact@${domain}`;
  const colleagueEmail = `nurse@${domain}`;
  const slug = `northside-clinic-${suffix}`;

  // Step 1: send the discovery magic link.
  begin("step 1: magicLinks.email.discovery.send");
  const sent = await client.magicLinks.email.discovery.send({
    email_address: founderEmail,
    discovery_redirect_url: REDIRECT_URL,
  });
  assertOk(sent, "discovery.send");
  const founderToken = await waitForDiscoveryToken(founderEmail);

  // Step 2: authenticate the link, obtaining an intermediate session.
  begin("step 2: magicLinks.discovery.authenticate");
  const authed = await client.magicLinks.discovery.authenticate({ discovery_magic_links_token: founderToken });
  assertOk(authed, "discovery.authenticate");
  assert.equal(authed.email_address, founderEmail);
  assert.ok(authed.intermediate_session_token, "no intermediate_session_token");
  assert.deepEqual(authed.discovered_organizations, [], "a brand-new email must discover no organizations");
  const founderIst = authed.intermediate_session_token;

  begin("step 2b: a magic link is single-use");
  const reused = await expectStytchError(
    () => client.magicLinks.discovery.authenticate({ discovery_magic_links_token: founderToken }),
    "re-authenticating a consumed discovery magic link",
  );
  assert.ok(reused.status_code >= 400 && reused.status_code < 500, `reuse gave status ${reused.status_code}`);

  // Step 3: create the clinic organization from the intermediate session.
  begin("step 3: discovery.organizations.create");
  const created = await client.discovery.organizations.create({
    intermediate_session_token: founderIst,
    organization_name: "Northside Clinic",
    organization_slug: slug,
    organization_external_id: "my-external-id",
    email_allowed_domains: [domain],
    email_jit_provisioning: "RESTRICTED",
    session_duration_minutes: 60,
  });
  assertOk(created, "organizations.create");
  assert.equal(created.member_authenticated, true);
  assert.equal(created.organization.organization_name, "Northside Clinic");
  assert.equal(created.organization.organization_slug, slug);
  assert.equal(created.organization.organization_external_id, "my-external-id");
  assert.deepEqual(created.organization.email_allowed_domains, [domain]);
  assert.equal(created.organization.email_jit_provisioning, "RESTRICTED");
  assert.equal(created.member.email_address, founderEmail);
  assert.equal(created.member.organization_id, created.organization.organization_id);
  assert.equal(created.member_id, created.member.member_id);
  assert.equal(created.member.email_address_verified, true, "founder logged in by email link: verified");
  assert.ok(
    created.member.roles.some((r) => r.role_id === "stytch_admin"),
    `the organization's creator must hold stytch_admin, has ${JSON.stringify(created.member.roles)}`,
  );
  assert.ok(created.session_token, "no session_token");
  assert.ok(created.session_jwt, "no session_jwt");
  assert.ok(created.member_session, "no member_session");
  assert.equal(created.member_session.member_id, created.member_id);
  const orgId = created.organization.organization_id;
  const founderSession = created.member_session;

  // The session is usable: remotely, and as a JWT verified locally against the JWKS.
  begin("sessions.authenticate (session_token)");
  const sess = await client.sessions.authenticate({ session_token: created.session_token });
  assertOk(sess, "sessions.authenticate");
  assert.equal(sess.member_session.member_session_id, founderSession.member_session_id);
  assert.equal(sess.member_session.member_id, created.member_id);
  assert.equal(sess.member_session.organization_id, orgId);
  assert.equal(sess.member.member_id, created.member_id);
  assert.equal(sess.organization.organization_id, orgId);
  assert.ok(sess.session_jwt, "sessions.authenticate returned no session_jwt");

  begin("sessions.authenticateJwtLocal (JWKS, RS256, typ JWT)");
  const local = await client.sessions.authenticateJwtLocal({ session_jwt: created.session_jwt });
  assert.equal(local.member_id, created.member_id);
  assert.equal(local.organization_id, orgId);
  assert.equal(local.organization_slug, slug);
  assert.equal(local.member_session_id, founderSession.member_session_id);
  assert.ok(local.roles.includes("stytch_admin"), `JWT roles ${JSON.stringify(local.roles)}`);

  begin("sessions.authenticateJwtLocal with an RBAC authorization_check (rbac policy endpoints)");
  const allowed = await client.sessions.authenticateJwtLocal({
    session_jwt: created.session_jwt,
    authorization_check: { organization_id: orgId, resource_id: "stytch.organization", action: "update.info.name" },
  });
  assert.equal(allowed.member_id, created.member_id);

  begin("sessions.authenticateJwt");
  const viaJwt = await client.sessions.authenticateJwt({ session_jwt: created.session_jwt });
  assert.equal(viaJwt.member_session.member_id, created.member_id);
  assert.equal(viaJwt.member_session.organization_id, orgId);

  begin("sessions.authenticate (session_jwt, remote)");
  const remoteJwt = await client.sessions.authenticateJwt({ session_jwt: created.session_jwt, max_token_age_seconds: 0 });
  assertOk(remoteJwt, "sessions.authenticate(session_jwt)");
  assert.equal(remoteJwt.member_session.member_id, created.member_id);

  begin("discovery.organizations.list (session_token)");
  const listed = await client.discovery.organizations.list({ session_token: created.session_token });
  assertOk(listed, "discovery.organizations.list");
  assert.equal(listed.email_address, founderEmail);
  const mine = listed.discovered_organizations.find((d) => d.organization?.organization_id === orgId);
  assert.ok(mine, `created org missing from discovery list: ${JSON.stringify(listed.discovered_organizations)}`);
  assert.equal(mine.membership.type, "active_member");

  // A colleague on the allowed domain discovers the org and JIT-exchanges into it.
  begin("colleague: discovery.send + authenticate");
  await client.magicLinks.email.discovery.send({ email_address: colleagueEmail, discovery_redirect_url: REDIRECT_URL });
  const colleagueToken = await waitForDiscoveryToken(colleagueEmail);
  const colleagueAuth = await client.magicLinks.discovery.authenticate({
    discovery_magic_links_token: colleagueToken,
  });
  assertOk(colleagueAuth, "colleague discovery.authenticate");
  const eligible = colleagueAuth.discovered_organizations.find((d) => d.organization?.organization_id === orgId);
  assert.ok(
    eligible,
    `org with allowed domain ${domain} not discovered for ${colleagueEmail}: ${JSON.stringify(colleagueAuth.discovered_organizations)}`,
  );
  assert.equal(eligible.membership.type, "eligible_to_join_by_email_domain");

  begin("colleague: discovery.intermediateSessions.exchange (JIT by email domain)");
  const joined = await client.discovery.intermediateSessions.exchange({
    intermediate_session_token: colleagueAuth.intermediate_session_token,
    organization_id: orgId,
  });
  assertOk(joined, "intermediateSessions.exchange");
  assert.equal(joined.member_authenticated, true);
  assert.equal(joined.organization.organization_id, orgId);
  assert.equal(joined.member.email_address, colleagueEmail);
  assert.equal(joined.member.status, "active");
  assert.notEqual(joined.member_id, created.member_id);
  assert.ok(joined.session_token && joined.session_jwt, "exchange returned no session");
  assert.ok(
    !joined.member.roles.some((r) => r.role_id === "stytch_admin"),
    "a JIT-provisioned member must not be an admin",
  );
  const colleagueSess = await client.sessions.authenticate({ session_token: joined.session_token });
  assert.equal(colleagueSess.member.member_id, joined.member_id);

  begin("colleague: RBAC denies a stytch_member organization update (local check)");
  try {
    await client.sessions.authenticateJwtLocal({
      session_jwt: joined.session_jwt,
      authorization_check: { organization_id: orgId, resource_id: "stytch.organization", action: "update.info.name" },
    });
    assert.fail("a stytch_member was allowed to rename the organization");
  } catch (err) {
    if (err instanceof assert.AssertionError) throw err;
    assert.equal(err.code, "invalid_permissions", `unexpected error ${err?.stack || err}`);
  }

  begin("colleague: the exchanged IST is single-use");
  const reExchange = await expectStytchError(
    () =>
      client.discovery.intermediateSessions.exchange({
        intermediate_session_token: colleagueAuth.intermediate_session_token,
        organization_id: orgId,
      }),
    "exchanging an already exchanged IST",
  );
  assert.equal(reExchange.status_code, 404);
  assert.equal(reExchange.error_type, "intermediate_session_not_found");

  // Step 4 as the tutorial writes it, after step 3: the founder's IST was consumed by create.
  begin("step 4: intermediateSessions.exchange with the IST consumed by step 3");
  const step4 = await expectStytchError(
    () => client.discovery.intermediateSessions.exchange({ intermediate_session_token: founderIst, organization_id: orgId }),
    "tutorial step 4 after step 3",
  );
  assert.equal(step4.status_code, 404, `step 4 gave ${JSON.stringify(step4)}`);
  assert.equal(step4.error_type, "intermediate_session_not_found");
  assert.equal(typeof step4.request_id, "string");
  assert.ok(step4.error_message, "error_message must be set");

  begin("unknown session_token is a 404 session_not_found");
  const unknownSession = await expectStytchError(
    () => client.sessions.authenticate({ session_token: `nope-${suffix}` }),
    "sessions.authenticate with an unknown token",
  );
  assert.equal(unknownSession.status_code, 404);
  assert.equal(unknownSession.error_type, "session_not_found");

  console.log("OK: Node SDK discovery flow passed");
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(`FAIL at "${step}":`);
    console.error(err?.stack || String(err));
    if (err instanceof stytch.StytchError) {
      console.error(
        `StytchError status_code=${err.status_code} error_type=${err.error_type} message=${err.error_message}`,
      );
    }
    process.exit(1);
  },
);
