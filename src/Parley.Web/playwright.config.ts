import { defineConfig } from '@playwright/test';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

/** A TCP port on 127.0.0.1 that the operating system just reported free. */
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

// The real server, started by Playwright's webServer unless PARLEY_BASE_URL names one already running. The config is
// loaded again in each worker: the ports and the address go into the environment the first time, which the workers
// inherit, so every process agrees on them.
const external = process.env.PARLEY_BASE_URL !== undefined && process.env.PARLEY_E2E_PORT === undefined;
process.env.PARLEY_E2E_PORT ??= String(await freePort());
process.env.PARLEY_E2E_SILO_PORT ??= String(await freePort());
process.env.PARLEY_E2E_GATEWAY_PORT ??= String(await freePort());
process.env.PARLEY_BASE_URL ??= `http://127.0.0.1:${process.env.PARLEY_E2E_PORT}`;
const build = process.env.PARLEY_E2E_SKIP_BUILD !== '1';

// Builds the server in Release (which builds the SPA into its wwwroot when the sources changed) unless
// PARLEY_E2E_SKIP_BUILD=1, then runs Parley.Server.dll with a temporary data directory that the shell removes when the
// server has stopped. Its output goes to e2e/server.log (the last lines are printed if it fails to start).
const serverCommand = [
  build ? 'dotnet build -c Release ../Parley.Server -nologo -v q &&' : '',
  `d=$(mktemp -d "\${TMPDIR:-/tmp}/parley-e2e-XXXXXX") && trap 'rm -rf "$d"' EXIT && trap 'exit 143' TERM INT &&`,
  `{ Parley__DataDirectory="$d" dotnet ../Parley.Server/bin/Release/net10.0/Parley.Server.dll --urls "$PARLEY_BASE_URL" > e2e/server.log 2>&1`,
  `|| { tail -n 40 e2e/server.log >&2; exit 1; }; }`,
].join(' ');

// Browsers are never downloaded: the system Chromium (Debian package) runs the tests.
export default defineConfig({
  testDir: './e2e',
  outputDir: './e2e/test-results',
  fullyParallel: false,
  workers: 1,
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 10_000 },
  forbidOnly: !!process.env.CI,
  reporter: [['list'], ['json', { outputFile: path.join(here, 'e2e-results.json') }]],
  webServer: external
    ? undefined
    : {
        command: serverCommand,
        cwd: here,
        // Ready when GET /readyz answers 200 (the database is reachable), on 127.0.0.1 and a port nobody else uses.
        url: `${process.env.PARLEY_BASE_URL}/readyz`,
        reuseExistingServer: false,
        timeout: build ? 600_000 : 120_000,
        // Stopped by its pid (the process group Playwright started): SIGTERM, then SIGKILL after 10 s.
        gracefulShutdown: { signal: 'SIGTERM', timeout: 10_000 },
        env: {
          ASPNETCORE_ENVIRONMENT: 'Production',
          RateLimits__Enabled: 'false',
          // The co-hosted Orleans silo gets free ports too: it must never meet another test server's silo.
          Cluster__SiloPort: process.env.PARLEY_E2E_SILO_PORT,
          Cluster__GatewayPort: process.env.PARLEY_E2E_GATEWAY_PORT,
          Cluster__ClusterId: `e2e-${process.env.PARLEY_E2E_PORT}`,
          // The echo bot pauses between its chunks so streaming and Stop can be seen (and tested) in the browser.
          Bot__Echo__ChunkDelayMs: process.env.PARLEY_E2E_CHUNK_DELAY_MS ?? '250',
          // Four messages per user, so running out of tokens (402) is quick to reach.
          Quota__InitialBalance: '1000',
          Quota__CostPerMessage: '250',
          // The administrators of the admin-page test, one per project (Admin:Users grants the role at registration;
          // each project's test registers its own on this fresh server).
          Admin__Users__0: 'e2e_admin_desktop',
          Admin__Users__1: 'e2e_admin_mobile',
        },
      },
  use: {
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  },
  projects: [
    { name: 'desktop', use: { browserName: 'chromium', viewport: { width: 1280, height: 800 } } },
    { name: 'mobile', use: { browserName: 'chromium', viewport: { width: 360, height: 740 }, hasTouch: true, isMobile: false } },
  ],
});
