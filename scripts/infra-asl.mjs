// The restore state machine has one definition, infra/restore.asl.json, whose Task resources are
// `${NameFunctionArn}` placeholders (Step Functions' DefinitionSubstitutions style). The Serverless
// Framework reads `${…}` as its own variables, so this writes the definition it packages, with each
// placeholder made a `Fn::GetAtt` of the function that serves the state.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';

const FUNCTIONS = {
  ValidateInput: 'RestoreValidateInputLambdaFunction',
  Plan: 'RestorePlanLambdaFunction',
  Provision: 'RestoreProvisionLambdaFunction',
  LoadDump: 'RestoreLoadDumpLambdaFunction',
  ReplayBinlogs: 'RestoreReplayBinlogsLambdaFunction',
  CheckStep: 'RestoreCheckStepLambdaFunction',
  VerifyRestore: 'RestoreVerifyLambdaFunction',
  Report: 'RestoreReportLambdaFunction',
  Cleanup: 'RestoreCleanupLambdaFunction',
  ReportFailure: 'RestoreReportFailureLambdaFunction',
};

const definition = JSON.parse(readFileSync('infra/restore.asl.json', 'utf8'));
for (const state of Object.values(definition.States)) {
  const match = typeof state.Resource === 'string' ? /^\$\{(\w+)FunctionArn\}$/.exec(state.Resource) : null;
  if (!match) continue;
  const logicalId = FUNCTIONS[match[1]];
  if (!logicalId) throw new Error(`no function serves ${match[1]}`);
  state.Resource = { 'Fn::GetAtt': [logicalId, 'Arn'] };
}
mkdirSync('infra/.generated', { recursive: true });
// Written aside, then renamed: two packagings at once (the infra tests) never read half a file.
const aside = `infra/.generated/restore.json.${process.pid}`;
writeFileSync(aside, `${JSON.stringify(definition, null, 2)}\n`);
renameSync(aside, 'infra/.generated/restore.json');
console.log('wrote infra/.generated/restore.json');
