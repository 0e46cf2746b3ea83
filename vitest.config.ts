import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Two files at a time even on two cores (vitest's default is one fewer than
    // the cores): most tests wait on sockets, child processes and timers, and
    // the two longest (the offline deployment rehearsal, the fault schedules)
    // then overlap.
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 30_000,
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
