/**
 * The stacks of one wirewatch stage and the checks on them; `app.ts` calls
 * this for the stage named on the command line, tests call it directly.
 */
import { type App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { StageConfig } from './config/stages.ts';
import { DataStack } from './stacks/data-stack.ts';
import { ServiceStack } from './stacks/service-stack.ts';

export interface WirewatchStacks {
  data: DataStack;
  service: ServiceStack;
}

export function addWirewatchStage(app: App, stage: StageConfig): WirewatchStacks {
  const prefix = `Wirewatch${stage.name.charAt(0).toUpperCase()}${stage.name.slice(1)}`;
  const description = `wirewatch ${stage.name}`;
  const data = new DataStack(app, `${prefix}Data`, {
    stackName: `wirewatch-${stage.name}-data`,
    description: `${description}: tables and secrets`,
    stage,
  });
  const service = new ServiceStack(app, `${prefix}Service`, {
    stackName: `wirewatch-${stage.name}-service`,
    description: `${description}: functions, queues, schedule, alarms`,
    stage,
    tables: data.tables,
    secrets: data.secrets,
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return { data, service };
}
