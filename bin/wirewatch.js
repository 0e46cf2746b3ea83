#!/usr/bin/env node
// Entry point of the `wirewatch` command: loads the TypeScript CLI through tsx so
// that `npx wirewatch` works right after `npm install`, with no build step.
import { register } from 'tsx/esm/api';

register();
await import('../cli/main.ts');
