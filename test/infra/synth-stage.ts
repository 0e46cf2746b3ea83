/**
 * Synthesises one wirewatch stage the way `cdk synth` does (the composition
 * of `infra/app.ts`, the context of cdk.json, cdk-nag checks, local esbuild
 * bundling), into a temporary directory. Each test file synthesises once.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { CloudAssembly } from 'aws-cdk-lib/cx-api';
import { STAGES, type StageName } from '../../infra/config/stages.ts';
import { REPO_ROOT } from '../../infra/constructs/wirewatch-function.ts';
import { addWirewatchStage, type WirewatchStacks } from '../../infra/wirewatch.ts';

export interface SynthesisedStage extends WirewatchStacks {
  assembly: CloudAssembly;
  dataTemplate: Template;
  serviceTemplate: Template;
}

export function synthStage(
  stage: StageName,
  options: { bundle: boolean } = { bundle: true },
): SynthesisedStage {
  const cdkJson = JSON.parse(readFileSync(join(REPO_ROOT, 'cdk.json'), 'utf8')) as {
    context: Record<string, unknown>;
  };
  const app = new App({
    outdir: mkdtempSync(join(tmpdir(), 'wirewatch-synth-')),
    context: {
      ...cdkJson.context,
      stage,
      'aws:cdk:enable-path-metadata': true,
      // No stack listed: NodejsFunction skips esbuild and stages a placeholder.
      ...(options.bundle ? {} : { 'aws:cdk:bundling-stacks': [] }),
    },
  });
  const stacks = addWirewatchStage(app, STAGES[stage]);
  const assembly = app.synth();
  return {
    ...stacks,
    assembly,
    // From the assembly just made: `Template.fromStack` would synthesise again.
    dataTemplate: Template.fromJSON(assembly.getStackArtifact(stacks.data.artifactId).template),
    serviceTemplate: Template.fromJSON(
      assembly.getStackArtifact(stacks.service.artifactId).template,
    ),
  };
}
