#!/usr/bin/env node
// Entry point of the `wirewatch` command: loads the TypeScript CLI through tsx so
// that `npx wirewatch` works right after `npm install`, with no build step.
import { register } from 'tsx/esm/api';

// The CLI runs on the developer's Node (20+); Lambda runs Node 22. The SDK's
// notice about Node 20 support ending says nothing a user of the CLI can act on.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
register();
await import('../cli/main.ts');
