import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// Starts the real Parley server (built in Release) on 127.0.0.1 and a free port, with a throw-away data
// directory; returns the teardown that stops it by pid. Tests read the address from PARLEY_BASE_URL.

const here = path.dirname(fileURLToPath(import.meta.url));
const webDir = path.resolve(here, '..');
const repoRoot = path.resolve(webDir, '../..');
const serverProject = path.join(repoRoot, 'src/Parley.Server');
const serverDll = path.join(serverProject, 'bin/Release/net10.0/Parley.Server.dll');
const logFile = path.join(here, 'server.log');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

function run(command: string, args: string[], cwd: string) {
  console.log(`[e2e] ${command} ${args.join(' ')}`);
  const result = spawnSync(command, args, { cwd, stdio: 'inherit' });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed with exit code ${result.status}`);
}

function logTail(): string {
  try {
    return fs.readFileSync(logFile, 'utf8').split('\n').slice(-40).join('\n');
  } catch {
    return '(no server log)';
  }
}

async function waitUntilReady(baseUrl: string, exited: () => string | null, timeoutMs = 90_000) {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    const exit = exited();
    if (exit) throw new Error(`The server exited before it was ready (${exit}).\n${logTail()}`);
    try {
      const response = await fetch(`${baseUrl}/readyz`);
      if (response.status === 200) return;
      last = `GET /readyz answered ${response.status}`;
    } catch (error) {
      last = String(error);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`The server was not ready within ${timeoutMs} ms (${last}).\n${logTail()}`);
}

/** The admin the global setup registers (its password is the e2e tests' PASSWORD). */
export const E2E_ADMIN = 'e2e_admin';
const E2E_ADMIN_PASSWORD = 'Parley#2026';

export default async function globalSetup() {
  if (process.env.PARLEY_BASE_URL) {
    console.log(`[e2e] using the server already running at ${process.env.PARLEY_BASE_URL}`);
    return;
  }
  // The SPA must be in wwwroot before the server is built (static asset manifests are made at build time).
  if (process.env.PARLEY_E2E_SKIP_BUILD !== '1') {
    run('npx', ['vite', 'build'], webDir);
    run('dotnet', ['build', '-c', 'Release', serverProject], repoRoot);
  }
  if (!fs.existsSync(serverDll)) throw new Error(`${serverDll} is missing: build the server first.`);

  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-e2e-'));
  const log = fs.openSync(logFile, 'w');
  const child = spawn('dotnet', [serverDll, '--urls', baseUrl], {
    cwd: serverProject, // content root: the server serves ./wwwroot
    env: {
      ...process.env,
      Parley__DataDirectory: dataDir,
      ASPNETCORE_ENVIRONMENT: 'Production',
      RateLimits__Enabled: 'false',
      // The echo bot pauses between its chunks so streaming and Stop can be seen (and tested) in the browser.
      Bot__Echo__ChunkDelayMs: process.env.PARLEY_E2E_CHUNK_DELAY_MS ?? '250',
      // Four messages per user, so running out of tokens (402) is quick to reach.
      Quota__InitialBalance: '1000',
      Quota__CostPerMessage: '250',
      // The administrator of the admin-page tests (Admin:Users bootstraps the role at registration).
      Admin__Users__0: E2E_ADMIN,
    },
    stdio: ['ignore', log, log],
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error('Could not start the server.');
  let exit: string | null = null;
  child.on('exit', (code, signal) => {
    exit = `exit code ${code}, signal ${signal}`;
  });
  console.log(`[e2e] server pid ${pid} on ${baseUrl}, data in ${dataDir}, log in ${logFile}`);

  const stop = async () => {
    if (exit === null) {
      process.kill(pid, 'SIGTERM');
      const deadline = Date.now() + 10_000;
      while (exit === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      if (exit === null) process.kill(pid, 'SIGKILL');
    }
    fs.closeSync(log);
    fs.rmSync(dataDir, { recursive: true, force: true });
  };

  try {
    await waitUntilReady(baseUrl, () => exit);
    // The administrator the admin tests log in as (named in Admin__Users above), registered once per server.
    const admin = await fetch(`${baseUrl}/api/auth/register`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ userName: E2E_ADMIN, password: E2E_ADMIN_PASSWORD }),
    });
    if (admin.status !== 201) throw new Error(`Registering the e2e admin failed: ${admin.status} ${await admin.text()}`);
  } catch (error) {
    await stop();
    throw error;
  }
  process.env.PARLEY_BASE_URL = baseUrl;
  return stop;
}
