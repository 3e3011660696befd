#!/usr/bin/env node
// The `netvpp` command. An installed package (npm pack / npm install) has no src/ and runs the
// JavaScript that `npm run build` compiled into dist/; a checkout runs its TypeScript sources
// through tsx (a dev dependency), so a dist/ left by an earlier build never runs stale code.
import { existsSync } from 'node:fs';

const src = new URL('../src/cli/main.ts', import.meta.url);
if (existsSync(src)) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(src.href);
} else {
  await import('../dist/cli/main.js');
}
