// The state machines have one definition each, infra/restore.asl.json and infra/drill.asl.json, whose
// Task resources are `${NameFunctionArn}` placeholders (Step Functions' DefinitionSubstitutions style).
// The Serverless Framework reads `${…}` as its own variables, so this writes the definitions it
// packages, with each placeholder made a `Fn::GetAtt` of the function that serves the state.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';

const RESTORE = {
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
// The drill's functions are named as their placeholders: `${DrillPlanFunctionArn}` → drillPlan.
const DRILL = Object.fromEntries(
  ['DrillPlan', 'DrillProvision', 'DrillLoadDumps', 'DrillReplayBinlogs', 'DrillRetireLater', 'DrillSnapshot', 'DrillCheckSteps', 'DrillCompare', 'DrillCleanup', 'DrillReportFailure'].map((n) => [n, `${n}LambdaFunction`]),
);

mkdirSync('infra/.generated', { recursive: true });
for (const [name, functions] of [['restore', RESTORE], ['drill', DRILL]]) {
  const definition = JSON.parse(readFileSync(`infra/${name}.asl.json`, 'utf8'));
  for (const state of Object.values(definition.States)) {
    const match = typeof state.Resource === 'string' ? /^\$\{(\w+)FunctionArn\}$/.exec(state.Resource) : null;
    if (!match) continue;
    const logicalId = functions[match[1]];
    if (!logicalId) throw new Error(`no function serves ${match[1]}`);
    state.Resource = { 'Fn::GetAtt': [logicalId, 'Arn'] };
  }
  // Written aside, then renamed: two packagings at once (the infra tests) never read half a file.
  const aside = `infra/.generated/${name}.json.${process.pid}`;
  writeFileSync(aside, `${JSON.stringify(definition, null, 2)}\n`);
  renameSync(aside, `infra/.generated/${name}.json`);
  console.log(`wrote infra/.generated/${name}.json`);
}
