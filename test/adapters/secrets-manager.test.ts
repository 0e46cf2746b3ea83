import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretsManagerSecretResolver } from '../../shared/adapters/secrets-manager.ts';

/** Answers GetSecretValue like Secrets Manager: the value, or ResourceNotFoundException. */
const values = new Map([
  [
    'wirewatch/test/secrets',
    JSON.stringify({ SLACK_WEBHOOK_URL: 'https://hooks.example/T/B/x', SMTP_USER: ' ' }),
  ],
  ['wirewatch/plain/secrets', 'https://hooks.example/not-json'],
]);
let server: Server;
let client: SecretsManagerClient;
const requested: string[] = [];

beforeAll(async () => {
  server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => {
      body += chunk;
    });
    request.on('end', () => {
      const { SecretId } = JSON.parse(body) as { SecretId: string };
      requested.push(SecretId);
      const value = values.get(SecretId);
      if (SecretId.endsWith('BROKEN')) {
        response.writeHead(500, { 'content-type': 'application/x-amz-json-1.1' });
        response.end(JSON.stringify({ __type: 'InternalServiceError', message: 'boom' }));
        return;
      }
      response.writeHead(value ? 200 : 400, { 'content-type': 'application/x-amz-json-1.1' });
      response.end(
        JSON.stringify(
          value
            ? { Name: SecretId, SecretString: value }
            : {
                __type: 'ResourceNotFoundException',
                message: "Secrets Manager can't find the specified secret value",
              },
        ),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  client = new SecretsManagerClient({
    region: 'eu-west-1',
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
  });
});

afterAll(async () => {
  client.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('SecretsManagerSecretResolver', () => {
  it('reads config secret NAME from the key NAME of the stage secret', async () => {
    const secrets = new SecretsManagerSecretResolver(client, 'wirewatch/test/secrets');

    const value = await secrets.resolve('SLACK_WEBHOOK_URL');

    expect(value).toBe('https://hooks.example/T/B/x');
    expect(requested.at(-1)).toBe('wirewatch/test/secrets');
  });

  it('treats a missing or blank key, and a secret without a value, as not set', async () => {
    const secrets = new SecretsManagerSecretResolver(client, 'wirewatch/test/secrets');
    const empty = new SecretsManagerSecretResolver(client, 'wirewatch/empty/secrets');

    expect(await secrets.resolve('SMTP_PASSWORD')).toBeUndefined();
    expect(await secrets.resolve('SMTP_USER')).toBeUndefined();
    expect(await secrets.resolve('__proto__')).toBeUndefined();
    expect(await empty.resolve('SLACK_WEBHOOK_URL')).toBeUndefined();
  });

  it('says how the secret must look when it is not a JSON object, without its value', async () => {
    const secrets = new SecretsManagerSecretResolver(client, 'wirewatch/plain/secrets');

    const failure = secrets.resolve('SLACK_WEBHOOK_URL');

    await expect(failure).rejects.toThrow('secret wirewatch/plain/secrets must hold a JSON object');
    await expect(failure).rejects.not.toThrow('not-json');
  });

  it('names the secret, not its value, when Secrets Manager fails', async () => {
    const secrets = new SecretsManagerSecretResolver(client, 'wirewatch/test/BROKEN');

    await expect(secrets.resolve('SLACK_WEBHOOK_URL')).rejects.toThrow(
      'could not read secret wirewatch/test/BROKEN from Secrets Manager (InternalServiceError)',
    );
  });
});
