#!/usr/bin/env node
// Entry point for admit's browser tests: `node end2end/run.mjs [extra node --test args]`
// (same as `npm run e2e`). Needs ADMIT_E2E_URL pointing at a running, seeded server.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

if (!process.env.ADMIT_E2E_URL) {
  console.error('end2end: set ADMIT_E2E_URL, e.g. ADMIT_E2E_URL=http://127.0.0.1:3917');
  process.exit(2);
}
// Wait for the server once here, so that each test file does not wait on its own.
const { waitForServer } = await import('./helpers.mjs');
try {
  await waitForServer();
} catch (e) {
  console.error(`end2end: ${e.message}`);
  process.exit(1);
}

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const r = spawnSync(
  process.execPath,
  ['--test', '--test-concurrency=1', ...process.argv.slice(2), 'end2end/tests/'],
  { cwd: root, stdio: 'inherit' },
);
process.exit(r.status ?? 1);
