/**
 * The embedded runtime's entry for the CLI: what `binvault local up`, `binvault demo` and a local
 * `binvault restore` need (the local S3 endpoint, the handlers, the local state machine). The CLI
 * loads it on demand, so that the host's bundle does not carry s3rver or aws-local-stepfunctions.
 */
// The SDK's notice that future releases need Node 22 would be a log line per handler on Node 20.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export { demoCommand } from './demo.js';
export { runLocalDrill } from './drill-run.js';
export { runLocalRestore } from './restore-run.js';
export { localUpCommand } from './up.js';
export { redriveLocal } from './redrive.js';
export { failedEventsDir } from './runtime.js';
