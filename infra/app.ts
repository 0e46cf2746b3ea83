/**
 * The CDK app: the stacks of the stage chosen with `-c stage=<dev|prod>`
 * (default in cdk.json), environment-agnostic so that `cdk synth` needs no
 * AWS credentials.
 */
import { App } from 'aws-cdk-lib';
import { stageConfig } from './config/stages.ts';
import { addWirewatchStage } from './wirewatch.ts';

const app = new App();
addWirewatchStage(app, stageConfig(app.node.tryGetContext('stage')));
