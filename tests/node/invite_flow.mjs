// The tutorial's step 5 (seed 000), run with the official Stytch Node SDK exactly as written
// there: the clinic admin's session_token goes in `options.authorization`, and each of the three
// staff addresses gets an invitation. Each invitee then accepts from the link in their mailbox
// and must end active, with the role they were invited with.
//
// Env: see harness.mjs.   Exit 0 = every assertion held.

import assert from "node:assert/strict";
import { client, startFlow, waitForDiscoveryToken, waitForLinkToken, waitForMail } from "./harness.mjs";

startFlow("invite flow");

// Steps 1-3: the clinic contact signs up and creates the clinic.
await client.magicLinks.email.discovery.send({ email_address: "contact@clinic.com" });
const discoveryToken = await waitForDiscoveryToken("contact@clinic.com");
const discovery = await client.magicLinks.discovery.authenticate({ discovery_magic_links_token: discoveryToken });
const created = await client.discovery.organizations.create({
  intermediate_session_token: discovery.intermediate_session_token,
  organization_name: "Sunrise Clinic",
  organization_slug: "sunrise-clinic",
});
const organizationId = created.organization.organization_id;
const sessionToken = created.session_token;

// Step 5, as the tutorial writes it.
const teamMembers = ["doctor@clinic.com", "nurse@clinic.com", "admin@clinic.com"];
for (const email of teamMembers) {
  const params = {
    organization_id: organizationId,
    email_address: email,
  };
  const options = {
    authorization: {
      session_token: sessionToken,
    },
  };
  const resp = await client.magicLinks.email.invite(params, options);
  assert.equal(resp.status_code, 200);
  assert.equal(resp.member.status, "invited");
  assert.equal(resp.member.email_address, email);
  console.log(`- invited ${email}`);
}

// A role given at invitation is the role the invitee lands with.
await client.magicLinks.email.invite(
  { organization_id: organizationId, email_address: "lead@clinic.com", roles: ["stytch_admin"] },
  { authorization: { session_token: sessionToken } },
);

for (const [email, roles] of [
  ["doctor@clinic.com", ["stytch_member"]],
  ["nurse@clinic.com", ["stytch_member"]],
  ["admin@clinic.com", ["stytch_member"]],
  ["lead@clinic.com", ["stytch_member", "stytch_admin"]],
]) {
  const token = await waitForLinkToken(email, 1, "multi_tenant_magic_links");
  const accepted = await client.magicLinks.authenticate({ magic_links_token: token });
  assert.equal(accepted.member_authenticated, true);
  assert.equal(accepted.member.status, "active");
  assert.equal(accepted.organization_id, organizationId);
  assert.deepEqual(accepted.member_session.roles, roles);
  const verified = await client.sessions.authenticateJwt({ session_jwt: accepted.session_jwt });
  assert.deepEqual(verified.member_session.roles, roles);
  console.log(`- ${email} accepted, roles ${roles.join(",")}`);
}

// A member without `create` on stytch.member is refused, as on Stytch.
await assert.rejects(
  client.magicLinks.email.invite(
    { organization_id: organizationId, email_address: "intruder@clinic.com" },
    { authorization: { session_token: (await loginAs("nurse@clinic.com")).session_token } },
  ),
  (err) => err.status_code === 403 && err.error_type === "session_authorization_error",
);

async function loginAs(email) {
  const before = (await waitForMail(email)).length;
  await client.magicLinks.email.loginOrSignup({ organization_id: organizationId, email_address: email });
  const token = await waitForLinkToken(email, before + 1, "multi_tenant_magic_links");
  return client.magicLinks.authenticate({ magic_links_token: token });
}

console.log("OK");
