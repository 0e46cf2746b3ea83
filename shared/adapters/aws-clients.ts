/**
 * AWS SDK clients, built once per Lambda cold start and reused by every
 * invocation. Region and credentials come from the Lambda environment.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { toDocumentClient } from './dynamodb.ts';

let documentClient: DynamoDBDocumentClient | undefined;
let sqsClient: SQSClient | undefined;
let secretsManagerClient: SecretsManagerClient | undefined;
let sesClient: SESv2Client | undefined;

export function sharedDocumentClient(): DynamoDBDocumentClient {
  documentClient ??= toDocumentClient(new DynamoDBClient({}));
  return documentClient;
}

export function sharedSqsClient(): SQSClient {
  sqsClient ??= new SQSClient({});
  return sqsClient;
}

export function sharedSecretsManagerClient(): SecretsManagerClient {
  secretsManagerClient ??= new SecretsManagerClient({});
  return secretsManagerClient;
}

export function sharedSesClient(): SESv2Client {
  sesClient ??= new SESv2Client({});
  return sesClient;
}
