// The better-auth peer of bench/onboarding.py: better-auth with its magicLink and organization
// plugins, behind a bare node:http server, on SQLite through better-sqlite3.
//
//   PORT=3000 BA_DB=/tmp/ba.sqlite BA_MAIL_DIR=/tmp/ba-mail BA_WORKERS=1 BA_PRAGMAS=wal node server.mjs
//
// Rate limits are off (the benchmark sends many links from one address). Mail is written as one
// JSON file per message to BA_MAIL_DIR, where the benchmark reads it like Tenantry's maildir.
// BA_PRAGMAS=wal sets journal_mode=WAL and synchronous=NORMAL, the settings Tenantry's SQLite
// runs with; BA_PRAGMAS=default leaves better-sqlite3's (journal_mode=DELETE, synchronous=FULL).
// BA_WORKERS>1 forks that many node:cluster workers sharing the port and the database file.
import cluster from "node:cluster";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { betterAuth } from "better-auth";
import { getMigrations } from "better-auth/db/migration";
import { toNodeHandler } from "better-auth/node";
import { magicLink, organization } from "better-auth/plugins";
import Database from "better-sqlite3";

const port = Number(process.env.PORT || 3000);
const dbPath = process.env.BA_DB || "ba.sqlite";
const mailDir = process.env.BA_MAIL_DIR || "mail";
const workers = Number(process.env.BA_WORKERS || 1);
const pragmas = process.env.BA_PRAGMAS || "wal";
const baseURL = `http://127.0.0.1:${port}`;

function openDatabase() {
  const db = new Database(dbPath, { timeout: 30000 });
  if (pragmas === "wal") {
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
  }
  return db;
}

let sequence = 0;
function deliver(message) {
  // Written atomically (rename), so the reader never sees half a file.
  const name = `${Date.now()}-${process.pid}-${sequence++}.json`;
  const tmp = path.join(mailDir, `.${name}`);
  fs.writeFileSync(tmp, JSON.stringify(message));
  fs.renameSync(tmp, path.join(mailDir, name));
}

function makeAuth(db) {
  return betterAuth({
    database: db,
    baseURL,
    secret: process.env.BETTER_AUTH_SECRET || "bench-secret-bench-secret-bench-secret-0123456789",
    trustedOrigins: [baseURL],
    rateLimit: { enabled: false },
    telemetry: { enabled: false },
    plugins: [
      magicLink({
        sendMagicLink: async ({ email, token }) => deliver({ kind: "magic", to: email, token }),
      }),
      organization({
        sendInvitationEmail: async (data) =>
          deliver({ kind: "invite", to: data.email, id: data.id, organization: data.organization.name }),
      }),
    ],
  });
}

async function serve() {
  const db = openDatabase();
  const auth = makeAuth(db);
  const handler = toNodeHandler(auth);
  const server = http.createServer((req, res) => {
    if (req.url === "/bench/pragmas") {
      res.setHeader("content-type", "application/json");
      res.end(
        JSON.stringify({
          journal_mode: db.pragma("journal_mode", { simple: true }),
          synchronous: db.pragma("synchronous", { simple: true }),
          better_auth: process.env.npm_package_dependencies_better_auth || null,
        }),
      );
      return;
    }
    if (req.url.startsWith("/api/auth")) return handler(req, res);
    res.statusCode = 404;
    res.end();
  });
  server.keepAliveTimeout = 65000;
  server.listen(port, "127.0.0.1");
}

if (cluster.isPrimary) {
  fs.mkdirSync(mailDir, { recursive: true });
  const db = openDatabase();
  const { runMigrations } = await getMigrations(makeAuth(db).options);
  await runMigrations();
  db.close();
  if (workers > 1) {
    for (let i = 0; i < workers; i++) cluster.fork();
    cluster.on("exit", (worker, code) => console.error(`worker ${worker.process.pid} exited ${code}`));
    process.on("SIGINT", () => {
      for (const w of Object.values(cluster.workers)) w.kill("SIGINT");
      process.exit(0);
    });
  } else {
    process.on("SIGINT", () => process.exit(0));
    await serve();
  }
} else {
  process.on("SIGINT", () => process.exit(0));
  await serve();
}
