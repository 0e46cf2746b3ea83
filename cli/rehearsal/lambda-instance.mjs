// One instance of a Lambda function in the rehearsal, run as its own Node.js
// process with the function's environment and nothing else, as Lambda's
// Node.js runtime runs it: the handler module is found from LAMBDA_TASK_ROOT
// and _HANDLER (index.mjs, .js or .cjs), imported once (the cold start), then
// invoked one event at a time. Plain JavaScript on purpose: it must run
// beside the bundle with no loader, as the Lambda runtime does.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const send = (message) => process.send?.(message);

async function loadHandler() {
  const taskRoot = process.env.LAMBDA_TASK_ROOT ?? '';
  const spec = process.env._HANDLER ?? '';
  const dot = spec.lastIndexOf('.');
  const moduleName = spec.slice(0, dot);
  const exportName = spec.slice(dot + 1);
  const file = ['.mjs', '.js', '.cjs']
    .map((extension) => join(taskRoot, `${moduleName}${extension}`))
    .find((candidate) => existsSync(candidate));
  if (!file) {
    throw Object.assign(new Error(`Cannot find module '${moduleName}' in ${taskRoot}`), {
      name: 'Runtime.ImportModuleError',
    });
  }
  const module = await import(pathToFileURL(file).href);
  const handler = module[exportName];
  if (typeof handler !== 'function') {
    throw Object.assign(new Error(`${moduleName}.${exportName} is undefined or not exported`), {
      name: 'Runtime.HandlerNotFound',
    });
  }
  return handler;
}

function errorOf(error) {
  return {
    errorType: error instanceof Error ? error.name : typeof error,
    errorMessage: error instanceof Error ? error.message : String(error),
    stack: error instanceof Error ? (error.stack ?? '').split('\n') : [],
  };
}

const started = Date.now();
let handler;
try {
  handler = await loadHandler();
  send({ type: 'ready', initMs: Date.now() - started });
} catch (error) {
  send({ type: 'init-error', error: errorOf(error) });
  process.exit(1);
}

process.on('message', async (message) => {
  if (message?.type !== 'invoke') return;
  const deadline = message.deadline;
  const context = {
    ...message.context,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
  try {
    const result = await handler(message.event, context);
    send({ type: 'result', id: message.id, result: result ?? null });
  } catch (error) {
    console.error(JSON.stringify({ level: 'ERROR', message: 'Invoke Error', ...errorOf(error) }));
    send({ type: 'error', id: message.id, error: errorOf(error) });
  }
});
